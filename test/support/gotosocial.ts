import { execFile, spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { connect as connectTcp, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * A real Mastodon-API server for the Mastodon connector's tests: GoToSocial (Go, SQLite in a temp
 * folder) on 127.0.0.1, provisioned by `.ci/provision-mastodon.sh`, with one confirmed account and
 * an OAuth access token obtained the way a person would (app → sign-in form → authorize → code).
 * In front of it, a tiny proxy records what Herald sent and injects the failures GoToSocial will not
 * produce on demand (429, 503, a slow media pipeline).
 */

export const gotosocialVersion = 'v0.19.2';
const provisionHint = 'Run `bash .ci/provision-mastodon.sh` (it builds GoToSocial from the Go module proxy into the CI cache).';
const run = promisify(execFile);

function cacheDir(): string {
  return process.env.HERALD_CI_CACHE ?? path.join(homedir(), '.cache/herald-ci');
}

/** Where GoToSocial lives: HERALD_GOTOSOCIAL_DIR, else the folder the provisioning script fills. */
export function gotosocialDir(): string {
  return process.env.HERALD_GOTOSOCIAL_DIR ?? path.join(cacheDir(), `gotosocial-${gotosocialVersion}`);
}

export interface GoToSocialAccount {
  id: string;
  username: string;
  accessToken: string;
}

export interface RunningGoToSocial {
  /** GoToSocial itself. */
  url: string;
  account: GoToSocialAccount;
  pid: number;
  /** Start, account and token, in milliseconds. */
  startMs: number;
  /** Another confirmed account with its own token (someone who talks to the brand). */
  createAccount(username: string): Promise<GoToSocialAccount>;
  /** Stops the server by its process id and removes its data; safe to call twice. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A tiny cookie jar for the sign-in form: name=value pairs from Set-Cookie, sent back as Cookie. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair && at > 0) this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** The OAuth dance a person does in the browser: app, sign in, allow, code, token. */
async function obtainToken(base: string, email: string, password: string): Promise<string> {
  const redirectUri = 'urn:ietf:wg:oauth:2.0:oob';
  const appRes = await fetch(`${base}/api/v1/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'herald-tests', redirect_uris: redirectUri, scopes: 'read write' }),
  });
  if (!appRes.ok) throw new Error(`POST /api/v1/apps: ${appRes.status} ${await appRes.text()}`);
  const app = (await appRes.json()) as { client_id: string; client_secret: string };
  const jar = new CookieJar();
  const step = async (pathAndQuery: string, form?: Record<string, string>): Promise<Response> => {
    const res = await fetch(`${base}${pathAndQuery}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    jar.take(res);
    await res.arrayBuffer();
    return res;
  };
  const query = new URLSearchParams({ client_id: app.client_id, redirect_uri: redirectUri, response_type: 'code', scope: 'read write' });
  await step(`/oauth/authorize?${query}`);
  const signIn = await step('/auth/sign_in', { username: email, password });
  if (signIn.status !== 302 || !signIn.headers.get('location')?.includes('/oauth/authorize')) {
    throw new Error(`sign-in was refused: ${signIn.status} → ${signIn.headers.get('location') ?? 'nowhere'}`);
  }
  await step('/oauth/authorize');
  const allowed = await step('/oauth/authorize', {});
  const code = new URL(allowed.headers.get('location') ?? '', base).searchParams.get('code');
  if (!code) throw new Error(`authorize gave no code: ${allowed.status} → ${allowed.headers.get('location') ?? 'nowhere'}`);
  const tokenRes = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: app.client_id, client_secret: app.client_secret, redirect_uri: redirectUri, code, scope: 'read write' }).toString(),
  });
  if (!tokenRes.ok) throw new Error(`POST /oauth/token: ${tokenRes.status} ${await tokenRes.text()}`);
  return ((await tokenRes.json()) as { access_token: string }).access_token;
}

