/** REST v10 routes for users, applications, commands, channels, messages, threads, DMs, reactions and guilds. */
import { HttpError, notFound } from './http.ts';
import type { Req, Router } from './http.ts';
import { apiChannel, apiCommand, apiGuild, apiMember, apiMessage, apiRole, apiUser, guildRoles } from './render.ts';
import { snowflake } from './state.ts';
import type { AttachmentRecord, ChannelRecord, CommandRecord, MessageRecord } from './state.ts';
import type { AllowedMentions, DiscordStore } from './store.ts';
import { validateMessage } from './validation.ts';

export interface Ctx {
  store: DiscordStore;
  token: string;
  baseUrl: () => string;
  gatewayUrl: () => string;
  gatewayAvailable: () => boolean;
}

const ALLOWED_FLAGS = 4 | 64 | 4096 | 32768;

/** Attachments after a create/edit: kept existing ones listed in body.attachments plus new uploads. */
export function attachmentsFrom(ctx: Ctx, req: Req, channelId: string, existing: AttachmentRecord[] = []): AttachmentRecord[] | undefined {
  const declared = Array.isArray(req.body.attachments) ? (req.body.attachments as { id: string | number; filename?: string; description?: string }[]) : undefined;
  if (!declared && req.files.length === 0) return undefined;
  const kept = declared ? existing.filter((a) => declared.some((d) => String(d.id) === a.id)) : existing;
  const uploaded = req.files.map((file): AttachmentRecord => {
    const meta = declared?.find((d) => String(d.id) === String(file.index));
    const id = snowflake();
    const filename = meta?.filename ?? file.filename;
    ctx.store.attachmentBytes.set(id, file.data);
    return {
      id, filename, size: file.data.length, content_type: file.contentType, description: meta?.description ?? null,
      url: `${ctx.baseUrl()}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`,
    };
  });
  return [...kept, ...uploaded];
}

/** The message fields of a create/edit body, validated like Discord does. */
export function messageInput(ctx: Ctx, req: Req, channelId: string, creating: boolean, existing?: MessageRecord) {
  validateMessage(req.body, req.files.length, creating);
  const b = req.body;
  const attachments = attachmentsFrom(ctx, req, channelId, existing?.attachments);
  return {
    ...(typeof b.content === 'string' || (b.content === null && !creating) ? { content: (b.content as string | null) ?? '' } : {}),
    ...(Array.isArray(b.embeds) ? { embeds: b.embeds as unknown[] } : {}),
    ...(Array.isArray(b.components) ? { components: b.components as unknown[] } : {}),
    ...(typeof b.flags === 'number' ? { flags: b.flags & ALLOWED_FLAGS } : {}),
    ...(attachments ? { attachments } : {}),
    ...(b.allowed_mentions && typeof b.allowed_mentions === 'object' ? { allowedMentions: b.allowed_mentions as AllowedMentions } : {}),
  };
}

