/** The HTTP server: REST under /api[/v10], the gateway upgrade at /gateway, uploaded files under /attachments. */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway } from './gateway.ts';
import { HttpError, Router, bucketHash, okRateLimitHeaders, parseRouteSpec, rateLimitedAnswer, readBody, send } from './http.ts';
import type { Injection } from './http.ts';
import { registerInteractions } from './interactions.ts';
import { registerRest } from './rest.ts';
import type { Ctx } from './rest.ts';
import type { DiscordStore } from './store.ts';

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  at: number;
}

export interface ServerOptions {
  token: string;
  heartbeatIntervalMs: number;
  interactionTimeoutMs: number;
  log?: (msg: string, data?: object) => void;
}

export class EmulatorServer {
  readonly http: Server;
  readonly gateway: Gateway;
  readonly ctx: Ctx;
  readonly requests: RequestLogEntry[] = [];
  readonly injections: Injection[] = [];
  rateLimited = 0;
  readonly #router = new Router();
  readonly #store: DiscordStore;
  readonly #options: ServerOptions;

  constructor(store: DiscordStore, options: ServerOptions) {
    this.#store = store;
    this.#options = options;
    this.gateway = new Gateway(store, { token: options.token, heartbeatIntervalMs: options.heartbeatIntervalMs, url: () => this.gatewayUrl, ...(options.log ? { log: options.log } : {}) });
    store.dispatch = (event, data) => this.gateway.dispatch(event, data);
    this.ctx = {
      store, token: options.token, baseUrl: () => this.baseUrl, gatewayUrl: () => this.gatewayUrl, gatewayAvailable: () => this.gateway.available,
    };
    registerRest(this.#router, this.ctx);
    registerInteractions(this.#router, this.ctx, { timeoutMs: options.interactionTimeoutMs });
    this.http = createServer((req, res) => void this.#handle(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => this.gateway.handleUpgrade(req, socket, head));
  }

  get baseUrl(): string {
    const { port } = this.http.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get gatewayUrl(): string {
    return this.baseUrl.replace(/^http/, 'ws') + '/gateway';
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(0, '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    await this.gateway.close();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  inject(spec: string, injection: Omit<Injection, 'method' | 'regex'>): void {
    this.injections.push({ ...parseRouteSpec(spec), ...injection });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', this.baseUrl);
    const log = (status: number, path: string): void => {
      this.requests.push({ method, path, status, at: Date.now() });
      this.#options.log?.(`${method} ${path} → ${status}`);
    };
    const file = /^\/attachments\/[^/]+\/([^/]+)\//.exec(url.pathname);
    if (file && method === 'GET') {
      const bytes = this.#store.attachmentBytes.get(file[1]!);
      res.statusCode = bytes ? 200 : 404;
      res.end(bytes ?? '');
      return;
    }
    const api = /^\/api(?:\/v\d+)?(\/.*)$/.exec(url.pathname);
    const path = api?.[1] ?? url.pathname;
    try {
      const matched = api ? this.#router.match(method, path) : null;
      if (matched === null) throw new HttpError(404, 0, '404: Not Found');
      if (matched === 'method') throw new HttpError(405, 0, '405: Method Not Allowed');
      const { route, params } = matched;
      const hash = bucketHash(method, route.pattern);
      const { body, files } = await readBody(req);
      if (route.auth && req.headers.authorization !== `Bot ${this.#options.token}`) throw new HttpError(401, 0, '401: Unauthorized');
      const injection = this.injections.find((i) => i.remaining > 0 && (i.method === null || i.method === method) && i.regex.test(path));
      if (injection) {
        injection.remaining--;
        if (injection.kind === 'ratelimit') {
          this.rateLimited++;
          const answer = rateLimitedAnswer(injection, hash);
          send(res, 429, answer.body, answer.headers);
          log(429, path);
          return;
        }
        send(res, injection.status, injection.body ?? { message: `${injection.status}: Emulated failure`, code: 0 });
        log(injection.status, path);
        return;
      }
      const result = await route.handler({ method, path, route: route.pattern, params, query: url.searchParams, headers: req.headers, body, files });
      const status = result.status ?? 200;
      send(res, status, result.body, okRateLimitHeaders(hash));
      log(status, path);
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      const body = error instanceof HttpError ? error.body : { message: '500: Internal Server Error', code: 0 };
      if (!(error instanceof HttpError)) this.#options.log?.('emulator error', { error: String(error instanceof Error ? error.stack : error) });
      if (!res.headersSent) send(res, status, body);
      log(status, path);
    }
  }
}
