import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Readiness } from './readiness.ts';

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface HttpServer {
  readonly port: number;
  readonly url: string;
  /** Routes every request whose path starts with `prefix` to `handler` (Slack HTTP mode, webhooks). */
  mount(prefix: string, handler: RequestHandler): void;
  close(): Promise<void>;
}

export interface HttpOptions {
  host: string;
  port: number;
  log: Logger;
  metrics: Metrics;
  readiness: Readiness;
}

export async function startHttpServer(options: HttpOptions): Promise<HttpServer> {
  const { log, metrics, readiness } = options;
  const mounts: { prefix: string; handler: RequestHandler }[] = [];

  const send = (response: ServerResponse, status: number, body: string, type = 'application/json'): void => {
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    response.end(body);
  };

  const routes: Record<string, RequestHandler> = {
    '/healthz': (_request, response) => send(response, 200, JSON.stringify({ status: 'ok' })),
    '/readyz': async (_request, response) => {
      const report = await readiness.evaluate();
      send(response, report.ok ? 200 : 503, JSON.stringify({ status: report.ok ? 'ready' : 'not ready', checks: report.checks }));
    },
    '/metrics': async (_request, response) => send(response, 200, await metrics.registry.metrics(), metrics.registry.contentType),
  };

  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const handler = routes[path] ?? mounts.find((m) => path.startsWith(m.prefix))?.handler;
    if (!handler) {
      send(response, 404, JSON.stringify({ error: 'not found' }));
      return;
    }
    Promise.resolve()
      .then(() => handler(request, response))
      .catch((error: unknown) => {
        log.error({ err: error, path }, 'http handler failed');
        if (!response.headersSent) send(response, 500, JSON.stringify({ error: 'internal error' }));
        else response.end();
      });
  });
  // Slow or idle clients must not hold a replica's shutdown hostage.
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    port,
    url: `http://${shownHost}:${port}`,
    mount(prefix, handler) {
      mounts.push({ prefix, handler });
      mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