export async function startGoToSocial(options: { timeoutMs?: number; username?: string } = {}): Promise<RunningGoToSocial> {
  const started = Date.now();
  const dir = gotosocialDir();
  const binary = path.join(dir, 'gotosocial');
  for (const file of [binary, path.join(dir, 'web/template/sign-in.tmpl')]) {
    try {
      await access(file);
    } catch {
      throw new Error(`GoToSocial is not provisioned: ${file} is missing. ${provisionHint}`);
    }
  }
  const data = await mkdtemp(path.join(tmpdir(), 'herald-gotosocial-'));
  await mkdir(path.join(data, 'storage'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = path.join(data, 'config.yaml');
  await writeFile(
    config,
    [
      `host: "127.0.0.1:${port}"`,
      'protocol: http',
      'bind-address: 127.0.0.1',
      `port: ${port}`,
      'log-level: warn',
      'db-type: sqlite',
      `db-address: ${path.join(data, 'sqlite.db')}`,
      `storage-local-base-path: ${path.join(data, 'storage')}`,
      `web-template-base-dir: ${path.join(dir, 'web/template')}/`,
      `web-asset-base-dir: ${path.join(dir, 'web/assets')}/`,
      'letsencrypt-enabled: false',
      // Mastodon's default limit, so over-long text is refused where it would be on mastodon.social.
      'statuses-max-chars: 500',
      // The tests' own bursts must not meet GoToSocial's rate limiter or throttling.
      'advanced-rate-limit-requests: 0',
      'advanced-throttling-multiplier: 0',
      '',
    ].join('\n'),
  );
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GTS_WAZERO_COMPILATION_CACHE: path.join(dir, 'wazero-cache') };
  // The shell stops the server and removes its data when this process goes away and the pipe on
  // its stdin closes, so a killed test runner leaves nothing behind.
  const script = '"$0" --config-path "$1" server start & pid=$!; trap \'kill $pid 2>/dev/null\' TERM; cat >/dev/null; kill $pid 2>/dev/null; wait $pid; rm -rf "$2"';
  const child = spawn('sh', ['-c', script, binary, config, data], {
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const killer = setTimeout(() => child.exitCode === null && child.pid && process.kill(child.pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      await rm(data, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`GoToSocial exited (${child.exitCode}) before it was ready`);
      const ok = await fetch(`${base}/api/v1/instance`, { signal: AbortSignal.timeout(2_000) }).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`GoToSocial was not ready within ${options.timeoutMs ?? 60_000} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The admin CLI works on the same SQLite database while the server runs (it must have started
    // once: accounts need the instance application it creates).
    const admin = async (...args: string[]): Promise<void> => {
      await run(binary, ['--config-path', config, 'admin', 'account', ...args], { env, timeout: 30_000 });
    };
    const createAccount = async (username: string): Promise<GoToSocialAccount> => {
      const email = `${username}@example.org`;
      const password = `Herald-${Math.random().toString(36).slice(2)}-Pass!`;
      await admin('create', '--username', username, '--email', email, '--password', password);
      await admin('confirm', '--username', username);
      const accessToken = await obtainToken(base, email, password);
      const me = await fetch(`${base}/api/v1/accounts/verify_credentials`, { headers: { authorization: `Bearer ${accessToken}` } });
      if (!me.ok) throw new Error(`verify_credentials with the new token: ${me.status} ${await me.text()}`);
      const { id } = (await me.json()) as { id: string };
      return { id, username, accessToken };
    };
    const account = await createAccount(options.username ?? 'brand');
    return { url: base, account, pid: child.pid ?? 0, startMs: Date.now() - started, stop, createAccount };
  } catch (error) {
    await stop();
    throw new Error(`GoToSocial did not start: ${error instanceof Error ? error.message : String(error)}\n${stderr.trim().slice(-4000)}\n${provisionHint}`, { cause: error });
  }
}

// --- the fault-injecting proxy ---------------------------------------------------------------

export interface ProxiedRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
}

export interface InjectedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface FaultRule {
  method: string;
  /** Matched against the path without the query string. */
  path: RegExp;
  /**
   * Matched against the request body too, when given: a rule meant for one post (its text) is not
   * used up by another request that happens to arrive meanwhile (a late retry of an earlier post).
   */
  body?: RegExp;
  /** How many matching requests this rule answers (default 1); Infinity for all. */
  times?: number;
  /** Lets this many matching requests through untouched first (default 0). */
  skip?: number;
  /** Answer without asking GoToSocial. */
  answer?: InjectedAnswer;
  /** Ask GoToSocial, then change its JSON answer (e.g. make an image look still in processing). */
  rewrite?: (status: number, body: unknown) => { status: number; body: unknown };
  /**
   * Ask GoToSocial, then hold its answer this long before replying: the request has been accepted
   * upstream (e.g. the status exists) while the caller still waits, a window to crash it in.
   */
  delayMs?: number;
  /** Hold the request this long before GoToSocial sees it: a slow upload, the status does not exist yet. */
  holdMs?: number;
}

export interface FaultProxy {
  readonly url: string;
  /** Every request that came through, in order. */
  readonly requests: ProxiedRequest[];
  inject(rule: FaultRule): void;
  /** Drops every rule not used up yet. */
  clear(): void;
  /**
   * WebSocket upgrades (the streaming API) pass through as raw tunnels: how many are open, how
   * many were asked for, cut them all (a dropped connection), or refuse new ones with a 503.
   */
  readonly streams: { readonly open: number; readonly attempts: number; cut(): void; refuse(on: boolean): void };
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An HTTP proxy on 127.0.0.1 (port 0) in front of `target`. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const requests: ProxiedRequest[] = [];
  let rules: (FaultRule & { left: number; toSkip: number })[] = [];
  const hopHeaders = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'content-encoding', 'keep-alive']);
  const server: Server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', target);
    const method = req.method ?? 'GET';
    const key = req.headers['idempotency-key'];
    requests.push({ method, path: url.pathname, ...(typeof key === 'string' ? { idempotencyKey: key } : {}) });
    const send = (status: number, headers: Record<string, string>, body: Buffer | string): void => {
      res.writeHead(status, headers);
      res.end(body);
    };
    readBody(req)
      .then(async (body) => {
        const text = rules.some((r) => r.body) ? body.toString('utf8') : '';
        let rule = rules.find((r) => r.left > 0 && r.method === method && r.path.test(url.pathname) && (!r.body || r.body.test(text)));
        if (rule && rule.toSkip > 0) {
          rule.toSkip -= 1;
          rule = undefined;
        }
        if (rule) rule.left -= 1;
        if (rule?.answer) {
          const { status, headers = {}, body: answer } = rule.answer;
          send(status, { 'content-type': 'application/json', ...headers }, answer === undefined ? '' : typeof answer === 'string' ? answer : JSON.stringify(answer));
          return;
        }
        if (rule?.holdMs) await new Promise((resolve) => setTimeout(resolve, rule.holdMs));
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
          if (!hopHeaders.has(name) && typeof value === 'string') headers.set(name, value);
        }
        const upstream = await fetch(url, { method, headers, ...(body.length > 0 ? { body } : {}), redirect: 'manual' });
        const out: Record<string, string> = {};
        upstream.headers.forEach((value, name) => {
          if (!hopHeaders.has(name)) out[name] = value;
        });
        let payload = Buffer.from(await upstream.arrayBuffer());
        let status = upstream.status;
        if (rule?.rewrite) {
          const changed = rule.rewrite(status, JSON.parse(payload.toString('utf8')) as unknown);
          status = changed.status;
          payload = Buffer.from(JSON.stringify(changed.body));
        }
        if (rule?.delayMs) await new Promise((resolve) => setTimeout(resolve, rule.delayMs));
        // The caller may have gone meanwhile (a killed process): nobody is left to answer.
        if (res.destroyed) return;
        send(status, out, payload);
      })
      .catch((error: unknown) => send(502, { 'content-type': 'application/json' }, JSON.stringify({ error: String(error) })));
  });
  const tunnels = new Set<Socket>();
  let refusing = false;
  let attempts = 0;
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    attempts += 1;
    if (refusing) {
      client.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstreamUrl = new URL(target);
    const upstream = connectTcp(Number(upstreamUrl.port), upstreamUrl.hostname, () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let index = 0; index < req.rawHeaders.length; index += 2) {
        const name = req.rawHeaders[index] ?? '';
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? upstreamUrl.host : (req.rawHeaders[index + 1] ?? '')}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    tunnels.add(client);
    const end = (): void => {
      tunnels.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    streams: {
      get open() {
        return tunnels.size;
      },
      get attempts() {
        return attempts;
      },
      cut() {
        for (const tunnel of [...tunnels]) tunnel.destroy();
      },
      refuse(on) {
        refusing = on;
      },
    },
    inject(rule) {
      rules.push({ ...rule, left: rule.times ?? 1, toSkip: rule.skip ?? 0 });
    },
    clear() {
      rules = [];
    },
    async close() {
      for (const tunnel of [...tunnels]) tunnel.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
