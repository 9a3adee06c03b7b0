/** Mutations on the emulator state. Every mutation emits 'change' and dispatches the matching gateway event. */
import { EventEmitter } from 'node:events';
import { apiChannel, apiMember, apiRole, apiUser, gatewayMessage } from './render.ts';
import { snowflake } from './state.ts';
import type { AttachmentRecord, ChannelRecord, DefaultIds, EmulatorState, MessageRecord, RoleRecord, UserRecord } from './state.ts';

export type Dispatch = (event: string, data: Record<string, unknown>) => void;

export interface NewMessage {
  channelId: string;
  authorId: string;
  content?: string;
  embeds?: unknown[];
  components?: unknown[];
  attachments?: AttachmentRecord[];
  flags?: number;
  type?: number;
  message_reference?: MessageRecord['message_reference'];
  webhook_id?: string;
  application_id?: string;
  interaction_id?: string;
  ephemeral?: boolean;
  /** The request's allowed_mentions; absent, every mention in the content notifies (a regular message). */
  allowedMentions?: AllowedMentions;
}

/** Which mentions of a message notify their targets (Discord's allowed_mentions object). */
export interface AllowedMentions {
  parse?: string[];
  users?: string[];
  roles?: string[];
}

export interface MessagePatch {
  allowedMentions?: AllowedMentions;
  content?: string;
  embeds?: unknown[];
  components?: unknown[];
  flags?: number;
  attachments?: AttachmentRecord[];
}

export class DiscordStore {
  readonly state: EmulatorState;
  readonly ids: DefaultIds;
  readonly events = new EventEmitter();
  /** Raw bytes of uploaded attachments by attachment id (kept out of the serialisable state). */
  readonly attachmentBytes = new Map<string, Buffer>();
  dispatch: Dispatch = () => {};

  constructor(state: EmulatorState, ids: DefaultIds) {
    this.state = state;
    this.ids = ids;
    this.events.setMaxListeners(100);
  }

  changed(): void {
    this.events.emit('change', this.state);
  }

