/** Gateway v10 over `ws`: JSON encoding, no compression. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { apiGuild, apiMember, apiUser } from './render.ts';
import type { DiscordStore } from './store.ts';

export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  MessageContent: 1 << 15,
} as const;

type Payload = { op: number; d: unknown; s?: number | null; t?: string | null };

interface Session {
  id: string;
  intents: number;
  seq: number;
  buffer: Payload[];
  socket: WebSocket | null;
}

export interface GatewayOptions {
  token: string;
  heartbeatIntervalMs: number;
  url: () => string;
  log?: (msg: string, data?: object) => void;
}

export class Gateway {
  readonly sessions = new Map<string, Session>();
  available = true;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #store: DiscordStore;
  readonly #options: GatewayOptions;

  constructor(store: DiscordStore, options: GatewayOptions) {
    this.#store = store;
    this.#options = options;
    this.#wss.on('connection', (ws) => this.#onConnection(ws));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.available || url.pathname.replace(/\/$/, '') !== '/gateway') {
      socket.end(`HTTP/1.1 ${this.available ? '404 Not Found' : '503 Service Unavailable'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const v = url.searchParams.get('v');
      const encoding = url.searchParams.get('encoding');
      if (v !== null && v !== '10') return ws.close(4012, 'Invalid API version.');
      if (encoding !== null && encoding !== 'json') return ws.close(4002, 'Error while decoding payload.');
      this.#wss.emit('connection', ws, req);
    });
  }

  /** Sends a dispatch to every identified session whose intents cover it. */
  dispatch(event: string, data: Record<string, unknown>): void {
    for (const session of this.sessions.values()) {
      if (!session.socket || !wants(session.intents, event, data)) continue;
      this.#send(session, event, this.#visible(session, event, data));
    }
  }

  /** Closes every connection with the given code (4000 lets discord.js resume, 1000 makes it re-identify). */
  dropConnections(code = 4000, reason = 'Emulator dropped the connection'): void {
    for (const ws of this.#wss.clients) ws.close(code, reason);
  }

  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #send(session: Session, event: string, d: unknown): void {
    const payload: Payload = { op: 0, d, s: ++session.seq, t: event };
    session.buffer.push(payload);
    if (session.buffer.length > 200) session.buffer.shift();
    session.socket?.send(JSON.stringify(payload));
  }

  /** Without MESSAGE_CONTENT, guild messages lose content unless the bot wrote them or is mentioned. */
  #visible(session: Session, event: string, data: Record<string, unknown>): unknown {
    if ((event !== 'MESSAGE_CREATE' && event !== 'MESSAGE_UPDATE') || (session.intents & Intent.MessageContent) !== 0) return data;
    const botId = this.#store.state.bot_user_id;
    const author = data.author as { id?: string } | undefined;
    const mentioned = (data.mentions as { id: string }[] | undefined)?.some((m) => m.id === botId);
    if (!data.guild_id || author?.id === botId || mentioned) return data;
    return { ...data, content: '', embeds: [], attachments: [], components: [] };
  }

  #onConnection(ws: WebSocket): void {
    let session: Session | null = null;
    const raw = (payload: Payload): void => ws.send(JSON.stringify(payload));
    raw({ op: 10, d: { heartbeat_interval: this.#options.heartbeatIntervalMs }, s: null, t: null });
    ws.on('close', () => {
      if (session && session.socket === ws) session.socket = null;
    });
    ws.on('message', (buffer) => {
      let payload: Payload;
      try {
        payload = JSON.parse(String(buffer)) as Payload;
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      this.#options.log?.('gateway <-', { op: payload.op });
      switch (payload.op) {
        case 1:
          raw({ op: 11, d: null });
          return;
        case 2: {
          const d = payload.d as { token?: string; intents?: number; shard?: [number, number]; properties?: unknown };
          if (session) return ws.close(4005, 'Already authenticated.');
          if (d.token !== this.#options.token) return ws.close(4004, 'Authentication failed.');
          if (typeof d.intents !== 'number') return ws.close(4013, 'Invalid intent(s).');
          session = { id: randomBytes(16).toString('hex'), intents: d.intents, seq: 0, buffer: [], socket: ws };
          this.sessions.set(session.id, session);
          this.#store.state.identifies.push({ session_id: session.id, intents: d.intents, ...(d.shard ? { shard: d.shard } : {}), properties: d.properties, at: Date.now() });
          this.#store.changed();
          this.#ready(session, d.shard);
          return;
        }
        case 6: {
          const d = payload.d as { token?: string; session_id?: string; seq?: number };
          const known = d.session_id ? this.sessions.get(d.session_id) : undefined;
          if (d.token !== this.#options.token) return ws.close(4004, 'Authentication failed.');
          if (!known || (known.socket && known.socket !== ws && known.socket.readyState === known.socket.OPEN)) {
            raw({ op: 9, d: false });
            return;
          }
          session = known;
          session.socket = ws;
          for (const missed of session.buffer.filter((p) => (p.s ?? 0) > (d.seq ?? 0))) ws.send(JSON.stringify(missed));
          this.#send(session, 'RESUMED', { _trace: ['discord-emulator'] });
          return;
        }
        case 8: {
          if (!session) return ws.close(4003, 'Not authenticated.');
          const d = payload.d as { guild_id: string; nonce?: string; user_ids?: string | string[] };
          const all = Object.keys(this.#store.state.members[d.guild_id] ?? {});
          const wanted = d.user_ids === undefined ? all : ([] as string[]).concat(d.user_ids);
          const members = wanted.filter((id) => all.includes(id)).map((id) => apiMember(this.#store.state, d.guild_id, id));
          this.#send(session, 'GUILD_MEMBERS_CHUNK', {
            guild_id: d.guild_id, members, chunk_index: 0, chunk_count: 1, not_found: wanted.filter((id) => !all.includes(id)), ...(d.nonce ? { nonce: d.nonce } : {}),
          });
          return;
        }
        case 3:
        case 4:
          if (!session) ws.close(4003, 'Not authenticated.');
          return;
        default:
          ws.close(4001, 'Unknown opcode.');
      }
    });
  }

  #ready(session: Session, shard?: [number, number]): void {
    const state = this.#store.state;
    const guildIds = Object.keys(state.guilds);
    this.#send(session, 'READY', {
      v: 10,
      user: { ...apiUser(state, state.bot_user_id), verified: true, mfa_enabled: false, email: null },
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.#options.url(),
      ...(shard ? { shard } : {}),
      application: { id: state.application_id, flags: (1 << 15) | (1 << 19) },
      private_channels: [],
      presences: [],
      relationships: [],
      user_settings: {},
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      auth: {},
      _trace: ['discord-emulator'],
    });
    for (const id of guildIds) this.#send(session, 'GUILD_CREATE', apiGuild(state, id, true));
  }
}

function wants(intents: number, event: string, data: Record<string, unknown>): boolean {
  const inGuild = typeof data.guild_id === 'string';
  if (event.startsWith('MESSAGE_REACTION_')) return (intents & (inGuild ? Intent.GuildMessageReactions : Intent.DirectMessageReactions)) !== 0;
  if (event.startsWith('MESSAGE_')) return (intents & (inGuild ? Intent.GuildMessages : Intent.DirectMessages)) !== 0;
  if (event.startsWith('GUILD_MEMBER_')) return (intents & Intent.GuildMembers) !== 0;
  if (event.startsWith('CHANNEL_') || event.startsWith('THREAD_') || event.startsWith('GUILD_')) return (intents & Intent.Guilds) !== 0;
  return true;
}
