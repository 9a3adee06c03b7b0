import type { Logger } from '../../log.ts';
import type { InboxWatch } from '../port.ts';

export interface NotificationStreamOptions {
  /**
   * Where the streaming API may be (ws: or wss: origins), best first; asked again before every
   * connection, and tried in turn when one fails.
   */
  endpoints: () => Promise<readonly string[]>;
  accessToken: string;
  log: Logger;
  /** Rung when a notification arrives and after every (re)connection. */
  onActivity: () => void;
  /** First reconnection delay (default 1 s); doubled per failure up to maxDelayMs (default 5 min). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A connection that stayed up this long (default 60 s) was healthy: the next failure starts the backoff again. */
  stableMs?: number;
}

interface StreamMessage {
  event?: unknown;
}

/**
 * Mastodon's streaming API (`user:notification`) as a doorbell: it only says that something
 * arrived, and the inbox fetch (cursor, dedupe, storage) does the reading. A ring after every
 * (re)connection covers what arrived while the socket was down, so a lost message costs latency at
 * most, never an item. The token goes in the Authorization header, not the URL, so it never lands
 * in a proxy's access log.
 */
export function watchNotifications(options: NotificationStreamOptions): InboxWatch {
  const { log } = options;
  const minDelayMs = options.minDelayMs ?? 1_000;
  const maxDelayMs = options.maxDelayMs ?? 300_000;
  const stableMs = options.stableMs ?? 60_000;
  let closed = false;
  let socket: WebSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  /** Which endpoint to try; a failed connection moves to the next, a whole failed round backs off. */
  let index = 0;
  let endpointCount = 1;

  const schedule = (delay: number): void => {
    timer = setTimeout(() => void connect(), delay);
    timer.unref?.();
  };

  /** `unreachable`: the connection never opened, so the next endpoint is tried before backing off. */
  const retry = (reason: string, unreachable: boolean): void => {
    if (closed) return;
    if (unreachable) {
      index += 1;
      if (index < endpointCount) {
        schedule(0);
        return;
      }
      index = 0;
    }
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(failures, 20));
    // Jitter spreads the reconnections of many accounts after an instance restart.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    failures += 1;
    log.info({ reason, delayMs: delay, failures }, 'mastodon stream down; reconnecting');
    schedule(delay);
  };

  const connect = async (): Promise<void> => {
    timer = undefined;
    if (closed) return;
    let endpoints: readonly string[];
    try {
      endpoints = await options.endpoints();
    } catch (error) {
      retry(error instanceof Error ? error.message : String(error), false);
      return;
    }
    if (closed) return;
    endpointCount = endpoints.length;
    const origin = endpoints[index % Math.max(1, endpoints.length)];
    if (!origin) {
      retry('no streaming endpoint', false);
      return;
    }
    const url = new URL('/api/v1/streaming', origin);
    url.searchParams.set('stream', 'user:notification');
    let ws: WebSocket;
    try {
      // Node's WebSocket (undici) takes headers beside the protocols; the DOM typings do not know it.
      ws = new WebSocket(url, { headers: { authorization: `Bearer ${options.accessToken}` } } as unknown as string[]);
    } catch (error) {
      retry(error instanceof Error ? error.message : String(error), true);
      return;
    }
    socket = ws;
    let openedAt: number | undefined;
    ws.addEventListener('open', () => {
      openedAt = Date.now();
      log.info({ endpoint: url.origin }, 'mastodon stream connected');
      options.onActivity();
    });
    ws.addEventListener('message', (event: MessageEvent) => {
      let message: StreamMessage;
      try {
        message = JSON.parse(String(event.data)) as StreamMessage;
      } catch {
        log.debug('mastodon stream sent something that is not JSON; ignored');
        return;
      }
      if (message.event === 'notification') options.onActivity();
    });
    ws.addEventListener('error', () => {
      // A close event follows every error; the reconnection is decided there.
    });
    ws.addEventListener('close', (event: CloseEvent) => {
      if (socket === ws) socket = undefined;
      if (closed) return;
      if (openedAt !== undefined && Date.now() - openedAt >= stableMs) failures = 0;
      retry(openedAt === undefined ? 'could not connect' : `closed (${event.code})`, openedAt === undefined);
    });
  };

  void connect();
  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      socket?.close(1000);
      socket = undefined;
    },
  };
}
