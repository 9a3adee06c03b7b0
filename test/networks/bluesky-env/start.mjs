/* global process, setTimeout */
// A local AT Protocol network (PLC, PDS, AppView, Bsync, Ozone from @atproto/dev-env) for Herald's
// Bluesky tests, in a process of its own: better-sqlite3 12 crashes on Node 24.19+, so this runs on
// Node 24.18.1 while Herald runs on the newest Node 24 (docs/architecture.md, Known pitfalls).
//
// Prints one JSON line {"event":"ready", pds, appview, plc, control, ms} on stdout when it serves.
// The control server (127.0.0.1 only) answers POST /process-all once every write so far is indexed
// by the AppView: the tests' replacement for dev-env's in-process network.processAll().
//
// Environment: DB_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
// REDIS_HOST (default 127.0.0.1:6379), HERALD_BSKY_EXIT_ON_STDIN_END=1 to stop when the parent's
// pipe closes (so a killed test runner leaves no network behind).
import { mkdtemp, rm } from 'node:fs/promises';
import { Server } from 'node:net';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const started = Date.now();

// dev-env's servers call listen(port) with no host, i.e. every interface. Bind them to loopback.
const originalListen = Server.prototype.listen;
Server.prototype.listen = function listen(...args) {
  if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] === 'function')) {
    args.splice(1, 0, '127.0.0.1');
  } else if (args[0] && typeof args[0] === 'object' && !('path' in args[0]) && !args[0].host) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return originalListen.apply(this, args);
};

const dbPostgresUrl = process.env.DB_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
process.env.REDIS_HOST ??= '127.0.0.1:6379';
process.env.LOG_ENABLED ??= 'false';

// Each run gets its own schemas (bsync_<s>, appview_<s>, ozone_<s>), dropped at the end; schemas of
// runs whose process is gone (killed before cleaning up) are dropped at the next start.
const schemaPrefix = 'herald_';
// Schemas may hold letters and underscores only: the pid is written with letters (0→a … 9→j).
const letters = (n) => [...String(n)].map((d) => String.fromCharCode(97 + Number(d))).join('');
const fromLetters = (s) => Number([...s].map((c) => c.charCodeAt(0) - 97).join(''));
const schema = `${schemaPrefix}${letters(process.pid)}_${letters(Date.now() % 1e9)}`;
const pg = (await import('pg')).default;

async function dropSchemas(predicate) {
  const client = new pg.Client({ connectionString: dbPostgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select nspname from pg_namespace where nspname ~ '^(bsync|appview|ozone)_${schemaPrefix}[a-j]+_[a-j]+$'`,
    );
    for (const { nspname } of rows) {
      if (predicate(nspname)) await client.query(`drop schema if exists "${nspname}" cascade`);
    }
  } finally {
    await client.end();
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

await dropSchemas((name) => {
  const pid = fromLetters(name.split('_')[2] ?? '');
  return pid !== process.pid && !alive(pid);
});

// The PDS keeps its SQLite files and blobs under os.tmpdir(): give it a folder of its own to remove.
const dataDir = await mkdtemp(path.join(tmpdir(), 'herald-bsky-'));
process.env.TMPDIR = dataDir;

const { TestNetwork } = await import('@atproto/dev-env');
let network;
try {
  network = await TestNetwork.create({
    dbPostgresUrl,
    dbPostgresSchema: schema,
    pds: { hostname: 'localhost' },
    plc: {},
    bsky: {},
    ozone: {},
  });
} catch (error) {
  process.stderr.write(`bluesky-env: could not start: ${error?.stack ?? error}\n`);
  await dropSchemas((name) => name.endsWith(schema)).catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
  process.exit(1);
}

let queue = Promise.resolve();
const control = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/process-all') {
    // One at a time: processAll is not meant to run concurrently with itself.
    queue = queue
      .then(() => network.processAll(10_000))
      .then(
        () => {
          res.writeHead(204).end();
        },
        (error) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error?.stack ?? error));
        },
      );
    return;
  }
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
    return;
  }
  res.writeHead(404).end();
});
await new Promise((resolve) => control.listen(0, '127.0.0.1', resolve));

let stopping;
function stop(reason) {
  stopping ??= (async () => {
    process.stderr.write(`bluesky-env: stopping (${reason})\n`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    control.close();
    try {
      await network.close();
    } catch (error) {
      process.stderr.write(`bluesky-env: close failed: ${error?.stack ?? error}\n`);
    }
    await dropSchemas((name) => name.endsWith(schema)).catch((error) => process.stderr.write(`bluesky-env: ${error}\n`));
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  })();
  return stopping;
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
if (process.env.HERALD_BSKY_EXIT_ON_STDIN_END === '1') {
  process.stdin.on('end', () => void stop('parent gone'));
  process.stdin.resume();
}

const port = control.address().port;
process.stdout.write(
  JSON.stringify({
    event: 'ready',
    pds: network.pds.url,
    appview: network.bsky.url,
    plc: network.plc.url,
    control: `http://127.0.0.1:${port}`,
    ms: Date.now() - started,
  }) + '\n',
);
