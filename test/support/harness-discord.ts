import { allShortcuts } from '../../commands/shortcuts.ts';
import { createDiscordAdapter, type DiscordAdapterOptions } from '../../src/chat/discord/adapter.ts';
import type { ChatAdapter, ConversationRef, UserRef } from '../../src/chat/port.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { createDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.ts';
import type { ChatHarness, ObservedMessage } from './chat-harness.ts';

type Json = Record<string, unknown>;

const EPHEMERAL = 64;
const LOADING = 128;
const buttonStyles: Record<number, string> = { 1: 'primary', 4: 'danger' };

export interface DiscordHarness extends ChatHarness {
  readonly emulator: DiscordEmulator;
  /** Environment that points a whole Herald (startTestHerald) at this emulator. */
  heraldEnv(): Record<string, string>;
  /** How a person mentions someone in a message on Discord. */
  mention(user: UserRef): string;
}

export interface DiscordHarnessOptions {
  log?: Logger;
  /** Overrides for the adapter the harness builds (deferAfterMs, loginBackoff, metrics, guildId…). */
  adapter?: Partial<Omit<DiscordAdapterOptions, 'token' | 'apiUrl' | 'log'>>;
}

/**
 * The Discord emulator driven as people would, with Herald's Discord adapter built over it.
 * admin = alice (guild owner), approver = bob (role Approvers), member = dave (no role).
 */
