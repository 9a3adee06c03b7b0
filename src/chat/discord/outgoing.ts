/**
 * What Herald does on Discord on its own initiative, over REST: post, edit, thread replies, image
 * uploads, DMs, membership look-ups and command registration. @discordjs/rest waits out 429s; every
 * message create carries a nonce Discord enforces, so a retried request never posts twice.
 */
import { randomBytes } from 'node:crypto';
import { DiscordAPIError, PermissionFlagsBits, Routes } from 'discord.js';
import type { APIChannel, APIGuild, APIGuildMember, APIMessage, REST } from 'discord.js';
import type { Logger } from '../../log.ts';
import { stripMentionMarks, type Message } from '../model.ts';
import type { ChatAdapter, ConversationRef } from '../port.ts';
import { buildApplicationCommands } from './commands.ts';
import type { Gateway } from './gateway.ts';
import { renderMessage, truncate } from './render.ts';

/** Discord error codes Herald reacts to. */
const UNKNOWN_CHANNEL = 10003;
const UNKNOWN_MESSAGE = 10008;
const UNKNOWN_MEMBER = 10007;
const UNKNOWN_USER = 10013;
const THREAD_ALREADY_CREATED = 160004;
const ATTACHMENT_DESCRIPTION_MAX = 1024;
const THREAD_NAME_MAX = 100;
/** Discord's page size for listing guild members. */
const MEMBERS_PAGE = 1_000;

const nonce = (): string => randomBytes(8).toString('hex');
const isApiError = (error: unknown, code: number): boolean => error instanceof DiscordAPIError && error.code === code;

/** A small map that forgets its oldest entries: ids that never change (threads, channel types). */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #max: number;
  constructor(max: number) {
    super();
    this.#max = max;
  }
  override set(key: K, value: V): this {
    super.set(key, value);
    if (this.size > this.#max) this.delete(this.keys().next().value as K);
    return this;
  }
}

