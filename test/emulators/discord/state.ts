/**
 * Plain, serialisable state of the Discord emulator plus the records it is made of.
 * Records keep ids (author_id, user_ids) instead of nested objects; render.ts turns them into API shapes.
 */

const DISCORD_EPOCH = 1420070400000n;
let increment = 0n;

/** A real-looking snowflake (timestamp in the top bits, so discord.js derives createdAt from it). */
export function snowflake(at: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(at) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
}

/** Permission bits used by the default state (subset of Discord's). */
export const Perm = {
  CreateInstantInvite: 1n << 0n,
  KickMembers: 1n << 1n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  ChangeNickname: 1n << 26n,
  UseApplicationCommands: 1n << 31n,
  CreatePublicThreads: 1n << 35n,
  SendMessagesInThreads: 1n << 38n,
  ModerateMembers: 1n << 40n,
} as const;
export const ALL_PERMISSIONS = (1n << 53n) - 1n;

export interface UserRecord {
  id: string;
  username: string;
  global_name: string | null;
  bot: boolean;
}

export interface RoleRecord {
  id: string;
  guild_id: string;
  name: string;
  permissions: string;
  position: number;
  color: number;
  hoist: boolean;
  mentionable: boolean;
  managed: boolean;
  tags?: { bot_id?: string };
}

export interface MemberRecord {
  user_id: string;
  roles: string[];
  nick: string | null;
  joined_at: string;
}

export interface GuildRecord {
  id: string;
  name: string;
  owner_id: string;
  joined_at: string;
}

export interface ChannelRecord {
  id: string;
  type: number; // 0 text, 1 DM, 4 category, 11 public thread, 12 private thread
  name?: string;
  guild_id?: string;
  parent_id?: string | null;
  position?: number;
  topic?: string | null;
  recipient_ids?: string[];
  owner_id?: string;
  thread_metadata?: { archived: boolean; auto_archive_duration: number; archive_timestamp: string; locked: boolean };
  member_ids?: string[]; // thread members
  last_message_id?: string | null;
}

export interface AttachmentRecord {
  id: string;
  filename: string;
  size: number;
  content_type: string | null;
  description: string | null;
  url: string;
}

export interface ReactionRecord {
  emoji: { id: string | null; name: string };
  user_ids: string[];
}

export interface MessageRecord {
  id: string;
  channel_id: string;
  guild_id?: string;
  author_id: string;
  content: string;
  embeds: unknown[];
  components: unknown[];
  attachments: AttachmentRecord[];
  timestamp: string;
  edited_timestamp: string | null;
  flags: number;
  type: number;
  mention_ids: string[];
  mention_role_ids: string[];
  mention_everyone: boolean;
  message_reference?: { message_id?: string; channel_id?: string; guild_id?: string; type?: number };
  thread_id?: string;
  reactions: ReactionRecord[];
  webhook_id?: string;
  application_id?: string;
  interaction_id?: string;
  ephemeral?: boolean;
}

export interface CommandRecord {
  id: string;
  application_id: string;
  guild_id?: string;
  version: string;
  type: number;
  name: string;
  description: string;
  options: unknown[];
  default_member_permissions: string | null;
  [key: string]: unknown;
}

export interface InteractionEdit {
  target: string; // '@original' or a follow-up message id
  data: Record<string, unknown>;
  at: number;
}

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  /** The full payload dispatched in INTERACTION_CREATE. */
  payload: Record<string, unknown>;
  user_id: string;
  channel_id: string;
  guild_id?: string;
  message_id?: string;
  created_at: number;
  response: { type: number; data: Record<string, unknown> | null; ephemeral: boolean; at: number } | null;
  /** Modal the bot opened with callback type 9. */
  modal?: Record<string, unknown>;
  original_message_id?: string;
  followup_ids: string[];
  edits: InteractionEdit[];
  original_deleted: boolean;
}

export interface IdentifyRecord {
  session_id: string;
  intents: number;
  shard?: [number, number];
  properties?: unknown;
  at: number;
}