export async function createDiscordHarness(options: DiscordHarnessOptions = {}): Promise<DiscordHarness> {
  const emulator = await createDiscordEmulator();
  const guild = emulator.ids.guildId;
  const dave = emulator.addUser({ username: 'dave', globalName: 'Dave' });
  emulator.addMember({ user: dave.id, roles: [] });
  const user = (id: string): UserRef => ({ platform: 'discord', workspace: guild, user: id });
  const channel: ConversationRef = { platform: 'discord', workspace: guild, channel: emulator.ids.channels.approvals };

  const real = createDiscordAdapter({
    token: emulator.botToken,
    apiUrl: emulator.apiUrl,
    guildId: guild,
    log: options.log ?? createLogger({ level: 'silent', format: 'json' }),
    ...options.adapter,
  });
  // Discord matches context-menu commands by name; people pick them by what the menu shows.
  const shortcutNames = new Map(allShortcuts.map((s) => [s.id, s.name]));
  const adapter: ChatAdapter = {
    ...real,
    registerCommands: async (commands, shortcuts) => {
      for (const s of shortcuts) shortcutNames.set(s.id, s.name);
      await real.registerCommands(commands, shortcuts);
    },
  };

  const submitted = new Set<string>();
  const interactions = () => Object.values(emulator.state.interactions).sort((a, b) => a.created_at - b.created_at);
  const openModal = (u: UserRef) => interactions().filter((i) => i.user_id === u.user && i.modal && !submitted.has(i.id)).at(-1);
  const channelOf = (ref: ConversationRef): string => ref.thread ?? ref.channel;
  const messageOf = (ref: ConversationRef): string => {
    if (!ref.message) throw new Error(`discord harness: ${JSON.stringify(ref)} names no message`);
    return ref.message;
  };

  const waitFor = <T>(check: () => T | undefined | null | false, timeoutMs = 8_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const tick = (): void => {
        try {
          const value = check();
          if (value) {
            cleanup();
            resolve(value);
          }
        } catch (error) {
          cleanup();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      };
      // Some checks read state the adapter's handlers set after an emulator change, so poll too.
      const interval = setInterval(tick, 20);
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`discord harness: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearInterval(interval);
        clearTimeout(timer);
        emulator.events.off('change', tick);
      };
      emulator.events.on('change', tick);
      tick();
    });

  /** Herald registers its commands after connecting: wait for them as a person would. */
  const registered = (name: string, type: number): Promise<true> =>
    waitFor(() => [...emulator.state.commands.global, ...(emulator.state.commands.guild[guild] ?? [])].some((c) => c.name === name && c.type === type) || undefined, 10_000)
      .catch(() => {
        throw new Error(`discord harness: command "${name}" (type ${type}) was never registered`);
      });

  const observe = (m: Json, ref: ConversationRef): ObservedMessage => {
    const embeds = (m.embeds ?? []) as { title?: string; description?: string; fields?: { name: string; value: string }[]; footer?: { text: string } }[];
    const text = [
      m.content as string,
      ...embeds.flatMap((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value]), e.footer?.text]),
    ].filter((t): t is string => typeof t === 'string' && t.length > 0).join('\n');
    const leaves = ((m.components ?? []) as { components?: Json[] }[]).flatMap((row) => row.components ?? []);
    return {
      ref,
      text,
      buttons: leaves.filter((c) => c.type === 2 && typeof c.custom_id === 'string').map((c) => ({
        label: c.label as string, actionId: c.custom_id as string, ...(buttonStyles[c.style as number] ? { style: buttonStyles[c.style as number] } : {}),
      })),
      selects: leaves.filter((c) => c.type === 3).map((c) => ({ actionId: c.custom_id as string, values: ((c.options ?? []) as { value: string }[]).map((o) => o.value) })),
      images: ((m.attachments ?? []) as { id: string; description?: string; size: number; filename: string }[]).map((a) => {
        const data = emulator.attachmentData(a.id);
        return { alt: a.description ?? '', bytes: a.size, filename: a.filename, ...(data ? { data } : {}) };
      }),
      edited: m.edited_timestamp !== null && m.edited_timestamp !== undefined,
      pinged: [...((m.mentions ?? []) as { id: string }[]).map((u) => u.id), ...((m.mention_roles ?? []) as string[]), ...(m.mention_everyone ? ['everyone'] : [])],
    };
  };
  const inChannel = (ref: ConversationRef): ObservedMessage[] =>
    emulator.messages(channelOf(ref)).map((m) => observe(m, { platform: 'discord', workspace: ref.workspace, channel: ref.channel, message: m.id as string, ...(ref.thread ? { thread: ref.thread } : {}) }));
  const threadIdOf = (parent: ConversationRef): string | undefined => parent.thread ?? (parent.message ? (emulator.threadOf(parent.message)?.id as string | undefined) : undefined);

  return {
    platform: 'discord',
    emulator,
    adapter,
    channel,
    users: { admin: user(emulator.ids.users.alice), member: user(dave.id), approver: user(emulator.ids.users.bob) },
    approverGroup: 'Approvers',

    async runCommand(u, command, commandOptions = {}) {
      const [name, subcommand] = command.trim().split(/\s+/);
      await registered(name!, 1);
      emulator.userRunsCommand({ user: u.user, channel: channelOf(channel), name: name!, ...(subcommand ? { subcommand } : {}), options: commandOptions });
    },
    async clickButton(u, message, actionId) {
      emulator.userClicksButton({ user: u.user, channel: channelOf(message), messageId: messageOf(message), customId: actionId });
    },
    async clickStaleButton(u, message, actionId) {
      emulator.userClicksButton({ user: u.user, channel: channelOf(message), messageId: messageOf(message), customId: actionId, stale: true });
    },
    async selectOption(u, message, actionId, value) {
      emulator.userSelects({ user: u.user, channel: channelOf(message), messageId: messageOf(message), customId: actionId, values: [value] });
    },
    async submitOpenForm(u, values) {
      const origin = openModal(u);
      if (!origin) throw new Error(`discord harness: no form is open for ${u.user}`);
      submitted.add(origin.id);
      emulator.userSubmitsModal({ user: u.user, interactionId: origin.id, values });
    },
    openFormErrors: () => undefined,
    openFormTitle: (u) => openModal(u)?.modal?.title as string | undefined,
    async postMessage(u, where, text, images = []) {
      const attachments = images.map((image) => ({ filename: image.name, data: image.png, contentType: 'image/png', description: image.alt }));
      const posted = emulator.userPostsMessage({ user: u.user, channel: channelOf(where), content: text, ...(attachments.length ? { attachments } : {}) });
      return { ...where, message: posted.id };
    },
    async mentionBot(u, where, text) {
      const posted = emulator.userPostsMessage({ user: u.user, channel: channelOf(where), content: text, mentionsBot: true });
      return { ...where, message: posted.id };
    },
    async replyInThread(u, parent, text) {
      // Like a person, wait a moment for a thread Herald is still starting under its message.
      let thread = threadIdOf(parent);
      for (const deadline = Date.now() + 5_000; !thread && Date.now() < deadline; thread = threadIdOf(parent)) await new Promise((resolve) => setTimeout(resolve, 50));
      if (!thread) throw new Error(`discord harness: message ${parent.message} has no thread to reply in`);
      const posted = emulator.userRepliesInThread({ user: u.user, thread, content: text });
      return { platform: 'discord', workspace: parent.workspace, channel: parent.channel, message: posted.id, thread };
    },
    async react(u, message, emoji) {
      emulator.userReacts({ user: u.user, channel: channelOf(message), messageId: messageOf(message), emoji });
    },
    async useShortcut(u, message, shortcutId) {
      const name = shortcutNames.get(shortcutId);
      if (!name) throw new Error(`discord harness: unknown shortcut ${shortcutId}`);
      await registered(name, 3);
      emulator.userRunsMessageCommand({ user: u.user, channel: channelOf(message), messageId: messageOf(message), name });
    },
    async sendRawInteraction(payload) {
      emulator.dispatch('INTERACTION_CREATE', payload as Json);
    },

    messagesIn: inChannel,
    threadOf(parent) {
      const thread = threadIdOf(parent);
      return thread ? inChannel({ ...parent, thread }) : [];
    },
    ephemeralsFor(u) {
      return interactions().filter((i) => i.user_id === u.user).flatMap((i) => {
        const view = emulator.interactionResponse(i.id);
        const shown = [view?.original, ...(view?.followups ?? [])].filter((m): m is Json => !!m && ((m.flags as number) & EPHEMERAL) !== 0 && ((m.flags as number) & LOADING) === 0);
        return shown.map((m) => observe(m, { platform: 'discord', workspace: i.guild_id ?? '@me', channel: i.channel_id, message: m.id as string }));
      });
    },
    dmsTo(u) {
      const dm = emulator.dmChannelOf(u.user);
      return dm ? emulator.messages(dm.id as string).map((m) => observe(m, { platform: 'discord', workspace: '@me', channel: dm.id as string, message: m.id as string })) : [];
    },
    waitFor,

    rateLimitPosts(retryAfterSeconds, times = 1) {
      emulator.rateLimit('POST /channels/:id/messages', { retryAfterSeconds, times });
    },
    rateLimitHits: () => emulator.rateLimitedCount,
    heraldEnv: () => ({ DISCORD_TOKEN: emulator.botToken, DISCORD_API_URL: emulator.apiUrl, DISCORD_GUILD_ID: guild }),
    mention: (u) => `<@${u.user}>`,
    close: () => emulator.close(),
  };
}
