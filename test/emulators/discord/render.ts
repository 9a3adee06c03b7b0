/** Turns state records into the JSON shapes Discord's API (and so discord.js) uses. */
import { ALL_PERMISSIONS, Perm } from './state.ts';
import type { ChannelRecord, CommandRecord, EmulatorState, MessageRecord, RoleRecord } from './state.ts';

type Json = Record<string, unknown>;

export function apiUser(state: EmulatorState, userId: string): Json {
  const u = state.users[userId];
  if (!u) return { id: userId, username: 'unknown-user', global_name: null, discriminator: '0', avatar: null, bot: false };
  return {
    id: u.id, username: u.username, global_name: u.global_name, discriminator: '0', avatar: null,
    bot: u.bot, system: false, public_flags: 0, flags: 0, banner: null, accent_color: null, avatar_decoration_data: null,
  };
}

export function apiRole(role: RoleRecord): Json {
  const { guild_id: _g, tags, ...rest } = role;
  return { ...rest, icon: null, unicode_emoji: null, flags: 0, ...(tags ? { tags } : {}), colors: { primary_color: role.color, secondary_color: null, tertiary_color: null } };
}

export function guildRoles(state: EmulatorState, guildId: string): RoleRecord[] {
  return Object.values(state.roles).filter((r) => r.guild_id === guildId).sort((a, b) => a.position - b.position);
}

/** Member object; withUser=false gives the shape embedded in MESSAGE_CREATE. */
export function apiMember(state: EmulatorState, guildId: string, userId: string, withUser = true): Json | null {
  const m = state.members[guildId]?.[userId];
  if (!m) return null;
  return {
    ...(withUser ? { user: apiUser(state, userId) } : {}),
    roles: [...m.roles], nick: m.nick, avatar: null, banner: null, joined_at: m.joined_at, premium_since: null,
    deaf: false, mute: false, flags: 0, pending: false, communication_disabled_until: null,
  };
}

export function memberPermissions(state: EmulatorState, guildId: string, userId: string): bigint {
  const guild = state.guilds[guildId];
  const member = state.members[guildId]?.[userId];
  if (!guild || !member) return 0n;
  if (guild.owner_id === userId) return ALL_PERMISSIONS;
  let bits = BigInt(state.roles[guildId]?.permissions ?? '0');
  for (const roleId of member.roles) bits |= BigInt(state.roles[roleId]?.permissions ?? '0');
  return (bits & Perm.Administrator) !== 0n ? ALL_PERMISSIONS : bits;
}

export function apiChannel(state: EmulatorState, ch: ChannelRecord): Json {
  const base: Json = { id: ch.id, type: ch.type, flags: 0, last_message_id: ch.last_message_id ?? null };
  if (ch.type === 1) {
    return { ...base, recipients: (ch.recipient_ids ?? []).map((id) => apiUser(state, id)) };
  }
  Object.assign(base, { guild_id: ch.guild_id, name: ch.name, parent_id: ch.parent_id ?? null, nsfw: false, rate_limit_per_user: 0 });
  if (ch.type === 11 || ch.type === 12) {
    const count = state.messages[ch.id]?.length ?? 0;
    return {
      ...base, owner_id: ch.owner_id, thread_metadata: { ...ch.thread_metadata }, member_count: ch.member_ids?.length ?? 0,
      message_count: count, total_message_sent: count, applied_tags: [],
    };
  }
  return { ...base, position: ch.position ?? 0, topic: ch.topic ?? null, permission_overwrites: [] };
}

export function apiAttachments(m: MessageRecord): Json[] {
  return m.attachments.map((a) => ({
    id: a.id, filename: a.filename, size: a.size, url: a.url, proxy_url: a.url, content_type: a.content_type ?? undefined,
    ...(a.description ? { description: a.description } : {}), flags: 0,
  }));
}