export interface EmulatorState {
  bot_user_id: string;
  application_id: string;
  users: Record<string, UserRecord>;
  guilds: Record<string, GuildRecord>;
  roles: Record<string, RoleRecord>;
  /** guild id → user id → member */
  members: Record<string, Record<string, MemberRecord>>;
  channels: Record<string, ChannelRecord>;
  /** channel id → messages in order (ephemeral messages live only in interactions) */
  messages: Record<string, MessageRecord[]>;
  /** ephemeral interaction messages by id */
  ephemeral_messages: Record<string, MessageRecord>;
  commands: { global: CommandRecord[]; guild: Record<string, CommandRecord[]> };
  interactions: Record<string, InteractionRecord>;
  identifies: IdentifyRecord[];
}

export interface DefaultIds {
  guildId: string;
  botId: string;
  roles: { everyone: string; approvers: string; moderator: string; bot: string };
  channels: { general: string; approvals: string };
  users: { alice: string; bob: string; carol: string; otherBot: string };
}

const iso = (): string => new Date().toISOString();
const perms = (...bits: bigint[]): string => bits.reduce((a, b) => a | b, 0n).toString();

export function createState(options: { botUsername?: string; guildName?: string } = {}): { state: EmulatorState; ids: DefaultIds } {
  const botId = snowflake();
  const guildId = snowflake();
  const ids: DefaultIds = {
    guildId,
    botId,
    roles: { everyone: guildId, approvers: snowflake(), moderator: snowflake(), bot: snowflake() },
    channels: { general: snowflake(), approvals: snowflake() },
    users: { alice: snowflake(), bob: snowflake(), carol: snowflake(), otherBot: snowflake() },
  };
  const state: EmulatorState = {
    bot_user_id: botId,
    application_id: botId,
    users: {},
    guilds: {},
    roles: {},
    members: {},
    channels: {},
    messages: {},
    ephemeral_messages: {},
    commands: { global: [], guild: {} },
    interactions: {},
    identifies: [],
  };
  const user = (id: string, username: string, bot = false): void => {
    state.users[id] = { id, username, global_name: bot ? null : username[0]!.toUpperCase() + username.slice(1), bot };
  };
  user(botId, options.botUsername ?? 'Herald', true);
  user(ids.users.alice, 'alice');
  user(ids.users.bob, 'bob');
  user(ids.users.carol, 'carol');
  user(ids.users.otherBot, 'Scheduler', true);

  state.guilds[guildId] = { id: guildId, name: options.guildName ?? 'Herald HQ', owner_id: ids.users.alice, joined_at: iso() };
  const role = (id: string, name: string, position: number, permissions: string, extra: Partial<RoleRecord> = {}): void => {
    state.roles[id] = { id, guild_id: guildId, name, permissions, position, color: 0, hoist: false, mentionable: false, managed: false, ...extra };
  };
  const P = Perm;
  role(guildId, '@everyone', 0, perms(P.ViewChannel, P.SendMessages, P.ReadMessageHistory, P.AddReactions, P.EmbedLinks, P.AttachFiles,
    P.UseApplicationCommands, P.CreatePublicThreads, P.SendMessagesInThreads, P.ChangeNickname, P.CreateInstantInvite, P.UseExternalEmojis));
  role(ids.roles.approvers, 'Approvers', 1, '0', { mentionable: true });
  role(ids.roles.moderator, 'Moderator', 2, perms(P.ManageMessages, P.KickMembers, P.ModerateMembers, P.MentionEveryone, P.ManageChannels));
  role(ids.roles.bot, 'Herald', 3, perms(P.ViewChannel, P.SendMessages, P.SendMessagesInThreads, P.CreatePublicThreads, P.EmbedLinks,
    P.AttachFiles, P.AddReactions, P.ReadMessageHistory, P.ManageMessages, P.UseApplicationCommands), { managed: true, tags: { bot_id: botId } });

  state.members[guildId] = {};
  const member = (userId: string, roles: string[]): void => {
    state.members[guildId]![userId] = { user_id: userId, roles, nick: null, joined_at: iso() };
  };
  member(botId, [ids.roles.bot]);
  member(ids.users.alice, [ids.roles.approvers]);
  member(ids.users.bob, [ids.roles.approvers]);
  member(ids.users.carol, [ids.roles.moderator]);
  member(ids.users.otherBot, []);

  const text = (id: string, name: string, position: number): void => {
    state.channels[id] = { id, type: 0, name, guild_id: guildId, parent_id: null, position, topic: null, last_message_id: null };
    state.messages[id] = [];
  };
  text(ids.channels.general, 'general', 0);
  text(ids.channels.approvals, 'approvals', 1);
  return { state, ids };
}
