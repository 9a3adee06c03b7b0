/** Minimal HTTP plumbing for the REST emulator: routing, body parsing, errors, rate-limit and failure injection. */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface UploadedFile {
  field: string;
  index: number;
  filename: string;
  contentType: string | null;
  data: Buffer;
}

export interface Req {
  method: string;
  path: string;
  route: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  files: UploadedFile[];
}

export interface Res {
  status?: number;
  body?: unknown;
}

export type Handler = (req: Req) => Res | Promise<Res>;

export class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, code: number, message: string, errors?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.body = { message, code, ...(errors ? { errors } : {}) };
  }
}

export const notFound = (what: string, code: number): HttpError => new HttpError(404, code, `Unknown ${what}`);

interface Route {
  method: string;
  pattern: string;
  regex: RegExp;
  keys: string[];
  auth: boolean;
  handler: Handler;
}

/** '/channels/:id/messages' → regex + keys; '*' matches anything. */
export function compilePattern(pattern: string): { regex: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = pattern
    .split('/')
    .map((part) => {
      if (part.startsWith(':')) {
        keys.push(part.slice(1));
        return '([^/]+)';
      }
      return part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\@]/g, '\\$&');
    })
    .join('/');
  return { regex: new RegExp(`^${source}/?$`), keys };
}

export class Router {
  readonly #routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, auth = true): void {
    this.#routes.push({ method, pattern, ...compilePattern(pattern), auth, handler });
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | 'method' | null {
    let pathMatched = false;
    for (const route of this.#routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(m[i + 1]!)));
      return { route, params };
    }
    return pathMatched ? 'method' : null;
  }
}

export interface Injection {
  method: string | null;
  regex: RegExp;
  remaining: number;
  kind: 'ratelimit' | 'fail';
  retryAfterSeconds: number;
  global: boolean;
  status: number;
  body?: unknown;
}

/** 'POST /channels/:id/messages' or '/channels/:id/messages' (any method). */
export function parseRouteSpec(spec: string): { method: string | null; regex: RegExp } {
  const m = /^([A-Z]+)\s+(.+)$/.exec(spec.trim());
  const path = (m ? m[2]! : spec.trim()).replace(/^\/api/, '').replace(/^\/v\d+/, '');
  return { method: m ? m[1]! : null, regex: compilePattern(path).regex };
}

export function bucketHash(method: string, pattern: string): string {
  return createHash('sha1').update(`${method} ${pattern}`).digest('hex').slice(0, 32);
}

export async function readBody(req: IncomingMessage): Promise<{ body: Record<string, unknown>; files: UploadedFile[] }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return { body: {}, files: [] };
  if (type.startsWith('multipart/form-data')) {
    const form = await new Request('http://emulator.local/', { method: 'POST', headers: { 'content-type': type }, body: raw }).formData();
    let body: Record<string, unknown> = {};
    const files: UploadedFile[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = { ...body, ...(parseJson(value) as Record<string, unknown>) };
        else body[field] = value;
        continue;
      }
      const index = /^files\[(\d+)\]$/.exec(field)?.[1] ?? /^file(\d*)$/.exec(field)?.[1];
      files.push({
        field, index: index ? Number(index) : files.length, filename: value.name, contentType: value.type || null,
        data: Buffer.from(await value.arrayBuffer()),
      });
    }
    return { body, files };
  }
  return { body: (parseJson(raw.toString('utf8')) ?? {}) as Record<string, unknown>, files: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 50109, 'The request body contains invalid JSON.');
  }
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (status === 204 || body === undefined) {
    res.statusCode = status === 200 ? 204 : status;
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Headers a normal answer carries: enough budget that @discordjs/rest never waits locally. */
export function okRateLimitHeaders(hash: string): Record<string, string> {
  return {
    'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '4', 'X-RateLimit-Reset': ((Date.now() + 1000) / 1000).toFixed(3),
    'X-RateLimit-Reset-After': '1.000', 'X-RateLimit-Bucket': hash,
  };
}

export function rateLimitedAnswer(injection: Injection, hash: string): { body: unknown; headers: Record<string, string> } {
  const after = injection.retryAfterSeconds;
  const headers: Record<string, string> = { 'Retry-After': String(after), 'X-RateLimit-Scope': injection.global ? 'global' : 'user' };
  if (injection.global) headers['X-RateLimit-Global'] = 'true';
  else {
    Object.assign(headers, {
      'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': ((Date.now() + after * 1000) / 1000).toFixed(3),
      'X-RateLimit-Reset-After': after.toFixed(3), 'X-RateLimit-Bucket': hash,
    });
  }
  return { body: { message: 'You are being rate limited.', retry_after: after, global: injection.global }, headers };
}