export function apiMessage(state: EmulatorState, m: MessageRecord, viewerId?: string): Json {
  const msg: Json = {
    id: m.id, channel_id: m.channel_id, author: apiUser(state, m.author_id), content: m.content,
    timestamp: m.timestamp, edited_timestamp: m.edited_timestamp, tts: false, mention_everyone: m.mention_everyone,
    mentions: m.mention_ids.map((id) => {
      const member = m.guild_id ? apiMember(state, m.guild_id, id, false) : null;
      return { ...apiUser(state, id), ...(member ? { member } : {}) };
    }),
    mention_roles: [...m.mention_role_ids], attachments: apiAttachments(m), embeds: structuredClone(m.embeds),
    components: structuredClone(m.components), pinned: false, type: m.type, flags: m.flags,
  };
  if (m.reactions.length > 0) {
    msg.reactions = m.reactions.map((r) => ({
      emoji: { ...r.emoji }, count: r.user_ids.length, me: viewerId !== undefined && r.user_ids.includes(viewerId),
      me_burst: false, burst_count: 0, burst_colors: [], count_details: { normal: r.user_ids.length, burst: 0 },
    }));
  }
  if (m.message_reference) msg.message_reference = { ...m.message_reference };
  if (m.webhook_id) msg.webhook_id = m.webhook_id;
  if (m.application_id) msg.application_id = m.application_id;
  if (m.thread_id && state.channels[m.thread_id]) msg.thread = apiChannel(state, state.channels[m.thread_id]!);
  if (m.interaction_id) {
    const i = state.interactions[m.interaction_id];
    if (i) {
      msg.interaction_metadata = {
        id: i.id, type: i.type, user: apiUser(state, i.user_id), authorizing_integration_owners: i.guild_id ? { '0': i.guild_id } : { '1': i.user_id },
        ...(i.message_id ? { interacted_message_id: i.message_id } : {}),
      };
    }
  }
  return msg;
}

/** MESSAGE_CREATE / MESSAGE_UPDATE payload: the message plus guild_id and the author's member. */
export function gatewayMessage(state: EmulatorState, m: MessageRecord): Json {
  const msg = apiMessage(state, m);
  if (m.guild_id) {
    msg.guild_id = m.guild_id;
    const member = apiMember(state, m.guild_id, m.author_id, false);
    if (member && !m.webhook_id) msg.member = member;
  }
  return msg;
}

export function apiCommand(c: CommandRecord): Json {
  return { ...structuredClone(c) };
}

export function apiGuild(state: EmulatorState, guildId: string, full: boolean): Json {
  const g = state.guilds[guildId]!;
  const roles = guildRoles(state, guildId).map(apiRole);
  const base: Json = {
    id: g.id, name: g.name, icon: null, splash: null, discovery_splash: null, owner_id: g.owner_id, afk_channel_id: null,
    afk_timeout: 300, verification_level: 0, default_message_notifications: 1, explicit_content_filter: 0, roles, emojis: [],
    features: [], mfa_level: 0, application_id: null, system_channel_id: null, system_channel_flags: 0, rules_channel_id: null,
    max_members: 500000, vanity_url_code: null, description: null, banner: null, premium_tier: 0, premium_subscription_count: 0,
    preferred_locale: 'en-US', public_updates_channel_id: null, nsfw_level: 0, stickers: [], premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null, incidents_data: null,
  };
  if (!full) return base;
  const channels = Object.values(state.channels).filter((c) => c.guild_id === guildId);
  const members = Object.keys(state.members[guildId] ?? {}).map((uid) => apiMember(state, guildId, uid));
  return {
    ...base, joined_at: g.joined_at, large: false, unavailable: false, member_count: members.length,
    channels: channels.filter((c) => c.type !== 11 && c.type !== 12).map((c) => { const { guild_id: _g, ...rest } = apiChannel(state, c); return rest; }),
    threads: channels.filter((c) => (c.type === 11 || c.type === 12) && !c.thread_metadata?.archived).map((c) => apiChannel(state, c)),
    members, presences: [], voice_states: [], stage_instances: [], guild_scheduled_events: [], soundboard_sounds: [],
  };
}
