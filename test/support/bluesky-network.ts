import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The local AT Protocol network (test/networks/bluesky-env, @atproto/dev-env) in a process of its
 * own on Node 24.18.1: better-sqlite3 12 crashes on Node 24.19+, where Herald and the tests run.
 * `.ci/provision-bluesky.sh` provisions that Node and the env's modules.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const blueskyEnvDir = path.join(root, 'test/networks/bluesky-env');

export interface BlueskyNetworkUrls {
  /** The PDS: where accounts are created and posts written. */
  pds: string;
  /** The AppView (feeds, profiles, threads), fed by the PDS's firehose. */
  appview: string;
  plc: string;
  /** POST {control}/process-all returns once every write so far is indexed by the AppView. */
  control: string;
}

export interface RunningBlueskyNetwork extends BlueskyNetworkUrls {
  pid: number;
  startMs: number;
  /** Stops the network by its process id (SIGTERM, then SIGKILL after 15 s); safe to call twice. */
  stop(): Promise<void>;
}

function cacheDir(): string {
  return process.env.HERALD_CI_CACHE ?? path.join(homedir(), '.cache/herald-ci');
}

/** The Node that runs the network: HERALD_BLUESKY_NODE, else the one .ci/provision-bluesky.sh caches. */
export function blueskyNode(): string {
  return process.env.HERALD_BLUESKY_NODE ?? path.join(cacheDir(), 'node-24.18.1/node_modules/.bin/node');
}

const provisionHint = 'Run `bash .ci/provision-bluesky.sh` (it installs Node 24.18.1 and test/networks/bluesky-env; PostgreSQL and Redis must be running).';

export async function startBlueskyNetwork(options: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<RunningBlueskyNetwork> {
  const node = blueskyNode();
  const timeoutMs = options.timeoutMs ?? 60_000;
  for (const [what, file] of [
    ['Node 24.18.1', node],
    ['@atproto/dev-env', path.join(blueskyEnvDir, 'node_modules/@atproto/dev-env/package.json')],
  ] as const) {
    try {
      await access(file);
    } catch {
      throw new Error(`The local Bluesky network needs ${what} at ${file}. ${provisionHint}`);
    }
  }
  const started = Date.now();
  const child = spawn(node, ['start.mjs'], {
    cwd: blueskyEnvDir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DB_POSTGRES_URL: process.env.HERALD_BLUESKY_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
      REDIS_HOST: process.env.HERALD_BLUESKY_REDIS_HOST ?? '127.0.0.1:6379',
      // The network stops by itself when this process goes away and its stdin closes.
      HERALD_BSKY_EXIT_ON_STDIN_END: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const urls = await new Promise<BlueskyNetworkUrls>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(new Error(`The local Bluesky network did not start: ${why}\n${stderr.trim().slice(-4000)}\n${provisionHint}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was ready`));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as Partial<BlueskyNetworkUrls> & { event?: string };
          if (parsed.event === 'ready' && parsed.pds && parsed.appview && parsed.plc && parsed.control) {
            clearTimeout(timer);
            child.removeAllListeners('exit');
            resolve({ pds: parsed.pds, appview: parsed.appview, plc: parsed.plc, control: parsed.control });
            return;
          }
        } catch {
          // not our line
        }
      }
      if (stdout.length > 100_000) stdout = stdout.slice(-10_000);
    });
  });
  child.stdout.resume();
  const pid = child.pid ?? 0;
  let stopping: Promise<void> | undefined;
  return {
    ...urls,
    pid,
    startMs: Date.now() - started,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        process.kill(pid, 'SIGTERM');
        const killer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
        child.stdin.destroy();
      })();
      return stopping;
    },
  };
}

/** Waits until the AppView has indexed every write made so far (feeds, threads, profiles). */
export async function waitForIndexing(control: string): Promise<void> {
  const res = await fetch(`${control}/process-all`, { method: 'POST', signal: AbortSignal.timeout(20_000) });
  if (!res.ok) throw new Error(`indexing did not finish: ${res.status} ${await res.text()}`);
}

/** One XRPC call to a local network server: GET with a query, or POST with a JSON body. */
export async function xrpc(base: string, method: string, options: { body?: unknown; query?: Record<string, string>; token?: string } = {}): Promise<Record<string, unknown>> {
  const url = new URL(`/xrpc/${method}`, base);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const res = await fetch(url, {
    method: options.body === undefined ? 'GET' : 'POST',
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
