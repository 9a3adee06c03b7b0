import { elementState, findElement, isObj } from './blocks.ts';
import type { EmulatorCore } from './core.ts';
import type { DeliveryHub } from './delivery.ts';
import { apiMessage } from './methods-chat.ts';
import { applyResponse } from './responses.ts';
import type { DeliveryResult, Obj, SlackChannel, SlackFileRef, SlackUser } from './types.ts';

export interface UserFileInput {
  name: string;
  title?: string;
  content?: string | Buffer;
  altTxt?: string;
}

const mimeTypes: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', txt: 'text/plain', pdf: 'application/pdf' };

/** Slack derives a file's mimetype from its content; the extension is a close enough stand-in here. */
function mimeOf(name: string): string {
  return mimeTypes[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

/** Simulated humans: each action changes state like Slack's client would and delivers the payload to the app. */
export class Actors {
  private readonly core: EmulatorCore;
  private readonly hub: DeliveryHub;

  constructor(core: EmulatorCore, hub: DeliveryHub) {
    this.core = core;
    this.hub = hub;
  }

  user(id: string): SlackUser {
    const u = this.core.store.user(id);
    if (!u) throw new Error(`slack emulator: unknown user ${id}`);
    return u;
  }

  channel(id: string): SlackChannel {
    const c = this.core.store.channel(id) ?? this.core.store.channelByName(id);
    if (!c) throw new Error(`slack emulator: unknown channel ${id}`);
    return c;
  }

  /** The `user` object of interactive payloads. */
  userObj(u: SlackUser): Obj {
    return { id: u.id, username: u.name, name: u.name, team_id: u.team_id };
  }

  team(): Obj {
    const { id, domain } = this.core.store.state.team;
    return { id, domain };
  }

  channelType(c: SlackChannel): string {
    return c.is_im ? 'im' : c.is_mpim ? 'mpim' : c.is_private ? 'group' : 'channel';
  }

  /** Fields shared by interactive payloads. */
  interactive(type: string, u: SlackUser): Obj {
    return {
      type,
      user: this.userObj(u),
      api_app_id: this.core.config.appId,
      token: 'verification-token',
      trigger_id: this.core.issueTrigger(u.id),
      team: this.team(),
      enterprise: null,
      is_enterprise_install: false,
    };
  }

  async userRunsCommand(opts: { user: string; channel: string; command: string; text?: string }): Promise<DeliveryResult> {
    const u = this.user(opts.user);
    const c = this.channel(opts.channel);
    const target = { channel: c.id, user: u.id };
    const payload: Obj = {
      token: 'verification-token',
      team_id: this.core.config.teamId,
      team_domain: this.core.store.state.team.domain,
      channel_id: c.id,
      channel_name: c.is_im ? 'directmessage' : c.name,
      user_id: u.id,
      user_name: u.name,
      command: opts.command.startsWith('/') ? opts.command : `/${opts.command}`,
      text: opts.text ?? '',
      api_app_id: this.core.config.appId,
      is_enterprise_install: 'false',
      response_url: this.core.issueResponseUrl(target),
      trigger_id: this.core.issueTrigger(u.id),
    };
    const result = await this.hub.send('slash_commands', payload);
    if (result.acked && isObj(result.payload) && (result.payload.text || result.payload.blocks)) {
      applyResponse(this.core, target, result.payload, 'ack');
    }
    return result;
  }

  private storeUserFiles(u: SlackUser, files: UserFileInput[]): SlackFileRef[] {
    return files.map((f) => {
      const bytes = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content ?? '');
      const id = this.core.store.nextId('F');
      const url = `${this.core.baseUrl}files/${id}/${encodeURIComponent(f.name)}`;
      const ref: SlackFileRef = { id, name: f.name, title: f.title ?? f.name, mimetype: mimeOf(f.name), size: bytes.length, url_private: url, ...(f.altTxt ? { alt_txt: f.altTxt } : {}) };
      this.core.store.state.files.push({
        ...ref,
        created: Math.floor(Date.now() / 1000),
        user: u.id,
        filetype: f.name.split('.').pop() ?? 'binary',
        uploaded: true,
        channels: [],
        shares: [],
        url_private: url,
      });
      this.core.fileBytes.set(id, bytes);
      return ref;
    });
  }

  private storeUserMessage(opts: { user: string; channel: string; text: string; threadTs?: string; files?: UserFileInput[] }): { event: Obj; channel: SlackChannel } {
    const u = this.user(opts.user);
    const c = this.channel(opts.channel);
    const files = opts.files?.length ? this.storeUserFiles(u, opts.files) : undefined;
    const blocks = [{ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: opts.text }] }] }];
    const msg = this.core.store.addMessage({
      channel: c.id,
      user: u.id,
      text: opts.text,
      blocks,
      ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}),
      ...(files ? { files, upload: true } : {}),
      source: 'user',
    });
    for (const f of files ?? []) {
      const file = this.core.store.state.files.find((x) => x.id === f.id);
      file?.channels.push(c.id);
      file?.shares.push({ channel: c.id, ts: msg.ts, ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}) });
    }
    const event: Obj = {
      type: 'message',
      ...(files ? { subtype: 'file_share', files, upload: true } : {}),
      channel: c.id,
      user: u.id,
      text: msg.text,
      blocks: msg.blocks,
      ts: msg.ts,
      event_ts: msg.ts,
      team: this.core.config.teamId,
      channel_type: this.channelType(c),
      ...(msg.thread_ts ? { thread_ts: msg.thread_ts, parent_user_id: msg.parent_user_id } : {}),
    };
    return { event, channel: c };
  }

  userPostsMessage(opts: { user: string; channel: string; text: string; threadTs?: string; files?: UserFileInput[] }): Promise<DeliveryResult> {
    const { event } = this.storeUserMessage(opts);
    return this.hub.send('events_api', this.hub.eventCallback(event));
  }

  /** Stores one message and delivers both `app_mention` and `message`, as Slack does; resolves with the app_mention delivery. */
  async userMentionsApp(opts: { user: string; channel: string; text: string; threadTs?: string }): Promise<DeliveryResult> {
    const mention = `<@${this.core.config.botUserId}>`;
    const text = opts.text.includes(mention) ? opts.text : `${mention} ${opts.text}`;
    const { event } = this.storeUserMessage({ ...opts, text });
    const { channel_type: _ct, ...rest } = event;
    const [mentionResult] = await Promise.all([
      this.hub.send('events_api', this.hub.eventCallback({ ...rest, type: 'app_mention' })),
      this.hub.send('events_api', this.hub.eventCallback(event)),
    ]);
    return mentionResult;
  }

  userReacts(opts: { user: string; channel: string; ts: string; reaction: string }): Promise<DeliveryResult> {
    const u = this.user(opts.user);
    const c = this.channel(opts.channel);
    const msg = this.core.store.findMessage(c.id, opts.ts);
    if (!msg) throw new Error(`slack emulator: no message ${opts.ts} in ${c.id}`);
    this.core.store.addReaction(c.id, opts.ts, opts.reaction, u.id);
    const event = {
      type: 'reaction_added',
      user: u.id,
      reaction: opts.reaction,
      item: { type: 'message', channel: c.id, ts: opts.ts },
      item_user: msg.user ?? msg.bot_id,
      event_ts: this.core.store.nextTs(),
    };
    return this.hub.send('events_api', this.hub.eventCallback(event));
  }

  /** block_actions for an element of a stored message (or of the user's ephemeral) found by action_id. */
  private blockAction(opts: { user: string; channel: string; ts: string; actionId: string; stale?: boolean }, value?: string | string[]): Promise<DeliveryResult> {
    const u = this.user(opts.user);
    const c = this.channel(opts.channel);
    const msg = this.core.store.findMessage(c.id, opts.ts);
    const eph = msg ? undefined : this.core.store.state.ephemerals.find((e) => e.ts === opts.ts && e.user === u.id && !e.deleted);
    const blocks = msg?.blocks ?? eph?.blocks;
    if (!msg && !eph) throw new Error(`slack emulator: no message ${opts.ts} in ${c.id}`);
    // A stale click: a screen that still showed an element the message no longer has.
    const found = findElement(blocks, opts.actionId) ?? (opts.stale ? { element: { type: 'button', text: { type: 'plain_text', text: 'stale' } } as Obj, blockId: 'stale' } : undefined);
    if (!found) throw new Error(`slack emulator: no element with action_id ${opts.actionId} in message ${opts.ts}`);
    const { element, blockId } = found;
    const actionTs = this.core.store.nextTs();
    const action: Obj =
      element.type === 'button'
        ? { action_id: opts.actionId, block_id: blockId, text: element.text, value: element.value, type: 'button', action_ts: actionTs, ...(element.style ? { style: element.style } : {}) }
        : { ...elementState(element, value), action_id: opts.actionId, block_id: blockId, action_ts: actionTs };
    const threadTs = msg?.thread_ts ?? eph?.thread_ts;
    const payload: Obj = {
      ...this.interactive('block_actions', u),
      container: { type: 'message', message_ts: opts.ts, channel_id: c.id, is_ephemeral: Boolean(eph) },
      channel: { id: c.id, name: c.name },
      ...(msg ? { message: apiMessage(this.core, msg) } : {}),
      state: { values: {} },
      response_url: this.core.issueResponseUrl({ channel: c.id, user: u.id, messageTs: opts.ts, ephemeral: Boolean(eph), ...(threadTs ? { threadTs } : {}) }),
      actions: [action],
    };
    return this.hub.send('interactive', payload);
  }

  /** stale: the button need not be on the message any more (a screen that had not refreshed). */
  userClicksButton(opts: { user: string; channel: string; ts: string; actionId: string; stale?: boolean }): Promise<DeliveryResult> {
    return this.blockAction(opts);
  }

  userSelectsOption(opts: { user: string; channel: string; ts: string; actionId: string; value: string | string[] }): Promise<DeliveryResult> {
    return this.blockAction(opts, opts.value);
  }

  userUsesMessageShortcut(opts: { user: string; channel: string; ts: string; callbackId: string }): Promise<DeliveryResult> {
    const u = this.user(opts.user);
    const c = this.channel(opts.channel);
    const msg = this.core.store.findMessage(c.id, opts.ts);
    if (!msg) throw new Error(`slack emulator: no message ${opts.ts} in ${c.id}`);
    const payload: Obj = {
      ...this.interactive('message_action', u),
      action_ts: this.core.store.nextTs(),
      callback_id: opts.callbackId,
      channel: { id: c.id, name: c.name },
      message_ts: msg.ts,
      message: apiMessage(this.core, msg),
      response_url: this.core.issueResponseUrl({ channel: c.id, user: u.id, ...(msg.thread_ts ? { threadTs: msg.thread_ts } : {}) }),
    };
    return this.hub.send('interactive', payload);
  }
}
