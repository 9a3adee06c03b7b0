/**
 * The gateway connection: a fresh discord.js Client per connection (a second login on one Client
 * leaks its socket), retried with backoff while Discord is unreachable, with only the intents Herald
 * needs. Herald reads the raw dispatches (validated in events.ts); discord.js keeps the socket alive
 * (heartbeats, resume, reconnect) and the channel and guild caches.
 */
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, Options, Partials } from 'discord.js';
import type { RESTOptions } from 'discord.js';
import type { Logger } from '../../log.ts';
import type { ChannelInfo } from './events.ts';
import { describeError } from './interaction.ts';

/**
 * Guilds (channels, threads, roles in cache), GuildMessages + MessageContent (messages and their
 * text), GuildMessageReactions, DirectMessages. Not GuildMembers: membership is a REST fetch of the
 * one member asked about.
 */
export const HERALD_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.GuildMessageReactions,
  GatewayIntentBits.DirectMessages,
] as const;

/** Close codes after which a new login cannot help (bad token, bad intents or shard). */
const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface GatewayPacket {
  t: string | null;
  d: unknown;
}

export interface Gateway {
  /**
   * Resolves once connected, retrying with backoff while Discord is unreachable (isReady() stays
   * false meanwhile); rejects when the token is refused or stop() comes first.
   */
  start(onPacket: (packet: GatewayPacket) => void): Promise<void>;
  stop(): Promise<void>;
  isReady(): boolean;
  botUserId(): string | undefined;
  /** From the gateway cache; undefined when the channel is not cached. */
  cachedChannel(id: string): ChannelInfo | undefined;
  /** Owner and roles (id, name, permissions) from the gateway cache. */
  cachedGuild(id: string): { ownerId: string; roles: { id: string; name: string; permissions: bigint }[] } | undefined;
}

