/** Acting as humans (and other bots): slash commands, context menus, buttons, selects, modals, messages, reactions. */
import { randomBytes } from 'node:crypto';
import { responseView } from './interactions.ts';
import type { InteractionResponseView } from './interactions.ts';
import { apiChannel, apiMember, apiMessage, apiUser, memberPermissions } from './render.ts';
import type { Ctx } from './rest.ts';
import { snowflake } from './state.ts';
import type { AttachmentRecord, CommandRecord, InteractionRecord, MessageRecord } from './state.ts';

type Json = Record<string, unknown>;
/** A user id or username ('alice'). */
export type UserRef = string;
/** A channel id or name ('general' / '#general'). */
export type ChannelRef = string;

export interface InteractionHandle {
  id: string;
  token: string;
  payload: Json;
  /** Waits until the bot answered the interaction. */
  response(timeoutMs?: number): Promise<InteractionResponseView>;
}

export interface MessageHandle {
  id: string;
  message: Json;
  /** Waits for the next message the bot posts in this channel, or in a thread started from this message. */
  nextBotMessage(timeoutMs?: number): Promise<Json>;
}

export type CommandOptions = Json[] | Record<string, string | number | boolean>;
export interface UploadSpec { filename: string; data?: Buffer | string; size?: number; contentType?: string; description?: string }

export class Actors {
  readonly #ctx: Ctx;
  readonly #dispatch: (event: string, data: Json) => void;

  constructor(ctx: Ctx, dispatch: (event: string, data: Json) => void) {
    this.#ctx = ctx;
    this.#dispatch = dispatch;
  }

