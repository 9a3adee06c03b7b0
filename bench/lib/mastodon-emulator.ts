/**
 * A fast, in-process Mastodon API emulator for benchmarks: just what Herald's Mastodon connector
 * calls for text posts (verify_credentials, POST /api/v1/statuses, GET /api/v1/accounts/:id/statuses).
 * One bearer token per account. Every POST is recorded with its arrival time (Date.now()) and its
 * Idempotency-Key, and every POST creates a status (the key is recorded, not honoured), so a repeated
 * publish shows up as a duplicate instead of being hidden by the server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedStatus {
  id: string;
  accountId: string;
  text: string;
  idempotencyKey: string | undefined;
  /** Epoch ms at which the request body had arrived. */
  arrivedAt: number;
}

export interface MastodonEmulator {
  readonly url: string;
  /** tokens[i] authenticates accounts[i]. */
  readonly tokens: readonly string[];
  readonly accountIds: readonly string[];
  /** Every status created, in arrival order. */
  readonly statuses: RecordedStatus[];
  /** Requests by route, e.g. "POST /api/v1/statuses". */
  readonly requests: Map<string, number>;
  /** Drops all statuses and counters (between runs). */
  reset(): void;
  close(): Promise<void>;
}

interface StoredStatus extends RecordedStatus {
  createdAt: string;
  visibility: string;
}

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export async function createMastodonEmulator(options: { accounts: number; host?: string }): Promise<MastodonEmulator> {
  const host = options.host ?? '127.0.0.1';
  const tokens = Array.from({ length: options.accounts }, (_, i) => `bench-token-${String(i + 1).padStart(4, '0')}`);
  const accountIds = tokens.map((_, i) => String(100 + i));
  const byToken = new Map(tokens.map((token, i) => [token, accountIds[i]!]));
  const statuses: RecordedStatus[] = [];
  const perAccount = new Map<string, StoredStatus[]>();
  const requests = new Map<string, number>();
  let nextId = 1_000_000;
  let url = '';

  const account = (id: string): Record<string, unknown> => ({
    id,
    username: `bench${id}`,
    acct: `bench${id}`,
    display_name: `Bench ${id}`,
    url: `${url}/@bench${id}`,
    followers_count: 0,
    following_count: 0,
    statuses_count: perAccount.get(id)?.length ?? 0,
    created_at: '2024-01-01T00:00:00.000Z',
    note: '',
    avatar: '',
    header: '',
    locked: false,
    bot: false,
    emojis: [],
    fields: [],
  });

  const statusJson = (s: StoredStatus): Record<string, unknown> => ({
    id: s.id,
    uri: `${url}/users/bench${s.accountId}/statuses/${s.id}`,
    url: `${url}/@bench${s.accountId}/${s.id}`,
    created_at: s.createdAt,
    content: `<p>${escapeHtml(s.text).replace(/\n/g, '<br />')}</p>`,
    visibility: s.visibility,
    sensitive: false,
    spoiler_text: '',
    in_reply_to_id: null,
    in_reply_to_account_id: null,
    reblog: null,
    media_attachments: [],
    mentions: [],
    tags: [],
    emojis: [],
    reblogs_count: 0,
    favourites_count: 0,
    replies_count: 0,
    account: account(s.accountId),
  });

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const parseParams = (raw: string, contentType: string | undefined): Record<string, unknown> => {
    if (!raw) return {};
    if (contentType?.includes('json')) return JSON.parse(raw) as Record<string, unknown>;
    return Object.fromEntries(new URLSearchParams(raw));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const parsed = new URL(req.url ?? '/', 'http://x');
      const path = parsed.pathname;
      const route = `${req.method} ${path.replace(/\/accounts\/\d+\//, '/accounts/:id/')}`;
      requests.set(route, (requests.get(route) ?? 0) + 1);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const me = token ? byToken.get(token) : undefined;
      if (!me) {
        await readBody(req);
        return send(res, 401, { error: 'The access token is invalid' });
      }
      if (req.method === 'GET' && path === '/api/v1/accounts/verify_credentials') {
        return send(res, 200, { ...account(me), source: { privacy: 'public', sensitive: false, language: 'en', note: '', fields: [] } });
      }
      if (req.method === 'POST' && path === '/api/v1/statuses') {
        const params = parseParams(await readBody(req), req.headers['content-type']);
        const arrivedAt = Date.now();
        const text = typeof params.status === 'string' ? params.status : '';
        if (!text) return send(res, 422, { error: 'Validation failed: Text can\'t be blank' });
        const key = req.headers['idempotency-key'];
        nextId += 1;
        const stored: StoredStatus = {
          id: String(nextId),
          accountId: me,
          text,
          idempotencyKey: Array.isArray(key) ? key[0] : key,
          arrivedAt,
          createdAt: new Date(arrivedAt).toISOString(),
          visibility: typeof params.visibility === 'string' ? params.visibility : 'public',
        };
        statuses.push(stored);
        let list = perAccount.get(me);
        if (!list) perAccount.set(me, (list = []));
        list.push(stored);
        return send(res, 200, statusJson(stored));
      }
      const listMatch = /^\/api\/v1\/accounts\/(\d+)\/statuses$/.exec(path);
      if (req.method === 'GET' && listMatch) {
        const limit = Math.min(40, Math.max(1, Number(parsed.searchParams.get('limit') ?? 20) || 20));
        const maxId = parsed.searchParams.get('max_id');
        const all = perAccount.get(listMatch[1]!) ?? [];
        const page: Record<string, unknown>[] = [];
        // Newest first; ids grow with time, so walk the array backwards.
        for (let i = all.length - 1; i >= 0 && page.length < limit; i -= 1) {
          const s = all[i]!;
          if (maxId && BigInt(s.id) >= BigInt(maxId)) continue;
          page.push(statusJson(s));
        }
        return send(res, 200, page);
      }
      await readBody(req);
      return send(res, 404, { error: 'Record not found' });
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(error) });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  url = `http://${host}:${port}`;

  return {
    url,
    tokens,
    accountIds,
    statuses,
    requests,
    reset() {
      statuses.length = 0;
      perAccount.clear();
      requests.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