/** "<@123> Launch post for Friday, with images" → "Launch post for Friday, with images" (≤ 8 words). */
export function threadNameFrom(text: string): string | undefined {
  const words = text.replace(/<[@#][!&]?\d+>|<a?:\w+:\d+>/g, ' ').split(/\s+/).filter(Boolean).slice(0, 8);
  return words.length > 0 ? truncate(words.join(' '), THREAD_NAME_MAX) : undefined;
}

/** Everything the adapter sends or looks up, i.e. the port without its lifecycle. */
export interface Outgoing extends Omit<ChatAdapter, 'platform' | 'start' | 'stop' | 'isReady' | 'downloadFile'> {
  /** Shortcut id of a message context-menu command name, as registered. */
  shortcutId(name: string): string | undefined;
}

export function createOutgoing(deps: { rest: REST; gateway: Gateway; guildId?: string; log: Logger }): Outgoing {
  const { rest, gateway, log } = deps;
  /** starter message id → thread id (equal on Discord, but only once the thread exists). */
  const threads = new BoundedMap<string, string>(2_000);
  let shortcutIds = new Map<string, string>();
  let applicationId: Promise<string> | undefined;

  const appId = (): Promise<string> => {
    applicationId ??= (rest.get(Routes.currentApplication()) as Promise<{ id: string }>).then((app) => app.id);
    applicationId.catch(() => {
      applicationId = undefined;
    });
    return applicationId;
  };

  /** replyTo: a Discord reply (quote) to that message, used where threads do not exist (DMs). */
  const send = async (channelId: string, message: Message, replyTo?: string): Promise<APIMessage> => {
    const body = { ...renderMessage(message), nonce: nonce(), enforce_nonce: true, ...(replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}) };
    return (await rest.post(Routes.channelMessages(channelId), { body })) as APIMessage;
  };

  const post = async (channel: ConversationRef, message: Message): Promise<ConversationRef> => {
    const created = await send(channel.thread ?? channel.channel, message);
    log.debug({ channel: channel.channel, thread: channel.thread, messageId: created.id }, 'posted');
    return { platform: 'discord', workspace: channel.workspace, channel: channel.channel, message: created.id, ...(channel.thread ? { thread: channel.thread } : {}) };
  };

  /** The thread started from a message: the existing one, or a new one named after the message. */
  const threadOf = async (channelId: string, messageId: string): Promise<string> => {
    const known = threads.get(messageId);
    if (known) return known;
    const starter = (await rest.get(Routes.channelMessage(channelId, messageId))) as APIMessage;
    let threadId = starter.thread?.id;
    if (!threadId) {
      // Named after the message, in whatever language it is written; an image-only one by its file.
      const name = threadNameFrom(starter.content) ?? threadNameFrom(starter.embeds[0]?.title ?? '') ?? starter.attachments[0]?.filename ?? messageId;
      try {
        threadId = ((await rest.post(Routes.threads(channelId, messageId), { body: { name } })) as APIChannel).id;
        log.debug({ channel: channelId, messageId, thread: threadId }, 'started a thread');
      } catch (error) {
        // Someone (or a concurrent reply) started it in the meantime: its id is the message's.
        if (!isApiError(error, THREAD_ALREADY_CREATED)) throw error;
        threadId = messageId;
      }
    }
    threads.set(messageId, threadId);
    return threadId;
  };

  const guildFacts = async (guildId: string): Promise<{ ownerId: string; roles: { id: string; name: string; permissions: bigint }[] }> => {
    const cached = gateway.cachedGuild(guildId);
    if (cached) return cached;
    const guild = (await rest.get(Routes.guild(guildId))) as APIGuild;
    return { ownerId: guild.owner_id, roles: guild.roles.map((r) => ({ id: r.id, name: r.name, permissions: BigInt(r.permissions) })) };
  };

  return {
    post,
    async update(ref, message) {
      if (!ref.message) throw new Error('update needs the ref of a message');
      await rest.patch(Routes.channelMessage(ref.thread ?? ref.channel, ref.message), { body: renderMessage(message) });
    },
    async openThread(ref) {
      if (ref.thread || !ref.message || ref.workspace === '@me') return;
      await threadOf(ref.channel, ref.message);
    },
    async reply(parent, message) {
      if (parent.thread) return post({ ...parent, thread: parent.thread }, message);
      if (!parent.message) throw new Error('reply needs the ref of a message or a thread');
      if (parent.workspace === '@me') {
        // No threads in DMs: answer as a reply to the message instead.
        const created = await send(parent.channel, message, parent.message);
        return { platform: 'discord', workspace: '@me', channel: parent.channel, message: created.id };
      }
      return post({ ...parent, thread: await threadOf(parent.channel, parent.message) }, message);
    },
    async uploadFile(where, file) {
      const { filename } = file;
      await rest.post(Routes.channelMessages(where.thread ?? where.channel), {
        body: {
          ...(file.title ? { content: truncate(file.title, 2000) } : {}),
          attachments: [{ id: 0, filename, ...(file.alt ? { description: truncate(file.alt, ATTACHMENT_DESCRIPTION_MAX) } : {}) }],
          allowed_mentions: { parse: [] },
          nonce: nonce(),
          enforce_nonce: true,
        },
        files: [{ key: 'files[0]', name: filename, data: file.data, contentType: file.mimeType }],
      });
    },
    async notifyUser(user, message) {
      const dm = (await rest.post(Routes.userChannels(), { body: { recipient_id: user.user } })) as APIChannel;
      const created = await send(dm.id, message);
      return { platform: 'discord', workspace: '@me', channel: dm.id, message: created.id };
    },
    async membership(user) {
      if (user.workspace === '@me') return { isAdmin: false, groups: [] };
      let member: APIGuildMember;
      try {
        member = (await rest.get(Routes.guildMember(user.workspace, user.user))) as APIGuildMember;
      } catch (error) {
        if (isApiError(error, UNKNOWN_MEMBER) || isApiError(error, UNKNOWN_USER)) return { isAdmin: false, groups: [] };
        throw error;
      }
      const guild = await guildFacts(user.workspace);
      const roles = guild.roles.filter((r) => member.roles.includes(r.id));
      const everyone = guild.roles.find((r) => r.id === user.workspace);
      const permissions = [...(everyone ? [everyone] : []), ...roles].reduce((bits, r) => bits | r.permissions, 0n);
      const isAdmin = guild.ownerId === user.user || (permissions & (PermissionFlagsBits.Administrator | PermissionFlagsBits.ManageGuild)) !== 0n;
      return { isAdmin, groups: [...member.roles, ...roles.map((r) => r.name)] };
    },
    async groupMembers(workspace, group) {
      if (workspace === '@me') return [];
      const wanted = group.replace(/^@/, '').toLowerCase();
      const role = (await guildFacts(workspace)).roles.find((r) => r.id === group || r.name.toLowerCase() === wanted);
      if (!role) return [];
      // Listing members needs the Server Members intent enabled for the application (not in IDENTIFY).
      const ids: string[] = [];
      let after = '0';
      for (;;) {
        const page = (await rest.get(Routes.guildMembers(workspace), { query: new URLSearchParams({ limit: String(MEMBERS_PAGE), after }) })) as APIGuildMember[];
        for (const member of page) {
          if (!member.user || member.user.bot) continue;
          if (role.id === workspace || member.roles.includes(role.id)) ids.push(member.user.id);
        }
        const last = page.at(-1)?.user?.id;
        if (page.length < MEMBERS_PAGE || !last || BigInt(last) <= BigInt(after)) return [...new Set(ids)];
        after = last;
      }
    },
    async permalink(ref) {
      const where = `https://discord.com/channels/${ref.workspace}/${ref.thread ?? ref.channel}`;
      return ref.message ? `${where}/${ref.message}` : where;
    },
    async fetchMessage(ref) {
      if (!ref.message) return undefined;
      try {
        const m = (await rest.get(Routes.channelMessage(ref.thread ?? ref.channel, ref.message))) as APIMessage;
        const files = m.attachments.map((a) => ({ name: a.filename, url: a.url, ...(a.content_type ? { mimeType: a.content_type } : {}), ...(a.description ? { alt: a.description } : {}) }));
        return { text: stripMentionMarks(m.content), authorId: m.author.id, files };
      } catch (error) {
        if (isApiError(error, UNKNOWN_MESSAGE) || isApiError(error, UNKNOWN_CHANNEL)) return undefined;
        throw error;
      }
    },
    async registerCommands(commands, shortcuts) {
      const body = buildApplicationCommands(commands, shortcuts);
      const id = await appId();
      const route = deps.guildId ? Routes.applicationGuildCommands(id, deps.guildId) : Routes.applicationCommands(id);
      await rest.put(route, { body });
      shortcutIds = new Map(shortcuts.map((s) => [s.name, s.id]));
      log.info({ commands: body.length, shortcuts: shortcuts.length, scope: deps.guildId ? 'guild' : 'global', guildId: deps.guildId }, 'registered application commands');
    },
    shortcutId: (name) => shortcutIds.get(name),
  };
}
