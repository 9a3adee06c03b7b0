/**
 * Herald on Discord: gateway dispatches → neutral events, neutral messages → REST.
 * The only place (with its siblings) that imports discord.js.
 */
import { randomBytes } from 'node:crypto';
import { Routes } from 'discord.js';
import { download } from '../download.ts';
import type { APIChannel } from 'discord.js';
import { translator } from '../../i18n/catalogue.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../metrics.ts';
import type { Form } from '../model.ts';
import type { ChatAdapter, FormResult, InboundEvent, InboundHandler, Responder } from '../port.ts';
import type { ChannelInfo, ParsedInteraction } from './events.ts';
import { ignoreReason, InteractionKind, messageEvent, parseGatewayMessage, parseInteraction, parseReaction, reactionEvent } from './events.ts';
import { createGateway } from './gateway.ts';
import type { Backoff, GatewayPacket } from './gateway.ts';
import { createInteractionSession, describeError } from './interaction.ts';
import type { InteractionFlavour } from './interaction.ts';
import { BoundedMap, createOutgoing } from './outgoing.ts';
import { createRestClient } from './rest.ts';

export interface DiscordAdapterOptions {
  /** The bot token (DISCORD_TOKEN). Never logged. */
  token: string;
  /** REST base URL (DISCORD_API_URL), e.g. an emulator's; the gateway URL comes from /gateway/bot. */
  apiUrl?: string;
  /** Register commands in this guild (instant); globally when absent (up to an hour to appear). */
  guildId?: string;
  log: Logger;
  /** Observes herald_event_handling_seconds{platform="discord", kind=<event type>}. */
  metrics?: Metrics;
  /** How long a handler may run before its interaction is deferred; Discord allows 3 s. Default 2000. */
  deferAfterMs?: number;
  /** Gateway login retries while Discord is unreachable. Default 1 s doubling to 60 s, ±20 %. */
  loginBackoff?: Backoff;
}

const FORM_MEMORY = 1_000;
const CHANNEL_MEMORY = 5_000;

