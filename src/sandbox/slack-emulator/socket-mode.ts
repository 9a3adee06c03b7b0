import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import type { LogFn } from './types.ts';

export interface SocketAck {
  delivered: boolean;
  acked: boolean;
  payload?: unknown;
  latencyMs?: number;
  error?: string;
}

interface Pending {
  resolve: (ack: SocketAck) => void;
  sentAt: number;
  timer: NodeJS.Timeout;
}

/**
 * The Socket Mode side: apps.connections.open hands out single-use ticket URLs; connections get a
 * `hello`; envelopes are sent round-robin over open connections and resolved by `{envelope_id, payload}` acks.
 */
export class SocketModeHub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets: WebSocket[] = [];
  private readonly tickets = new Set<string>();
  private readonly pending = new Map<string, Pending>();
  private readonly waiters = new Set<() => void>();
  private readonly appId: string;
  private readonly log: LogFn;
  private next = 0;
  private closed = false;

  constructor(appId: string, log: LogFn) {
    this.appId = appId;
    this.log = log;
  }

  get connectionCount(): number {
    return this.sockets.length;
  }

  /** A fresh ws:// URL for apps.connections.open. */
  issueUrl(baseUrl: string): string {
    const ticket = randomBytes(16).toString('hex');
    this.tickets.add(ticket);
    return `${baseUrl.replace(/^http/, 'ws')}link/?ticket=${ticket}&app_id=${this.appId}`;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://local');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (this.closed || url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.push(ws);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', () => {
      const i = this.sockets.indexOf(ws);
      if (i >= 0) this.sockets.splice(i, 1);
    });
    ws.on('error', (err) => this.log('slack emulator: socket error', { err: String(err) }));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.length,
        debug_info: { host: 'applink-emulator', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    for (const w of [...this.waiters]) w();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const at = performance.now();
    if (isBinary) return;
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return;
    }
    const id = typeof msg === 'object' && msg !== null ? (msg as { envelope_id?: unknown }).envelope_id : undefined;
    const pending = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!pending || typeof id !== 'string') return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve({ delivered: true, acked: true, payload: (msg as { payload?: unknown }).payload, latencyMs: at - pending.sentAt });
  }

  private openSocket(): WebSocket | undefined {
    const open = this.sockets.filter((s) => s.readyState === WebSocket.OPEN);
    if (open.length === 0) return undefined;
    this.next = (this.next + 1) % open.length;
    return open[this.next];
  }

  private waitForSocket(timeoutMs: number): Promise<WebSocket | undefined> {
    const ready = this.openSocket();
    if (ready || this.closed) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(this.openSocket());
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Sends one envelope; resolves with the ack (payload, latency) or `acked: false` after timeoutMs. */
  async send(envelope: { envelope_id: string } & Record<string, unknown>, timeoutMs: number): Promise<SocketAck> {
    const ws = this.openSocket() ?? (await this.waitForSocket(timeoutMs));
    if (!ws) return { delivered: false, acked: false, error: 'no_connection' };
    const json = JSON.stringify(envelope);
    return new Promise((resolve) => {
      const id = envelope.envelope_id;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ delivered: true, acked: false, error: 'ack_timeout' });
      }, timeoutMs);
      const entry: Pending = { resolve, sentAt: 0, timer };
      this.pending.set(id, entry);
      entry.sentAt = performance.now();
      ws.send(json);
    });
  }

  /** Asks every client to reconnect, as Slack does when recycling a pod. */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-emulator' } }));
  }

  close(): void {
    this.closed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ delivered: true, acked: false, error: 'emulator_closed' });
    }
    this.pending.clear();
    for (const w of [...this.waiters]) w();
    for (const ws of [...this.sockets]) ws.terminate();
    this.sockets.length = 0;
    this.wss.close();
  }
}
