import { blocksError, withBlockIds } from './blocks.ts';
import { ApiError, type EmulatorCore } from './core.ts';
import type { Obj, SlackChannel, SlackMessage } from './types.ts';
import type { MethodHandler } from './web-api.ts';

export const str = (args: Obj, key: string): string | undefined => {
  const v = args[key];
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
};
export const bool = (args: Obj, key: string): boolean => args[key] === true || args[key] === 'true' || args[key] === '1';
export const num = (args: Obj, key: string, fallback: number): number => {
  const n = Number(args[key]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

const MAX_TEXT = 40_000;

/** Validates text/blocks/attachments like chat.postMessage does and returns the content fields. */
export function messageContent(args: Obj, requireSome = true): Pick<SlackMessage, 'text' | 'blocks' | 'attachments'> {
  const text = typeof args.text === 'string' ? args.text : undefined;
  const blocks = args.blocks;
  const attachments = args.attachments;
  const hasBlocks = blocks !== undefined && blocks !== '' && blocks !== null;
  const hasAttachments = attachments !== undefined && attachments !== '' && attachments !== null;
  if (requireSome && !text && !hasBlocks && !hasAttachments) throw new ApiError('no_text');
  if (hasBlocks) {
    const err = blocksError(blocks);
    if (err) throw new ApiError(err);
  }
  if (hasAttachments && !Array.isArray(attachments)) throw new ApiError('invalid_attachments');
  if (text && text.length > MAX_TEXT) throw new ApiError('msg_too_long');
  return {
    text: text ?? '',
    ...(hasBlocks ? { blocks: withBlockIds(blocks as Obj[]) } : {}),
    ...(hasAttachments ? { attachments: attachments as Obj[] } : {}),
  };
}

export function requireMember(core: EmulatorCore, channel: SlackChannel): void {
  if (!channel.members.includes(core.config.botUserId)) throw new ApiError('not_in_channel');
  if (channel.is_archived) throw new ApiError('is_archived');
}

/** The message as the Web API returns it (no emulator bookkeeping). */
export function apiMessage(core: EmulatorCore, msg: SlackMessage): Obj {
  const { source: _source, ...rest } = msg;
  return { ...rest, team: core.config.teamId };
}

function findOwn(core: EmulatorCore, channel: string, ts: unknown, forbidden: string): SlackMessage {
  const msg = typeof ts === 'string' ? core.store.findMessage(channel, ts) : undefined;
  if (!msg) throw new ApiError('message_not_found');
  if (msg.bot_id !== core.config.botId) throw new ApiError(forbidden);
  return msg;
}

function channelInfo(core: EmulatorCore, c: SlackChannel): Obj {
  return { ...c, is_member: c.members.includes(core.config.botUserId), num_members: c.members.length };
}

function page<T>(items: T[], args: Obj, fallbackLimit: number): { items: T[]; next: string } {
  const limit = num(args, 'limit', fallbackLimit);
  const start = Number(Buffer.from(str(args, 'cursor') ?? '', 'base64').toString('utf8').replace('offset:', '')) || 0;
  const slice = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return { items: slice, next: more ? Buffer.from(`offset:${start + limit}`).toString('base64') : '' };
}

/** A message from the app's bot user (chat.postMessage, a shared upload, an in_channel response_url answer). */
export function addBotMessage(core: EmulatorCore, channel: string, threadTs: string | undefined, fields: Omit<SlackMessage, 'type' | 'ts' | 'channel' | 'user' | 'bot_id' | 'app_id' | 'thread_ts'>): SlackMessage {
  return core.store.addMessage({
    channel,
    user: core.config.botUserId,
    bot_id: core.config.botId,
    app_id: core.config.appId,
    ...fields,
    ...(threadTs ? { thread_ts: threadTs } : {}),
  });
}

export const chatMethods: Record<string, MethodHandler> = {
  'chat.postMessage': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const content = messageContent(args);
    requireMember(core, channel);
    const threadTs = str(args, 'thread_ts');
    const msg = addBotMessage(core, channel.id, threadTs, {
      ...content,
      ...(threadTs && bool(args, 'reply_broadcast') ? { reply_broadcast: true } : {}),
      ...(typeof args.metadata === 'object' && args.metadata !== null ? { metadata: args.metadata as Obj } : {}),
      source: 'api',
    });
    return { channel: channel.id, ts: msg.ts, message: apiMessage(core, msg) };
  },

  'chat.update': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const msg = findOwn(core, channel.id, args.ts, 'cant_update_message');
    const content = messageContent(args);
    const patch: Partial<SlackMessage> = {};
    if (typeof args.text === 'string') patch.text = content.text;
    if (content.blocks) patch.blocks = content.blocks;
    if (content.attachments) patch.attachments = content.attachments;
    const updated = core.store.updateMessage(channel.id, msg.ts, patch, core.config.botUserId);
    return { channel: channel.id, ts: msg.ts, text: updated?.text ?? '', message: updated ? apiMessage(core, updated) : {} };
  },

  'chat.delete': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const msg = findOwn(core, channel.id, args.ts, 'cant_delete_message');
    core.store.deleteMessage(channel.id, msg.ts);
    return { channel: channel.id, ts: msg.ts };
  },

  'chat.postEphemeral': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const user = str(args, 'user');
    if (!user || !core.store.user(user)) throw new ApiError('user_not_found');
    const content = messageContent(args);
    if (!channel.members.includes(user)) throw new ApiError('user_not_in_channel');
    const threadTs = str(args, 'thread_ts');
    const eph = core.store.addEphemeral({
      channel: channel.id,
      user,
      bot_id: core.config.botId,
      ...content,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      source: 'api',
    });
    return { message_ts: eph.ts };
  },

  'chat.getPermalink': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const ts = str(args, 'message_ts');
    const msg = ts ? core.store.findMessage(channel.id, ts) : undefined;
    if (!msg) throw new ApiError('message_not_found');
    const thread = msg.thread_ts && msg.thread_ts !== msg.ts ? `?thread_ts=${msg.thread_ts}&cid=${channel.id}` : '';
    return {
      channel: channel.id,
      permalink: `https://${core.store.state.team.domain}.slack.com/archives/${channel.id}/p${msg.ts.replace('.', '')}${thread}`,
    };
  },

  'reactions.add': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const name = str(args, 'name');
    if (!name) throw new ApiError('invalid_name');
    const result = core.store.addReaction(channel.id, str(args, 'timestamp') ?? '', name.replace(/:/g, ''), core.config.botUserId);
    if (result !== 'ok') throw new ApiError(result);
    return {};
  },

  'conversations.open': (args, core) => {
    const channelArg = str(args, 'channel');
    if (channelArg) return { channel: channelInfo(core, core.resolveChannel(channelArg)) };
    const users = (str(args, 'users') ?? '').split(',').map((u) => u.trim()).filter(Boolean);
    if (users.length === 0) throw new ApiError('users_list_not_supplied');
    if (users.some((u) => !core.store.user(u))) throw new ApiError('user_not_found');
    if (users.length > 1) throw new ApiError('not_supported_by_emulator');
    const before = core.store.state.channels.some((c) => c.is_im && c.user === users[0]);
    const dm = core.store.openDm(users[0] as string);
    const channel = bool(args, 'return_im') ? channelInfo(core, dm) : { id: dm.id };
    return { ...(before ? { no_op: true, already_open: true } : {}), channel };
  },

  'conversations.info': (args, core) => ({ channel: channelInfo(core, core.resolveChannel(args.channel)) }),

  'conversations.join': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    if (channel.is_im || channel.is_private) throw new ApiError('method_not_supported_for_channel_type');
    if (!channel.members.includes(core.config.botUserId)) {
      channel.members.push(core.config.botUserId);
      core.store.emit({ kind: 'channel.joined', channel: channel.id, user: core.config.botUserId });
    }
    return { channel: channelInfo(core, channel) };
  },

  'conversations.history': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const latest = str(args, 'latest');
    const oldest = str(args, 'oldest');
    const inclusive = bool(args, 'inclusive');
    const all = core.store
      .messages(channel.id)
      .filter((m) => (latest ? (inclusive ? m.ts <= latest : m.ts < latest) : true))
      .filter((m) => (oldest ? (inclusive ? m.ts >= oldest : m.ts > oldest) : true))
      .reverse();
    const { items, next } = page(all, args, 100);
    return {
      messages: items.map((m) => apiMessage(core, m)),
      has_more: next !== '',
      response_metadata: { next_cursor: next },
    };
  },

  'conversations.replies': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const ts = str(args, 'ts') ?? '';
    const msg = core.store.findMessage(channel.id, ts);
    if (!msg) throw new ApiError('thread_not_found');
    const root = msg.thread_ts ?? msg.ts;
    const { items, next } = page(core.store.thread(channel.id, root), args, 1000);
    return {
      messages: items.map((m) => apiMessage(core, m)),
      has_more: next !== '',
      response_metadata: { next_cursor: next },
    };
  },

  'conversations.members': (args, core) => {
    const channel = core.resolveChannel(args.channel);
    const { items, next } = page(channel.members, args, 100);
    return { members: items, response_metadata: { next_cursor: next } };
  },
};