  /** Resolves with the predicate's first truthy value, checked now and after every change. */
  waitFor<T>(predicate: (state: EmulatorState) => T | undefined | null | false, timeoutMs = 2000, what = 'condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const value = predicate(this.state);
        if (!value) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`discord emulator: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off('change', check);
      };
      if (!check()) this.events.on('change', check);
    });
  }

  channel(id: string): ChannelRecord | undefined {
    return this.state.channels[id];
  }

  /** Guild id of a channel (threads inherit their parent's guild). */
  guildOf(channelId: string): string | undefined {
    return this.state.channels[channelId]?.guild_id;
  }

  findMessage(channelId: string, messageId: string): MessageRecord | undefined {
    return this.state.messages[channelId]?.find((m) => m.id === messageId) ?? this.state.ephemeral_messages[messageId];
  }

  anyMessage(messageId: string): MessageRecord | undefined {
    for (const list of Object.values(this.state.messages)) {
      const found = list.find((m) => m.id === messageId);
      if (found) return found;
    }
    return this.state.ephemeral_messages[messageId];
  }

  createMessage(input: NewMessage): MessageRecord {
    const content = input.content ?? '';
    const guildId = this.guildOf(input.channelId);
    const msg: MessageRecord = {
      id: snowflake(), channel_id: input.channelId, ...(guildId ? { guild_id: guildId } : {}), author_id: input.authorId, content,
      embeds: input.embeds ?? [], components: input.components ?? [], attachments: input.attachments ?? [],
      timestamp: new Date().toISOString(), edited_timestamp: null, flags: input.flags ?? 0, type: input.type ?? 0,
      ...parseMentions(content, this.state, input.allowedMentions),
      reactions: [],
    };
    if (input.message_reference) msg.message_reference = input.message_reference;
    if (input.webhook_id) msg.webhook_id = input.webhook_id;
    if (input.application_id) msg.application_id = input.application_id;
    if (input.interaction_id) msg.interaction_id = input.interaction_id;
    if (input.ephemeral) {
      msg.ephemeral = true;
      this.state.ephemeral_messages[msg.id] = msg;
    } else {
      (this.state.messages[input.channelId] ??= []).push(msg);
      const ch = this.state.channels[input.channelId];
      if (ch) ch.last_message_id = msg.id;
      this.dispatch('MESSAGE_CREATE', gatewayMessage(this.state, msg));
    }
    this.changed();
    return msg;
  }

  editMessage(msg: MessageRecord, patch: MessagePatch): MessageRecord {
    if (patch.content !== undefined) Object.assign(msg, parseMentions(patch.content, this.state, patch.allowedMentions), { content: patch.content });
    if (patch.embeds !== undefined) msg.embeds = patch.embeds;
    if (patch.components !== undefined) msg.components = patch.components;
    if (patch.attachments !== undefined) msg.attachments = patch.attachments;
    if (patch.flags !== undefined) msg.flags = patch.flags | (msg.flags & 64);
    msg.edited_timestamp = new Date().toISOString();
    if (!msg.ephemeral) this.dispatch('MESSAGE_UPDATE', gatewayMessage(this.state, msg));
    this.changed();
    return msg;
  }

  deleteMessage(msg: MessageRecord): void {
    if (msg.ephemeral) {
      delete this.state.ephemeral_messages[msg.id];
    } else {
      const list = this.state.messages[msg.channel_id] ?? [];
      const index = list.indexOf(msg);
      if (index >= 0) list.splice(index, 1);
      this.dispatch('MESSAGE_DELETE', { id: msg.id, channel_id: msg.channel_id, ...(msg.guild_id ? { guild_id: msg.guild_id } : {}) });
    }
    this.changed();
  }

  createThread(input: { parentId: string; name: string; ownerId: string; fromMessage?: MessageRecord; type?: number; autoArchive?: number }): ChannelRecord {
    const parent = this.state.channels[input.parentId];
    const id = input.fromMessage ? input.fromMessage.id : snowflake();
    const thread: ChannelRecord = {
      id, type: input.type ?? 11, name: input.name, guild_id: parent?.guild_id, parent_id: input.parentId, owner_id: input.ownerId,
      thread_metadata: { archived: false, auto_archive_duration: input.autoArchive ?? 4320, archive_timestamp: new Date().toISOString(), locked: false },
      member_ids: [input.ownerId], last_message_id: null,
    };
    this.state.channels[id] = thread;
    this.state.messages[id] = [];
    if (input.fromMessage) input.fromMessage.thread_id = id;
    this.dispatch('THREAD_CREATE', { ...apiChannel(this.state, thread), newly_created: true });
    this.changed();
    return thread;
  }

  dmChannel(userId: string, create = true): ChannelRecord | undefined {
    const existing = Object.values(this.state.channels).find((c) => c.type === 1 && c.recipient_ids?.includes(userId));
    if (existing || !create) return existing;
    const ch: ChannelRecord = { id: snowflake(), type: 1, recipient_ids: [userId], last_message_id: null };
    this.state.channels[ch.id] = ch;
    this.state.messages[ch.id] = [];
    this.changed();
    return ch;
  }

  react(msg: MessageRecord, userId: string, emojiText: string, dispatch = true): void {
    const emoji = parseEmoji(emojiText);
    let reaction = msg.reactions.find((r) => r.emoji.name === emoji.name && r.emoji.id === emoji.id);
    if (!reaction) msg.reactions.push((reaction = { emoji, user_ids: [] }));
    if (!reaction.user_ids.includes(userId)) reaction.user_ids.push(userId);
    if (dispatch) {
      const member = msg.guild_id ? apiMember(this.state, msg.guild_id, userId) : null;
      this.dispatch('MESSAGE_REACTION_ADD', {
        user_id: userId, channel_id: msg.channel_id, message_id: msg.id, emoji: { ...emoji }, burst: false, type: 0,
        message_author_id: msg.author_id, ...(msg.guild_id ? { guild_id: msg.guild_id } : {}), ...(member ? { member } : {}),
      });
    }
    this.changed();
  }

  addUser(input: { username: string; bot?: boolean; id?: string; globalName?: string }): UserRecord {
    const user: UserRecord = { id: input.id ?? snowflake(), username: input.username, global_name: input.globalName ?? null, bot: input.bot ?? false };
    this.state.users[user.id] = user;
    this.changed();
    return user;
  }

  addMember(input: { userId: string; guildId?: string; roles?: string[]; nick?: string }): void {
    const guildId = input.guildId ?? this.ids.guildId;
    const member = { user_id: input.userId, roles: input.roles ?? [], nick: input.nick ?? null, joined_at: new Date().toISOString() };
    (this.state.members[guildId] ??= {})[input.userId] = member;
    this.dispatch('GUILD_MEMBER_ADD', { guild_id: guildId, ...apiMember(this.state, guildId, input.userId) });
    this.changed();
  }

  setMemberRoles(userId: string, roles: string[], guildId = this.ids.guildId): void {
    const member = this.state.members[guildId]?.[userId];
    if (!member) throw new Error(`no member ${userId} in guild ${guildId}`);
    member.roles = [...roles];
    this.dispatch('GUILD_MEMBER_UPDATE', { guild_id: guildId, ...apiMember(this.state, guildId, userId) });
    this.changed();
  }

  addRole(input: { name: string; permissions?: bigint | string; guildId?: string; id?: string }): RoleRecord {
    const guildId = input.guildId ?? this.ids.guildId;
    const position = Object.values(this.state.roles).filter((r) => r.guild_id === guildId).length;
    const role: RoleRecord = {
      id: input.id ?? snowflake(), guild_id: guildId, name: input.name, permissions: String(input.permissions ?? '0'), position,
      color: 0, hoist: false, mentionable: false, managed: false,
    };
    this.state.roles[role.id] = role;
    this.dispatch('GUILD_ROLE_CREATE', { guild_id: guildId, role: apiRole(role) });
    this.changed();
    return role;
  }

  addChannel(input: { name: string; type?: number; guildId?: string; parentId?: string; topic?: string; id?: string }): ChannelRecord {
    const guildId = input.guildId ?? this.ids.guildId;
    const position = Object.values(this.state.channels).filter((c) => c.guild_id === guildId && c.type === (input.type ?? 0)).length;
    const ch: ChannelRecord = {
      id: input.id ?? snowflake(), type: input.type ?? 0, name: input.name, guild_id: guildId, parent_id: input.parentId ?? null,
      position, topic: input.topic ?? null, last_message_id: null,
    };
    this.state.channels[ch.id] = ch;
    this.state.messages[ch.id] = [];
    this.dispatch('CHANNEL_CREATE', apiChannel(this.state, ch));
    this.changed();
    return ch;
  }

  user(id: string): Record<string, unknown> {
    return apiUser(this.state, id);
  }
}

/**
 * The mentions that notify: those in the content that allowed_mentions lets through (all of them when
 * it is absent). Like Discord, the message's mentions list only these; the rest still show as text.
 */
export function parseMentions(content: string, state: EmulatorState, allowed?: AllowedMentions): Pick<MessageRecord, 'mention_ids' | 'mention_role_ids' | 'mention_everyone'> {
  const may = (kind: 'users' | 'roles', id: string): boolean => !allowed || (allowed.parse ?? []).includes(kind) || (allowed[kind] ?? []).includes(id);
  const users = [...content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]!).filter((id) => state.users[id] && may('users', id));
  const roles = [...content.matchAll(/<@&(\d+)>/g)].map((m) => m[1]!).filter((id) => state.roles[id] && may('roles', id));
  const everyone = (!allowed || (allowed.parse ?? []).includes('everyone')) && /@(everyone|here)\b/.test(content);
  return { mention_ids: [...new Set(users)], mention_role_ids: [...new Set(roles)], mention_everyone: everyone };
}

/** '👍' → {id:null,name:'👍'}; 'name:123' or '<:name:123>' → custom emoji. Accepts URL-encoded input. */
export function parseEmoji(text: string): { id: string | null; name: string } {
  const decoded = decodeURIComponent(text).replace(/^<a?:/, '').replace(/>$/, '');
  const custom = /^([\w~]+):(\d+)$/.exec(decoded);
  return custom ? { id: custom[2]!, name: custom[1]! } : { id: null, name: decoded };
}