  get #state() {
    return this.#ctx.store.state;
  }

  resolveUser(ref: UserRef): string {
    if (this.#state.users[ref]) return ref;
    const found = Object.values(this.#state.users).find((u) => u.username.toLowerCase() === ref.toLowerCase());
    if (!found) throw new Error(`discord emulator: unknown user ${ref}`);
    return found.id;
  }

  resolveChannel(ref: ChannelRef): string {
    if (this.#state.channels[ref]) return ref;
    const name = ref.replace(/^#/, '');
    const found = Object.values(this.#state.channels).find((c) => c.name === name);
    if (!found) throw new Error(`discord emulator: unknown channel ${ref}`);
    return found.id;
  }

  #interaction(type: number, userId: string, channelId: string, data: Json, message?: MessageRecord): InteractionHandle {
    const state = this.#state;
    const channel = state.channels[channelId]!;
    const guildId = channel.guild_id;
    const id = snowflake();
    const token = `aW50ZXJhY3Rpb24.${randomBytes(24).toString('base64url')}`;
    const member = guildId ? apiMember(state, guildId, userId) : null;
    const payload: Json = {
      id, application_id: state.application_id, type, token, version: 1, data,
      channel_id: channelId, channel: apiChannel(state, channel),
      ...(guildId && member
        ? { guild_id: guildId, guild: { id: guildId, locale: 'en-US', features: [] }, guild_locale: 'en-US', member: { ...member, permissions: String(memberPermissions(state, guildId, userId)) } }
        : { user: apiUser(state, userId) }),
      app_permissions: String(guildId ? memberPermissions(state, guildId, state.bot_user_id) : 0n),
      locale: 'en-US', entitlements: [], authorizing_integration_owners: guildId ? { '0': guildId } : { '1': userId },
      context: guildId ? 0 : 1, attachment_size_limit: 10_485_760,
      ...(message ? { message: apiMessage(state, message) } : {}),
    };
    const rec: InteractionRecord = {
      id, token, type, payload, user_id: userId, channel_id: channelId, ...(guildId ? { guild_id: guildId } : {}),
      ...(message ? { message_id: message.id } : {}), created_at: Date.now(), response: null, followup_ids: [], edits: [], original_deleted: false,
    };
    state.interactions[id] = rec;
    this.#ctx.store.changed();
    this.#dispatch('INTERACTION_CREATE', payload);
    return { id, token, payload, response: (timeoutMs) => this.waitForResponse(id, timeoutMs) };
  }

  waitForResponse(interactionId: string, timeoutMs = 2000): Promise<InteractionResponseView> {
    return this.#ctx.store.waitFor((s) => {
      const rec = s.interactions[interactionId];
      return rec?.response ? responseView(this.#ctx, rec) : undefined;
    }, timeoutMs, `a response to interaction ${interactionId}`);
  }

  #command(name: string, guildId: string | undefined, type: number): CommandRecord {
    const cmds = [...(guildId ? this.#state.commands.guild[guildId] ?? [] : []), ...this.#state.commands.global];
    const cmd = cmds.find((c) => c.name === name && c.type === type);
    if (!cmd) throw new Error(`discord emulator: command ${name} (type ${type}) is not registered`);
    return cmd;
  }

  userRunsCommand(input: { user: UserRef; channel: ChannelRef; name: string; subcommand?: string; group?: string; options?: CommandOptions }): InteractionHandle {
    const userId = this.resolveUser(input.user);
    const channelId = this.resolveChannel(input.channel);
    const guildId = this.#state.channels[channelId]?.guild_id;
    const cmd = this.#command(input.name, guildId, 1);
    let defs = cmd.options as Json[];
    if (input.group) defs = ((defs.find((o) => o.name === input.group)?.options ?? []) as Json[]);
    if (input.subcommand) defs = ((defs.find((o) => o.name === input.subcommand)?.options ?? []) as Json[]);
    const resolved: Record<string, Json> = {};
    let options = Array.isArray(input.options) ? input.options : Object.entries(input.options ?? {}).map(([name, value]) => {
      const type = (defs.find((d) => d.name === name)?.type as number | undefined) ?? (typeof value === 'boolean' ? 5 : typeof value === 'number' ? 10 : 3);
      return { name, type, value };
    });
    for (const o of options) this.#resolveOption(o, guildId, resolved);
    if (input.subcommand) options = [{ type: 1, name: input.subcommand, options }];
    if (input.group) options = [{ type: 2, name: input.group, options }];
    const data: Json = { id: cmd.id, name: cmd.name, type: 1, options, ...(cmd.guild_id ? { guild_id: cmd.guild_id } : {}) };
    if (Object.keys(resolved).length > 0) data.resolved = resolved;
    return this.#interaction(2, userId, channelId, data);
  }

  #resolveOption(o: Json, guildId: string | undefined, resolved: Record<string, Json>): void {
    const state = this.#state;
    const id = String(o.value);
    if (o.type === 6 || (o.type === 9 && state.users[id])) {
      (resolved.users ??= {})[id] = apiUser(state, id);
      const member = guildId ? apiMember(state, guildId, id, false) : null;
      if (member) (resolved.members ??= {})[id] = { ...member, permissions: String(memberPermissions(state, guildId!, id)) };
    } else if (o.type === 8 || (o.type === 9 && state.roles[id])) {
      const role = state.roles[id];
      if (role) (resolved.roles ??= {})[id] = { ...role, guild_id: undefined };
    } else if (o.type === 7 && state.channels[id]) {
      const ch = apiChannel(state, state.channels[id]!);
      (resolved.channels ??= {})[id] = { id, name: ch.name, type: ch.type, permissions: '0', ...(ch.parent_id ? { parent_id: ch.parent_id } : {}) };
    }
  }

  userRunsMessageCommand(input: { user: UserRef; channel: ChannelRef; messageId: string; name: string }): InteractionHandle {
    const userId = this.resolveUser(input.user);
    const channelId = this.resolveChannel(input.channel);
    const msg = this.#message(channelId, input.messageId);
    const cmd = this.#command(input.name, this.#state.channels[channelId]?.guild_id, 3);
    return this.#interaction(2, userId, channelId, {
      id: cmd.id, name: cmd.name, type: 3, target_id: msg.id, resolved: { messages: { [msg.id]: apiMessage(this.#state, msg) } },
      ...(cmd.guild_id ? { guild_id: cmd.guild_id } : {}),
    });
  }

  #message(channelId: string | undefined, messageId: string): MessageRecord {
    const msg = channelId ? this.#ctx.store.findMessage(channelId, messageId) : this.#ctx.store.anyMessage(messageId);
    if (!msg) throw new Error(`discord emulator: unknown message ${messageId}`);
    return msg;
  }

  #component(msg: MessageRecord, customId: string): Json {
    const walk = (list: unknown): Json | undefined => {
      for (const c of Array.isArray(list) ? (list as Json[]) : []) {
        if (c.custom_id === customId) return c;
        const inner = walk(c.components) ?? (c.accessory ? walk([c.accessory]) : undefined);
        if (inner) return inner;
      }
      return undefined;
    };
    const found = walk(msg.components);
    if (!found) throw new Error(`discord emulator: message ${msg.id} has no component with custom_id ${customId}`);
    if (found.disabled) throw new Error(`discord emulator: component ${customId} is disabled`);
    return found;
  }

  /** stale: the button need not be on the message any more (a client that had not refreshed). */
  userClicksButton(input: { user: UserRef; channel?: ChannelRef; messageId: string; customId: string; stale?: boolean }): InteractionHandle {
    const msg = this.#message(input.channel ? this.resolveChannel(input.channel) : undefined, input.messageId);
    const button = input.stale ? { type: 2 } as Json : this.#component(msg, input.customId);
    if (button.type !== 2) throw new Error(`discord emulator: ${input.customId} is not a button`);
    return this.#interaction(3, this.resolveUser(input.user), msg.channel_id, { custom_id: input.customId, component_type: 2, ...(button.id ? { id: button.id } : {}) }, msg);
  }

  userSelects(input: { user: UserRef; channel?: ChannelRef; messageId: string; customId: string; values: string[] }): InteractionHandle {
    const msg = this.#message(input.channel ? this.resolveChannel(input.channel) : undefined, input.messageId);
    const select = this.#component(msg, input.customId);
    const type = select.type as number;
    if (![3, 5, 6, 7, 8].includes(type)) throw new Error(`discord emulator: ${input.customId} is not a select menu`);
    const data: Json = { custom_id: input.customId, component_type: type, values: input.values };
    const resolved: Record<string, Json> = {};
    const optionType = type === 5 ? 6 : type === 6 ? 8 : type === 8 ? 7 : 9;
    if (type !== 3) for (const value of input.values) this.#resolveOption({ type: optionType, value }, msg.guild_id, resolved);
    if (Object.keys(resolved).length > 0) data.resolved = resolved;
    return this.#interaction(3, this.resolveUser(input.user), msg.channel_id, data, msg);
  }

  /** values: field custom_id → text (text input), string[] (selects, checkbox groups), boolean (checkbox). */
  userSubmitsModal(input: { user: UserRef; interactionId?: string; customId?: string; values: Record<string, string | string[] | boolean> }): InteractionHandle {
    const recs = Object.values(this.#state.interactions).filter((i) => i.modal && (input.interactionId ? i.id === input.interactionId : i.modal.custom_id === input.customId));
    const origin = recs.at(-1);
    if (!origin?.modal) throw new Error(`discord emulator: no modal was shown for ${input.interactionId ?? input.customId}`);
    const field = (c: Json): Json => {
      const value = input.values[c.custom_id as string];
      const base: Json = { type: c.type, id: c.id ?? 0, custom_id: c.custom_id };
      if (c.type === 4) return { ...base, value: typeof value === 'string' ? value : '' };
      if (c.type === 23) return { ...base, value: value === true };
      if (c.type === 21) return { ...base, value: typeof value === 'string' ? value : null };
      return { ...base, values: Array.isArray(value) ? value : typeof value === 'string' ? [value] : [] };
    };
    const components = ((origin.modal.components ?? []) as Json[]).map((c): Json => {
      if (c.type === 1) return { type: 1, id: c.id ?? 0, components: ((c.components ?? []) as Json[]).map(field) };
      if (c.type === 18) return { type: 18, id: c.id ?? 0, component: field(c.component as Json) };
      return { type: c.type, id: c.id ?? 0 };
    });
    const message = origin.message_id ? this.#ctx.store.anyMessage(origin.message_id) : undefined;
    return this.#interaction(5, this.resolveUser(input.user), origin.channel_id, { custom_id: origin.modal.custom_id, components }, message);
  }

  userPostsMessage(input: { user: UserRef; channel: ChannelRef; content: string; mentionsBot?: boolean; attachments?: UploadSpec[]; replyTo?: string }): MessageHandle {
    const userId = this.resolveUser(input.user);
    const channelId = this.resolveChannel(input.channel);
    const store = this.#ctx.store;
    const content = input.mentionsBot ? `<@${this.#state.bot_user_id}> ${input.content}` : input.content;
    const attachments = (input.attachments ?? []).map((a): AttachmentRecord => {
      const id = snowflake();
      const data = a.data === undefined ? undefined : Buffer.from(a.data);
      if (data) store.attachmentBytes.set(id, data);
      return {
        id, filename: a.filename, size: data?.length ?? a.size ?? 0, content_type: a.contentType ?? null, description: a.description ?? null,
        url: `${this.#ctx.baseUrl()}/attachments/${channelId}/${id}/${encodeURIComponent(a.filename)}`,
      };
    });
    const replied = input.replyTo ? store.findMessage(channelId, input.replyTo) : undefined;
    const msg = store.createMessage({
      channelId, authorId: userId, content, attachments,
      ...(replied ? { type: 19, message_reference: { type: 0, message_id: replied.id, channel_id: channelId, ...(replied.guild_id ? { guild_id: replied.guild_id } : {}) } } : {}),
    });
    return this.#messageHandle(msg);
  }

  userRepliesInThread(input: { user: UserRef; thread: string; content: string; mentionsBot?: boolean }): MessageHandle {
    const thread = this.#state.channels[input.thread];
    if (!thread || (thread.type !== 11 && thread.type !== 12)) throw new Error(`discord emulator: ${input.thread} is not a thread`);
    const userId = this.resolveUser(input.user);
    if (!thread.member_ids?.includes(userId)) (thread.member_ids ??= []).push(userId);
    return this.userPostsMessage({ user: userId, channel: thread.id, content: input.content, ...(input.mentionsBot ? { mentionsBot: true } : {}) });
  }

  userSendsDM(input: { user: UserRef; content: string }): MessageHandle {
    const userId = this.resolveUser(input.user);
    const dm = this.#ctx.store.dmChannel(userId)!;
    return this.userPostsMessage({ user: userId, channel: dm.id, content: input.content });
  }

  userReacts(input: { user: UserRef; channel?: ChannelRef; messageId: string; emoji: string }): void {
    const msg = this.#message(input.channel ? this.resolveChannel(input.channel) : undefined, input.messageId);
    this.#ctx.store.react(msg, this.resolveUser(input.user), input.emoji);
  }

  #messageHandle(msg: MessageRecord): MessageHandle {
    const state = this.#state;
    const botId = state.bot_user_id;
    return {
      id: msg.id,
      message: apiMessage(state, msg),
      nextBotMessage: (timeoutMs = 2000) => this.#ctx.store.waitFor((s) => {
        const candidates = [...(s.messages[msg.channel_id] ?? []), ...(msg.thread_id ? s.messages[msg.thread_id] ?? [] : [])];
        const found = candidates.find((m) => m.author_id === botId && BigInt(m.id) > BigInt(msg.id));
        return found ? apiMessage(state, found) : undefined;
      }, timeoutMs, `a bot message after ${msg.id}`),
    };
  }
}