export function createDiscordAdapter(options: DiscordAdapterOptions): ChatAdapter {
  const log = 'platform' in options.log.bindings() ? options.log : options.log.child({ platform: 'discord' });
  const deferAfterMs = options.deferAfterMs ?? 2_000;
  const restClient = createRestClient({ token: options.token, ...(options.apiUrl ? { apiUrl: options.apiUrl } : {}) });
  const { rest } = restClient;
  const gateway = createGateway({
    token: options.token,
    rest: () => restClient.options(),
    log,
    backoff: options.loginBackoff ?? { initialMs: 1_000, maxMs: 60_000 },
  });
  const outgoing = createOutgoing({ rest, gateway, log, ...(options.guildId ? { guildId: options.guildId } : {}) });
  /** Field labels of the forms Herald opened, to name fields in error messages (Discord sends ids only). */
  const formLabels = new BoundedMap<string, Record<string, string>>(FORM_MEMORY);
  /** Channel types and thread parents never change; REST look-ups are remembered. */
  const channels = new BoundedMap<string, ChannelInfo>(CHANNEL_MEMORY);
  let handler: InboundHandler | undefined;

  const observe = (kind: string, started: number): void => {
    options.metrics?.eventLatency.observe({ platform: 'discord', kind }, (performance.now() - started) / 1_000);
  };

  /** Runs the handler; an escaping error is logged (and, for interactions, answered) instead of thrown. */
  const run = async (event: InboundEvent, eventLog: Logger): Promise<FormResult | void> => {
    if (!handler) return undefined;
    try {
      return await handler(event);
    } catch (error) {
      const reference = randomBytes(4).toString('hex');
      eventLog.error({ err: describeError(error), type: event.type, reference }, 'event handler failed');
      if ('respond' in event) {
        await event.respond.ephemeral({ text: translator(event.actor.locale)('chat.internalError', { reference }) }).catch(() => undefined);
      }
      return undefined;
    }
  };

  const channelInfo = async (channelId: string, guildId: string | undefined): Promise<ChannelInfo | undefined> => {
    if (!guildId) return { type: 1 };
    const known = gateway.cachedChannel(channelId) ?? channels.get(channelId);
    if (known) return known;
    try {
      const channel = (await rest.get(Routes.channel(channelId))) as APIChannel;
      const info = { type: channel.type, parentId: 'parent_id' in channel ? (channel.parent_id ?? null) : null };
      channels.set(channelId, info);
      return info;
    } catch (error) {
      log.warn({ channel: channelId, err: describeError(error) }, 'could not look up a channel; treating it as a plain channel');
      return undefined;
    }
  };

  const toEvent = (i: ParsedInteraction, respond: Responder): InboundEvent | string => {
    const base = { platform: 'discord' as const, actor: i.actor };
    const body = i.body;
    switch (body.kind) {
      case 'command':
        return i.channel ? { ...base, type: 'command', command: body.command, options: body.options, channel: i.channel, respond } : 'command outside a channel';
      case 'shortcut': {
        const shortcut = outgoing.shortcutId(body.name);
        if (!shortcut) log.warn({ interactionId: i.id, name: body.name }, 'message command not among the registered shortcuts');
        return { ...base, type: 'shortcut', shortcut: shortcut ?? body.name, message: body.target, text: body.text, files: body.files, respond };
      }
      case 'component':
        if (!i.channel || !i.message) return 'component without its message';
        return { ...base, type: 'action', actionId: body.customId, ...(body.value !== undefined ? { value: body.value } : {}), channel: i.channel, message: i.message, respond };
      case 'modal':
        return { ...base, type: 'form', formId: body.customId, values: body.values, respond };
      case 'autocomplete':
        return 'autocomplete (Herald declares no autocomplete options)';
      case 'unsupported':
        return body.reason;
    }
  };

  const flavourOf = (i: ParsedInteraction): InteractionFlavour =>
    i.type === InteractionKind.ApplicationCommand ? 'command' : i.type === InteractionKind.Component ? 'component' : i.type === InteractionKind.ModalSubmit ? 'modal' : 'other';

  const onInteraction = async (raw: unknown): Promise<void> => {
    const started = performance.now();
    const parsed = parseInteraction(raw);
    if (!parsed.ok) {
      log.warn({ interactionId: parsed.id, issues: parsed.issues.slice(0, 5) }, 'malformed interaction ignored');
      return;
    }
    const i = parsed.interaction;
    if (i.type === InteractionKind.Ping) return;
    const ilog = log.child({ interactionId: i.id, user: i.actor.ref.user, channel: i.channel?.thread ?? i.channel?.channel });
    const session = createInteractionSession({ rest, interaction: i, flavour: flavourOf(i), log: ilog });
    const respond: Responder = {
      ephemeral: session.respond.ephemeral,
      openForm: (form: Form) => {
        formLabels.set(form.id, Object.fromEntries(form.fields.map((f) => [f.id, f.label])));
        return session.respond.openForm(form);
      },
    };
    const event = toEvent(i, respond);
    if (typeof event === 'string') {
      ilog.warn({ interactionType: i.type, reason: event }, 'interaction not recognised');
      await session.notRecognised();
      return;
    }
    ilog.debug({ type: event.type }, 'interaction received');
    const timer = setTimeout(() => void session.deferIfSilent(), deferAfterMs);
    let result: FormResult | void;
    try {
      result = await run(event, ilog);
    } finally {
      clearTimeout(timer);
    }
    await session.finish(result, event.type === 'form' ? formLabels.get(event.formId) : undefined);
    observe(event.type, started);
    ilog.debug({ type: event.type, ack: session.state(), ms: Math.round(performance.now() - started) }, 'interaction handled');
  };

  const onMessage = async (raw: unknown): Promise<void> => {
    const started = performance.now();
    const parsed = parseGatewayMessage(raw);
    if (!parsed.ok) {
      log.warn({ issues: parsed.issues.slice(0, 5) }, 'malformed message dispatch ignored');
      return;
    }
    const m = parsed.message;
    const botUserId = gateway.botUserId();
    const ignored = ignoreReason(m, botUserId);
    if (ignored) {
      log.trace({ channel: m.channel_id, messageId: m.id, reason: ignored }, 'message ignored');
      return;
    }
    const event = { platform: 'discord' as const, ...messageEvent(m, await channelInfo(m.channel_id, m.guild_id), botUserId) };
    const eventLog = log.child({ channel: m.channel_id, user: m.author.id, messageId: m.id });
    eventLog.debug({ type: event.type }, 'message received');
    await run(event, eventLog);
    observe(event.type, started);
  };

  const onReaction = async (raw: unknown): Promise<void> => {
    const started = performance.now();
    const parsed = parseReaction(raw);
    if (!parsed.ok) {
      log.warn({ issues: parsed.issues.slice(0, 5) }, 'malformed reaction dispatch ignored');
      return;
    }
    const r = parsed.reaction;
    if (r.user_id === gateway.botUserId() || r.member?.user?.bot) return;
    const event = { platform: 'discord' as const, ...reactionEvent(r, await channelInfo(r.channel_id, r.guild_id)) };
    const eventLog = log.child({ channel: r.channel_id, user: r.user_id, messageId: r.message_id });
    eventLog.debug({ emoji: event.emoji }, 'reaction received');
    await run(event, eventLog);
    observe(event.type, started);
  };

  const onPacket = (packet: GatewayPacket): void => {
    const work =
      packet.t === 'INTERACTION_CREATE' ? onInteraction(packet.d)
        : packet.t === 'MESSAGE_CREATE' ? onMessage(packet.d)
          : packet.t === 'MESSAGE_REACTION_ADD' ? onReaction(packet.d)
            : undefined;
    work?.catch((error: unknown) => log.error({ err: describeError(error), event: packet.t }, 'gateway event handling failed'));
  };

  return {
    platform: 'discord',
    async start(h) {
      handler = h;
      await gateway.start(onPacket);
    },
    async stop() {
      await gateway.stop();
      handler = undefined;
      await restClient.close();
    },
    isReady: () => gateway.isReady(),
    registerCommands: (commands, shortcuts) => outgoing.registerCommands(commands, shortcuts),
    post: (channel, message) => outgoing.post(channel, message),
    update: (ref, message) => outgoing.update(ref, message),
    reply: (parent, message) => outgoing.reply(parent, message),
    openThread: (ref) => outgoing.openThread(ref),
    uploadFile: (where, file) => outgoing.uploadFile(where, file),
    notifyUser: (user, message) => outgoing.notifyUser(user, message),
    membership: (user) => outgoing.membership(user),
    groupMembers: (workspace, group) => outgoing.groupMembers(workspace, group),
    permalink: (ref) => outgoing.permalink(ref),
    fetchMessage: (ref) => outgoing.fetchMessage(ref),
    // Attachment URLs are public CDN links; only Discord's own hosts are fetched.
    downloadFile: (url) => download(url, { allowedHosts: ['discordapp.com', 'discordapp.net', 'discord.com', ...(options.apiUrl ? [new URL(options.apiUrl).host] : [])] }),
  };
}
