import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorCore } from './core.ts';
import { receiveUpload } from './methods-views-files.ts';
import { applyResponse } from './responses.ts';
import type { SocketModeHub } from './socket-mode.ts';
import { parseBody, send, type WebApi } from './web-api.ts';

const MAX_BODY = 50 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * One HTTP server for everything: /api/<method>, /upload/<fileId>, /response/<id>, /files/<id>/<name>,
 * and the Socket Mode WebSocket upgrade at /link/.
 */
export async function startServer(core: EmulatorCore, api: WebApi, socket: SocketModeHub): Promise<Server> {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, area, id] = url.pathname.split('/');
    if (req.method === 'GET' && area === 'files' && id) {
      const bytes = core.fileBytes.get(id);
      if (!bytes) return send(res, 404, 'not found');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(bytes);
      return;
    }
    if (req.method !== 'POST') return send(res, 405, { ok: false, error: 'method_not_allowed' });
    const raw = await readBody(req);
    if (area === 'api' && id) return api.handle(id, req, raw, res);
    if (area === 'upload' && id) {
      const body = await parseBody(req, raw).catch(() => ({}));
      return receiveUpload(core, id, body, raw) ? send(res, 200, `OK - ${raw.length}`) : send(res, 404, 'file not found');
    }
    if (area === 'response' && id) {
      const target = core.responseTarget(id);
      if (!target) return send(res, 404, { ok: false, error: 'expired_url' });
      const body = await parseBody(req, raw).catch(() => undefined);
      if (!body) return send(res, 400, { ok: false, error: 'invalid_payload' });
      const error = applyResponse(core, target, body, 'response_url');
      return error ? send(res, 404, { ok: false, error }) : send(res, 200, { ok: true });
    }
    send(res, 404, { ok: false, error: 'not_found' });
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      core.log('slack emulator: request failed', { url: req.url, err: String(err) });
      if (!res.headersSent) send(res, 500, { ok: false, error: 'internal_error' });
      else res.end();
    });
  });
  server.on('upgrade', (req, sock, head) => socket.handleUpgrade(req, sock, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  core.baseUrl = `http://127.0.0.1:${port}/`;
  return server;
}
