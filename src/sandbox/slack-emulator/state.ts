import { EventEmitter } from 'node:events';
import type {
  ChangeEvent,
  SlackChannel,
  SlackEphemeral,
  SlackMessage,
  SlackState,
  SlackUser,
  SlackUserGroup,
} from './types.ts';

export interface StoreIdentity {
  teamId: string;
  appId: string;
  botId: string;
  botUserId: string;
}

/**
 * Owns the plain-data state and every mutation of it; each mutation emits a 'change' event.
 */
export class SlackStore {
  readonly state: SlackState;
  readonly events = new EventEmitter();
  private lastMicros = 0;
  private idCounter = 0;

  constructor(id: StoreIdentity) {
    this.events.setMaxListeners(0);
    this.state = {
      team: { id: id.teamId, name: 'Herald Test', domain: 'herald-test' },
      app: { id: id.appId, botId: id.botId, botUserId: id.botUserId, name: 'herald' },
      users: [],
      channels: [],
      userGroups: [],
      messages: {},
      ephemerals: [],
      views: [],
      files: [],
    };
  }

  emit(change: ChangeEvent): void {
    this.events.emit('change', change);
  }

  /** Unique, monotonically increasing Slack-style timestamp: the wall clock's microseconds, as Slack's. */
  nextTs(): string {
    this.lastMicros = Math.max(Date.now() * 1_000, this.lastMicros + 1);
    return `${Math.floor(this.lastMicros / 1_000_000)}.${String(this.lastMicros % 1_000_000).padStart(6, '0')}`;
  }

  nextId(prefix: string): string {
    this.idCounter += 1;
    return `${prefix}${String(this.idCounter).padStart(8, '0')}`;
  }

  // ---- directory ----

  user(id: string): SlackUser | undefined {
    return this.state.users.find((u) => u.id === id);
  }

  channel(id: string): SlackChannel | undefined {
    return this.state.channels.find((c) => c.id === id);
  }