export function createGateway(options: {
  token: string;
  /** Read for every new Client: the adapter renews its agent after stop(). */
  rest: () => Partial<RESTOptions>;
  log: Logger;
  backoff: Backoff;
  readyTimeoutMs?: number;
}): Gateway {
  const { token, log, backoff } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  let client: Client | undefined;
  let connecting: Client | undefined;
  let ready = false;
  let stopped = true;
  let attempt = 0;
  let wake: (() => void) | undefined;
  let onPacket: (packet: GatewayPacket) => void = () => {};

  const newClient = (): Client => {
    const c = new Client({
      intents: [...HERALD_INTENTS],
      // Dispatches for DMs and for reactions on messages discord.js never cached still arrive whole.
      partials: [Partials.Channel, Partials.Message, Partials.Reaction],
      rest: options.rest(),
      // Herald reads raw dispatches; a message cache would only hold memory.
      makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
    });
    guardPackets(c, log);
    c.on(Events.Error, (error) => log.error({ err: describeError(error) }, 'discord client error'));
    c.on(Events.ShardError, (error, shardId) => log.warn({ err: describeError(error), shardId }, 'gateway connection error'));
    c.on(Events.Raw, (packet: GatewayPacket) => {
      if (c !== client && c !== connecting) return;
      try {
        onPacket(packet);
      } catch (error) {
        log.warn({ err: describeError(error), event: packet.t }, 'gateway dispatch handling failed');
      }
    });
    c.on(Events.ShardReconnecting, (shardId) => {
      if (c !== client) return;
      ready = false;
      log.warn({ shardId }, 'gateway reconnecting');
    });
    c.on(Events.ShardResume, (shardId) => {
      if (c !== client) return;
      ready = true;
      log.info({ shardId }, 'gateway resumed');
    });
    c.on(Events.ShardReady, () => {
      if (c === client) ready = true;
    });
    c.on(Events.ShardDisconnect, (event, shardId) => {
      if (c !== client || stopped) return;
      ready = false;
      const fatal = FATAL_CLOSE_CODES.has(event.code);
      log.error({ shardId, code: event.code, fatal }, 'gateway closed for good');
      client = undefined;
      void c.destroy().catch(() => undefined);
      if (!fatal) reconnect();
    });
    return c;
  };

  /** One login on a fresh Client: 'connected', 'retry' (worth another try) or 'fatal' (bad token). */
  const connectOnce = async (): Promise<'connected' | 'retry' | 'fatal'> => {
    const c = newClient();
    connecting = c;
    const abort = new AbortController();
    const readyEvent = once(c, Events.ClientReady, { signal: abort.signal });
    readyEvent.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    try {
      await c.login(token);
      await Promise.race([
        readyEvent,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no READY within ${readyTimeoutMs} ms`)), readyTimeoutMs);
        }),
      ]);
      if (stopped) throw new Error('stopped while connecting');
      client = c;
      ready = true;
      attempt = 0;
      log.info({ botUserId: c.user?.id, guilds: c.guilds.cache.size }, 'connected to the Discord gateway');
      return 'connected';
    } catch (error) {
      abort.abort();
      await c.destroy().catch(() => undefined);
      if (stopped) return 'retry';
      const fatal = (error as { code?: unknown }).code === 'TokenInvalid';
      log[fatal ? 'error' : 'warn']({ err: describeError(error), attempt, fatal }, fatal ? 'Discord refused the token: check DISCORD_TOKEN' : 'could not connect to the Discord gateway');
      return fatal ? 'fatal' : 'retry';
    } finally {
      clearTimeout(timer);
      if (connecting === c) connecting = undefined;
    }
  };

  /** Waits out the backoff; stop() cuts the wait short. */
  const pause = (): Promise<void> => {
    const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    attempt++;
    log.info({ attempt, delayMs: delay }, 'retrying the Discord gateway');
    return new Promise((resolve) => {
      const timer = setTimeout(done, delay);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  };

  /** Logs in, retrying with backoff until connected; rejects on a refused token or stop(). */
  const connect = async (): Promise<void> => {
    for (;;) {
      const outcome = await connectOnce();
      if (outcome === 'connected') return;
      if (outcome === 'fatal') throw new Error('Discord refused the bot token (DISCORD_TOKEN)');
      if (stopped) throw new Error('the Discord adapter was stopped before the gateway connected');
      await pause();
      if (stopped) throw new Error('the Discord adapter was stopped before the gateway connected');
    }
  };

  function reconnect(): void {
    connect().catch((error: unknown) => {
      if (!stopped) log.error({ err: describeError(error) }, 'gave up reconnecting to the Discord gateway');
    });
  }

  return {
    async start(handler) {
      if (!stopped) throw new Error('the Discord gateway is already started');
      stopped = false;
      attempt = 0;
      onPacket = handler;
      await connect();
    },
    async stop() {
      stopped = true;
      ready = false;
      wake?.();
      const clients = [client, connecting].filter((c): c is Client => c !== undefined);
      client = undefined;
      connecting = undefined;
      await Promise.all(clients.map((c) => c.destroy().catch(() => undefined)));
    },
    isReady: () => ready && client !== undefined,
    botUserId: () => client?.user?.id,
    cachedChannel(id) {
      const channel = client?.channels.cache.get(id);
      if (!channel) return undefined;
      return { type: channel.type, parentId: 'parentId' in channel ? channel.parentId : null };
    },
    cachedGuild(id) {
      const guild = client?.guilds.cache.get(id);
      if (!guild) return undefined;
      return { ownerId: guild.ownerId, roles: guild.roles.cache.map((r) => ({ id: r.id, name: r.name, permissions: r.permissions.bitfield })) };
    },
  };
}

/**
 * discord.js turns a dispatch it cannot read (say INTERACTION_CREATE with `data: null`) into an
 * unhandled rejection inside its socket handler. Herald validates raw dispatches itself, so a packet
 * discord.js chokes on is logged and skipped. handlePacket is private in the typings (checked
 * against discord.js 14.28; the malformed-payload test fails if it moves).
 */
function guardPackets(client: Client, log: Logger): void {
  const manager = client.ws as unknown as { handlePacket(packet?: { t?: unknown }, shard?: unknown): boolean };
  const original = manager.handlePacket.bind(manager);
  manager.handlePacket = (packet, shard) => {
    try {
      return original(packet, shard);
    } catch (error) {
      log.warn({ event: typeof packet?.t === 'string' ? packet.t : undefined, err: describeError(error) }, 'discord.js could not process a gateway dispatch; skipped');
      return true;
    }
  };
}