export function registerRest(router: Router, ctx: Ctx): void {
  const { store } = ctx;
  const state = store.state;
  const botId = (): string => state.bot_user_id;
  const channel = (id: string): ChannelRecord => state.channels[id] ?? (() => { throw notFound('Channel', 10003); })();
  const message = (channelId: string, id: string): MessageRecord => {
    channel(channelId);
    const found = state.messages[channelId]?.find((m) => m.id === id);
    if (!found) throw notFound('Message', 10008);
    return found;
  };
  const guild = (id: string): string => (state.guilds[id] ? id : (() => { throw notFound('Guild', 10004); })());
  const ok = (body: unknown) => ({ status: 200, body });
  const none = { status: 204 };

  const gatewayBot = () => {
    if (!ctx.gatewayAvailable()) throw new HttpError(503, 0, '503: Service Unavailable');
    return ok({ url: ctx.gatewayUrl(), shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } });
  };
  router.add('GET', '/gateway/bot', gatewayBot);
  router.add('GET', '/gateway', () => ok({ url: ctx.gatewayUrl() }), false);

  router.add('GET', '/users/@me', () => ok({ ...apiUser(state, botId()), verified: true, mfa_enabled: false, email: null, locale: 'en-US' }));
  router.add('GET', '/users/:id', (r) => {
    if (!state.users[r.params.id!]) throw notFound('User', 10013);
    return ok(apiUser(state, r.params.id!));
  });
  router.add('GET', '/applications/@me', () => ok({
    id: state.application_id, name: state.users[botId()]?.username, icon: null, description: '', bot_public: false,
    bot_require_code_grant: false, bot: apiUser(state, botId()), owner: apiUser(state, store.ids.users.alice), team: null,
    verify_key: 'emulator', flags: (1 << 15) | (1 << 19), approximate_guild_count: Object.keys(state.guilds).length, tags: [],
    install_params: null, integration_types_config: { '0': {} }, custom_install_url: null, redirect_uris: [], interactions_endpoint_url: null,
  }));

  // Application commands, global (guildId undefined) and per guild.
  const list = (guildId?: string): CommandRecord[] => (guildId ? (state.commands.guild[guildId] ??= []) : state.commands.global);
  const checkApp = (r: Req): void => {
    if (r.params.app !== state.application_id) throw notFound('Application', 10002);
    if (r.params.guild) guild(r.params.guild);
  };
  const toCommand = (body: Record<string, unknown>, guildId: string | undefined, id = snowflake()): CommandRecord => {
    const type = typeof body.type === 'number' ? body.type : 1;
    const name = body.name;
    if (typeof name !== 'string' || (type === 1 && !/^[-_\p{L}\p{N}]{1,32}$/u.test(name)) || name.length > 32) {
      throw new HttpError(400, 50035, 'Invalid Form Body', { name: { _errors: [{ code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' }] } });
    }
    if (type === 1 && (typeof body.description !== 'string' || body.description.length < 1 || body.description.length > 100)) {
      throw new HttpError(400, 50035, 'Invalid Form Body', { description: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' }] } });
    }
    return {
      ...structuredClone(body), id, application_id: state.application_id, ...(guildId ? { guild_id: guildId } : {}), version: snowflake(), type, name,
      description: type === 1 ? (body.description as string) : '', options: Array.isArray(body.options) ? structuredClone(body.options) : [],
      default_member_permissions: (body.default_member_permissions as string | null | undefined) ?? null, nsfw: Boolean(body.nsfw),
    };
  };
  for (const prefix of ['/applications/:app', '/applications/:app/guilds/:guild']) {
    router.add('GET', `${prefix}/commands`, (r) => (checkApp(r), ok(list(r.params.guild).map(apiCommand))));
    router.add('PUT', `${prefix}/commands`, (r) => {
      checkApp(r);
      const bodies = Array.isArray(r.body) ? (r.body as Record<string, unknown>[]) : [];
      const current = list(r.params.guild);
      const next = bodies.map((b) => toCommand(b, r.params.guild, current.find((c) => c.name === b.name && c.type === ((b.type as number) ?? 1))?.id));
      current.splice(0, current.length, ...next);
      store.changed();
      return ok(next.map(apiCommand));
    });
    router.add('POST', `${prefix}/commands`, (r) => {
      checkApp(r);
      const current = list(r.params.guild);
      const index = current.findIndex((c) => c.name === r.body.name && c.type === ((r.body.type as number) ?? 1));
      const cmd = toCommand(r.body, r.params.guild, index >= 0 ? current[index]!.id : undefined);
      if (index >= 0) current[index] = cmd;
      else current.push(cmd);
      store.changed();
      return { status: index >= 0 ? 200 : 201, body: apiCommand(cmd) };
    });
    const one = (r: Req): CommandRecord => {
      checkApp(r);
      const cmd = list(r.params.guild).find((c) => c.id === r.params.cmd);
      if (!cmd) throw notFound('application command', 10063);
      return cmd;
    };
    router.add('GET', `${prefix}/commands/:cmd`, (r) => ok(apiCommand(one(r))));
    router.add('PATCH', `${prefix}/commands/:cmd`, (r) => {
      const cmd = one(r);
      Object.assign(cmd, toCommand({ ...cmd, ...r.body }, r.params.guild, cmd.id));
      store.changed();
      return ok(apiCommand(cmd));
    });
    router.add('DELETE', `${prefix}/commands/:cmd`, (r) => {
      const cmd = one(r);
      const current = list(r.params.guild);
      current.splice(current.indexOf(cmd), 1);
      store.changed();
      return none;
    });
  }

  router.add('GET', '/channels/:id', (r) => ok(apiChannel(state, channel(r.params.id!))));
  router.add('POST', '/channels/:id/typing', (r) => (channel(r.params.id!), none));
  router.add('GET', '/channels/:id/messages', (r) => {
    channel(r.params.id!);
    const all = [...(state.messages[r.params.id!] ?? [])].reverse(); // newest first, like Discord
    const limit = Math.min(Math.max(Number(r.query.get('limit') ?? 50), 1), 100);
    const before = r.query.get('before');
    const after = r.query.get('after');
    let picked = all;
    if (before) picked = all.filter((m) => BigInt(m.id) < BigInt(before));
    else if (after) picked = all.filter((m) => BigInt(m.id) > BigInt(after)).slice(-limit);
    return ok(picked.slice(0, limit).map((m) => apiMessage(state, m, botId())));
  });
  router.add('POST', '/channels/:id/messages', (r) => {
    const ch = channel(r.params.id!);
    if (ch.type === 1 && ch.recipient_ids?.some((id) => state.users[id]?.bot)) throw new HttpError(403, 50007, 'Cannot send messages to this user');
    const input = messageInput(ctx, r, ch.id, true);
    const ref = r.body.message_reference as { message_id?: string; channel_id?: string; fail_if_not_exists?: boolean; type?: number } | undefined;
    let reference: MessageRecord['message_reference'];
    if (ref?.message_id && (ref.type ?? 0) === 0) {
      const target = state.messages[ref.channel_id ?? ch.id]?.find((m) => m.id === ref.message_id);
      if (!target && ref.fail_if_not_exists !== false) {
        throw new HttpError(400, 50035, 'Invalid Form Body', { message_reference: { _errors: [{ code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', message: 'Unknown message' }] } });
      }
      if (target) reference = { type: 0, message_id: target.id, channel_id: target.channel_id, ...(target.guild_id ? { guild_id: target.guild_id } : {}) };
    }
    const msg = store.createMessage({ channelId: ch.id, authorId: botId(), ...input, ...(reference ? { type: 19, message_reference: reference } : {}) });
    return ok(apiMessage(state, msg, botId()));
  });
  router.add('GET', '/channels/:id/messages/:mid', (r) => ok(apiMessage(state, message(r.params.id!, r.params.mid!), botId())));
  router.add('PATCH', '/channels/:id/messages/:mid', (r) => {
    const msg = message(r.params.id!, r.params.mid!);
    if (msg.author_id !== botId()) throw new HttpError(403, 50005, 'Cannot edit a message authored by another user');
    store.editMessage(msg, messageInput(ctx, r, msg.channel_id, false, msg));
    return ok(apiMessage(state, msg, botId()));
  });
  router.add('DELETE', '/channels/:id/messages/:mid', (r) => (store.deleteMessage(message(r.params.id!, r.params.mid!)), none));
  router.add('PUT', '/channels/:id/messages/:mid/reactions/:emoji/@me', (r) => {
    store.react(message(r.params.id!, r.params.mid!), botId(), r.params.emoji!);
    return none;
  });

  const threadBody = (r: Req): { name: string; autoArchive?: number } => {
    const name = r.body.name;
    if (typeof name !== 'string' || name.length < 1 || name.length > 100) {
      throw new HttpError(400, 50035, 'Invalid Form Body', { name: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' }] } });
    }
    return { name, ...(typeof r.body.auto_archive_duration === 'number' ? { autoArchive: r.body.auto_archive_duration } : {}) };
  };
  router.add('POST', '/channels/:id/messages/:mid/threads', (r) => {
    const msg = message(r.params.id!, r.params.mid!);
    if (msg.thread_id) throw new HttpError(400, 160004, 'A thread has already been created for this message');
    if (channel(msg.channel_id).type !== 0) throw new HttpError(400, 50024, 'Cannot execute action on this channel type');
    const thread = store.createThread({ parentId: msg.channel_id, ownerId: botId(), fromMessage: msg, ...threadBody(r) });
    return { status: 201, body: apiChannel(state, thread) };
  });
  router.add('POST', '/channels/:id/threads', (r) => {
    const parent = channel(r.params.id!);
    if (parent.type !== 0) throw new HttpError(400, 50024, 'Cannot execute action on this channel type');
    const type = typeof r.body.type === 'number' ? r.body.type : 12;
    const thread = store.createThread({ parentId: parent.id, ownerId: botId(), type, ...threadBody(r) });
    return { status: 201, body: apiChannel(state, thread) };
  });
  router.add('PUT', '/channels/:id/thread-members/@me', (r) => {
    const thread = channel(r.params.id!);
    if (thread.type !== 11 && thread.type !== 12) throw new HttpError(400, 50024, 'Cannot execute action on this channel type');
    if (!thread.member_ids?.includes(botId())) (thread.member_ids ??= []).push(botId());
    store.changed();
    return none;
  });
  router.add('POST', '/users/@me/channels', (r) => {
    const userId = String(r.body.recipient_id ?? '');
    if (!state.users[userId]) throw notFound('User', 10013);
    return ok(apiChannel(state, store.dmChannel(userId)!));
  });

  router.add('GET', '/guilds/:id', (r) => ok(apiGuild(state, guild(r.params.id!), false)));
  router.add('GET', '/guilds/:id/roles', (r) => ok(guildRoles(state, guild(r.params.id!)).map(apiRole)));
  router.add('GET', '/guilds/:id/channels', (r) =>
    ok(Object.values(state.channels).filter((c) => c.guild_id === guild(r.params.id!) && c.type !== 11 && c.type !== 12).map((c) => apiChannel(state, c))));
  router.add('GET', '/guilds/:id/members', (r) => ok(Object.keys(state.members[guild(r.params.id!)] ?? {}).map((uid) => apiMember(state, r.params.id!, uid))));
  router.add('GET', '/guilds/:id/members/:uid', (r) => {
    const member = apiMember(state, guild(r.params.id!), r.params.uid!);
    if (!member) throw notFound('Member', 10007);
    return ok(member);
  });
}