  channelByName(name: string): SlackChannel | undefined {
    const n = name.replace(/^#/, '');
    return this.state.channels.find((c) => c.name === n);
  }

  userGroup(id: string): SlackUserGroup | undefined {
    return this.state.userGroups.find((g) => g.id === id);
  }

  addUser(input: { id: string; name: string; realName?: string; isAdmin?: boolean; isBot?: boolean; email?: string }): SlackUser {
    const realName = input.realName ?? input.name.charAt(0).toUpperCase() + input.name.slice(1);
    const user: SlackUser = {
      id: input.id,
      team_id: this.state.team.id,
      name: input.name,
      real_name: realName,
      is_admin: input.isAdmin ?? false,
      is_owner: false,
      is_bot: input.isBot ?? false,
      deleted: false,
      tz: 'Europe/London',
      profile: {
        display_name: input.name,
        real_name: realName,
        email: input.email ?? `${input.name}@herald.test`,
        image_72: `https://avatars.herald.test/${input.id}.png`,
      },
    };
    this.state.users = this.state.users.filter((u) => u.id !== user.id).concat(user);
    this.emit({ kind: 'user.added', user: user.id });
    return user;
  }

  addChannel(input: { id: string; name: string; isPrivate?: boolean; members?: string[]; botIsMember?: boolean }): SlackChannel {
    const members = [...(input.members ?? this.state.users.filter((u) => !u.is_bot).map((u) => u.id))];
    const bot = this.state.app.botUserId;
    if ((input.botIsMember ?? true) && !members.includes(bot)) members.push(bot);
    const channel: SlackChannel = {
      id: input.id,
      name: input.name.replace(/^#/, ''),
      is_channel: !input.isPrivate,
      is_group: input.isPrivate ?? false,
      is_im: false,
      is_mpim: false,
      is_private: input.isPrivate ?? false,
      is_archived: false,
      created: 1_700_000_000,
      members,
      topic: { value: '' },
      purpose: { value: '' },
    };
    this.state.channels = this.state.channels.filter((c) => c.id !== channel.id).concat(channel);
    this.state.messages[channel.id] ??= [];
    this.emit({ kind: 'channel.added', channel: channel.id });
    return channel;
  }

  addUserGroup(input: { id: string; handle: string; name?: string; users: string[]; description?: string }): SlackUserGroup {
    const group: SlackUserGroup = {
      id: input.id,
      team_id: this.state.team.id,
      name: input.name ?? input.handle,
      handle: input.handle,
      description: input.description ?? '',
      users: [...input.users],
    };
    this.state.userGroups = this.state.userGroups.filter((g) => g.id !== group.id).concat(group);
    this.emit({ kind: 'usergroup.added' });
    return group;
  }

  /** The DM channel between the bot and a user, created on first use. */
  openDm(userId: string): SlackChannel {
    const existing = this.state.channels.find((c) => c.is_im && c.user === userId);
    if (existing) return existing;
    const channel: SlackChannel = {
      id: `D_${userId.replace(/^U_?/, '')}`,
      name: userId,
      is_channel: false,
      is_group: false,
      is_im: true,
      is_mpim: false,
      is_private: true,
      is_archived: false,
      created: 1_700_000_000,
      user: userId,
      members: [userId, this.state.app.botUserId],
      topic: { value: '' },
      purpose: { value: '' },
    };
    this.state.channels.push(channel);
    this.state.messages[channel.id] = [];
    this.emit({ kind: 'channel.added', channel: channel.id });
    return channel;
  }

  // ---- messages ----

  allMessages(channel: string): SlackMessage[] {
    return this.state.messages[channel] ?? [];
  }

  findMessage(channel: string, ts: string): SlackMessage | undefined {
    return this.allMessages(channel).find((m) => m.ts === ts);
  }

  /** Stores a message; a reply updates its parent's reply_count, reply_users and latest_reply. */
  addMessage(msg: Omit<SlackMessage, 'type' | 'ts' | 'channel'> & { channel: string }): SlackMessage {
    const message: SlackMessage = { type: 'message', ts: this.nextTs(), ...msg };
    for (const key of Object.keys(message) as (keyof SlackMessage)[]) {
      if (message[key] === undefined) delete message[key];
    }
    const list = (this.state.messages[message.channel] ??= []);
    if (message.thread_ts !== undefined) {
      const parent = list.find((m) => m.ts === message.thread_ts);
      if (parent) {
        if (parent.thread_ts === undefined) parent.thread_ts = parent.ts;
        parent.reply_count = (parent.reply_count ?? 0) + 1;
        const author = message.user ?? message.bot_id ?? '';
        parent.reply_users = [...new Set([...(parent.reply_users ?? []), author])];
        parent.latest_reply = message.ts;
        message.parent_user_id = parent.user ?? parent.bot_id;
      }
    }
    list.push(message);
    this.emit({ kind: 'message.posted', channel: message.channel, ts: message.ts });
    return message;
  }

  updateMessage(channel: string, ts: string, patch: Partial<SlackMessage>, editor: string): SlackMessage | undefined {
    const msg = this.findMessage(channel, ts);
    if (!msg) return undefined;
    Object.assign(msg, patch, { edited: { user: editor, ts: this.nextTs() } });
    for (const key of Object.keys(msg) as (keyof SlackMessage)[]) {
      if (msg[key] === undefined) delete msg[key];
    }
    this.emit({ kind: 'message.updated', channel, ts });
    return msg;
  }

  deleteMessage(channel: string, ts: string): boolean {
    const list = this.state.messages[channel];
    const idx = list?.findIndex((m) => m.ts === ts) ?? -1;
    if (!list || idx < 0) return false;
    const [removed] = list.splice(idx, 1);
    if (removed?.thread_ts !== undefined && removed.thread_ts !== removed.ts) {
      const parent = list.find((m) => m.ts === removed.thread_ts);
      if (parent && parent.reply_count) parent.reply_count -= 1;
    }
    this.emit({ kind: 'message.deleted', channel, ts });
    return true;
  }

  addEphemeral(input: Omit<SlackEphemeral, 'ts'>): SlackEphemeral {
    const eph: SlackEphemeral = { ts: this.nextTs(), ...input };
    for (const key of Object.keys(eph) as (keyof SlackEphemeral)[]) {
      if (eph[key] === undefined) delete eph[key];
    }
    this.state.ephemerals.push(eph);
    this.emit({ kind: 'ephemeral.posted', channel: eph.channel, ts: eph.ts, user: eph.user });
    return eph;
  }

  addReaction(channel: string, ts: string, name: string, user: string): 'ok' | 'message_not_found' | 'already_reacted' {
    const msg = this.findMessage(channel, ts);
    if (!msg) return 'message_not_found';
    msg.reactions ??= [];
    let reaction = msg.reactions.find((r) => r.name === name);
    if (!reaction) {
      reaction = { name, users: [], count: 0 };
      msg.reactions.push(reaction);
    }
    if (reaction.users.includes(user)) return 'already_reacted';
    reaction.users.push(user);
    reaction.count = reaction.users.length;
    this.emit({ kind: 'reaction.added', channel, ts, user });
    return 'ok';
  }

  // ---- queries ----

  /** Top-level messages of a channel (thread replies excluded unless broadcast). */
  messages(channel: string): SlackMessage[] {
    return this.allMessages(channel).filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts || m.reply_broadcast);
  }

  /** Parent first, then replies in order. */
  thread(channel: string, ts: string): SlackMessage[] {
    return this.allMessages(channel).filter((m) => m.ts === ts || m.thread_ts === ts);
  }
}
