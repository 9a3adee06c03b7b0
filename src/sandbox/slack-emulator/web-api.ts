import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, type EmulatorCore } from './core.ts';
import { chatMethods } from './methods-chat.ts';
import { directoryMethods } from './methods-directory.ts';
import { viewFileMethods } from './methods-views-files.ts';
import type { Obj } from './types.ts';

export type TokenKind = 'bot' | 'app';
export type MethodHandler = (args: Obj, core: EmulatorCore) => Obj | Promise<Obj>;

/** Fields Slack accepts as JSON strings in form-encoded requests. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'files', 'metadata', 'options', 'user_auth_blocks']);
/** Methods that take the app-level token instead of the bot token. */
const APP_TOKEN_METHODS = new Set(['apps.connections.open']);

interface Injected {
  status: number;
  retryAfterSeconds?: number;
  times: number;
}

export interface ApiCall {
  method: string;
  ok: boolean;
  error?: string;
  status: number;
  /** When the call arrived (ms since the epoch), for rate measurements. */
  at: number;
  /** The channel argument, when the call had one. */
  channel?: string;
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

/** Parses a form-encoded, JSON or multipart body into an object; form JSON fields are decoded. */
export async function parseBody(req: IncomingMessage, raw: Buffer): Promise<Obj> {
  const type = String(req.headers['content-type'] ?? '');
  if (raw.length === 0) return {};
  if (type.includes('application/json')) {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Obj) : {};
  }
  const entries: [string, unknown][] = [];
  if (type.includes('multipart/form-data')) {
    const form = await new Request('http://local/', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(raw) }).formData();
    for (const [k, v] of form.entries()) {
      entries.push([k, typeof v === 'string' ? v : Buffer.from(await v.arrayBuffer())]);
    }
  } else {
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) entries.push([k, v]);
  }
  const out: Obj = {};
  for (const [k, v] of entries) {
    if (typeof v === 'string' && JSON_FIELDS.has(k)) {
      try {
        out[k] = JSON.parse(v);
      } catch {
        out[k] = v;
      }
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Routes /api/<method> calls: injected failures, rate limits, auth, then the method handler. */
export class WebApi {
  readonly calls: ApiCall[] = [];
  private readonly core: EmulatorCore;
  private readonly handlers: Record<string, MethodHandler>;
  private readonly injected = new Map<string, Injected[]>();
  private readonly given429 = new Map<string, number>();
  private readonly given5xx = new Map<string, number>();

  constructor(core: EmulatorCore, extra: Record<string, MethodHandler>) {
    this.core = core;
    this.handlers = { ...chatMethods, ...directoryMethods, ...viewFileMethods, ...extra };
  }

  rateLimit(method: string, opts: { retryAfterSeconds: number; times?: number }): void {
    this.inject(method, { status: 429, retryAfterSeconds: opts.retryAfterSeconds, times: opts.times ?? 1 });
  }

  failNext(method: string, opts: { status?: number; times?: number } = {}): void {
    this.inject(method, { status: opts.status ?? 500, times: opts.times ?? 1 });
  }

  rateLimitedCount(method: string): number {
    return this.given429.get(method) ?? 0;
  }

  failedCount(method: string): number {
    return this.given5xx.get(method) ?? 0;
  }

  private inject(method: string, entry: Injected): void {
    const list = this.injected.get(method) ?? [];
    list.push(entry);
    this.injected.set(method, list);
  }

  private takeInjected(method: string): Injected | undefined {
    const list = this.injected.get(method);
    const head = list?.[0];
    if (!list || !head) return undefined;
    head.times -= 1;
    if (head.times <= 0) list.shift();
    return head;
  }

  async handle(method: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const at = Date.now();
    let channel: string | undefined;
    const record = (status: number, body: Obj): void => {
      this.calls.push({ method, ok: body.ok === true, status, at, ...(channel ? { channel } : {}), ...(typeof body.error === 'string' ? { error: body.error } : {}) });
      send(res, status, body);
    };
    const handler = this.handlers[method];
    if (!handler) return record(200, { ok: false, error: 'unknown_method' });

    const injected = this.takeInjected(method);
    if (injected?.status === 429) {
      this.given429.set(method, this.rateLimitedCount(method) + 1);
      this.calls.push({ method, ok: false, error: 'ratelimited', status: 429, at });
      return send(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(injected.retryAfterSeconds ?? 1) });
    }
    if (injected) {
      this.given5xx.set(method, this.failedCount(method) + 1);
      this.calls.push({ method, ok: false, error: 'injected_failure', status: injected.status, at });
      return send(res, injected.status, { ok: false, error: 'internal_error' });
    }

    let args: Obj;
    try {
      args = await parseBody(req, raw);
    } catch {
      return record(200, { ok: false, error: 'invalid_form_data' });
    }
    if (typeof args.channel === 'string') channel = args.channel;
    const header = String(req.headers.authorization ?? '');
    const token = header.startsWith('Bearer ') ? header.slice(7) : typeof args.token === 'string' ? args.token : '';
    const kind: TokenKind | undefined =
      token === this.core.config.botToken ? 'bot' : token === this.core.config.appToken ? 'app' : undefined;
    if (!kind) return record(200, { ok: false, error: 'invalid_auth' });
    if ((kind === 'app') !== APP_TOKEN_METHODS.has(method)) return record(200, { ok: false, error: 'not_allowed_token_type' });

    try {
      const result = await handler(args, this.core);
      record(200, { ok: true, ...result });
    } catch (err) {
      if (err instanceof ApiError) return record(200, { ok: false, error: err.code });
      this.core.log('slack emulator: method failed', { method, err: String(err) });
      record(200, { ok: false, error: 'internal_error' });
    }
  }
}
