/**
 * `npm run bench:schedule`: how punctually Herald publishes scheduled posts.
 *
 * 5,000 drafts (--posts) fall due evenly over 5 minutes (--minutes) across 50 Mastodon accounts
 * (--accounts), one workspace per account, against a fast in-process Mastodon emulator on 127.0.0.1.
 * Each draft is inserted as 'scheduled' with a 'publishing.due' job at its time, exactly what
 * approving a scheduled draft leaves behind; from there the real flows run (publishing.due →
 * startPublishing → publishing.network → the Mastodon connector). Lateness = arrival of the status at
 * the emulator − scheduledAt. Two configurations, one after the other, each on a fresh database:
 *
 *   Herald           SCHEDULER_POLL_MS=1000, SCHEDULER_MAX_CONCURRENCY=20
 *   Agenda defaults  SCHEDULER_POLL_MS=5000 (processEvery 5 s), SCHEDULER_MAX_CONCURRENCY=20
 *                    (defaultConcurrency is 5 in both: Herald's scheduler fixes it)
 *
 * Target: Herald's p99 lateness under 2 s, zero duplicates, zero misses. Prints a table and exits.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { allFlows } from '../flows/index.ts';
import { startHerald, type Herald } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { Draft } from '../src/core/draft.ts';
import { JobNames } from '../src/jobs/names.ts';
import { createLogger } from '../src/log.ts';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/store/embedded.ts';
import { createMastodonEmulator, type MastodonEmulator } from './lib/mastodon-emulator.ts';
import { percentile, RssSampler } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    posts: { type: 'string', default: '5000' },
    minutes: { type: 'string', default: '5' },
    accounts: { type: 'string', default: '50' },
    grace: { type: 'string', default: '30' },
    only: { type: 'string' },
    /** Appends Herald's log (info and up) to this file, for looking into a bad run. */
    log: { type: 'string' },
    /** Prints where the database's time went: per command, collection and filter shape. */
    profile: { type: 'boolean', default: false },
  },
});
const POSTS = Math.max(1, Math.floor(Number(args.posts)));
const WINDOW_MS = Math.max(1_000, Number(args.minutes) * 60_000);
const ACCOUNTS = Math.max(1, Math.floor(Number(args.accounts)));
const GRACE_MS = Math.max(1_000, Number(args.grace) * 1_000);
/** After everything has arrived, how long to keep watching for a second copy of anything. */
const SETTLE_MS = 5_000;
const TARGET_P99_MS = 2_000;
const INSERT_PARALLELISM = 4;

/** FerretDB's SQLite backend answers SQLITE_BUSY under write contention: setup retries those. */
async function retrying<T>(what: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await what();
    } catch (error) {
      if (attempt >= 20 || !/SQLITE_BUSY|database is locked/.test(String(error))) throw error;
      await sleep(20 * attempt);
    }
  }
}

interface Configuration {
  name: string;
  env: Record<string, string>;
}

const configurations: Configuration[] = [
  // 1 s: a post is never more than a poll late even when its publishing.network job (queued with
  // now(), which without a notification channel waits for the next poll) just missed one; at 5,000
  // posts per 5 minutes a poll costs one indexed query per job name per second, which is nothing.
  { name: 'Herald', env: { SCHEDULER_POLL_MS: '1000', SCHEDULER_MAX_CONCURRENCY: '20' } },
  { name: 'Agenda defaults', env: { SCHEDULER_POLL_MS: '5000', SCHEDULER_MAX_CONCURRENCY: '20' } },
].filter((c) => !args.only || c.name.toLowerCase().startsWith(args.only.toLowerCase()));

// Setup (inserting 5,000 drafts and jobs) + window + grace, per configuration, with room to spare.
const perRunBudgetMs = WINDOW_MS + GRACE_MS + SETTLE_MS + 60_000 + POSTS * 60;
const watchdog = setTimeout(() => {
  console.error(`bench:schedule did not finish within ${Math.round((perRunBudgetMs * configurations.length) / 1000)} s; giving up`);
  process.exit(1);
}, perRunBudgetMs * configurations.length + 60_000);
watchdog.unref();

interface RunResult {
  name: string;
  pollMs: number;
  posted: number;
  duplicates: number;
  misses: number;
  p50: number;
  p99: number;
  max: number;
  early: number;
  peakRss: number;
  baseRss: number;
  peakDbRss: number | undefined;
  setupMs: number;
  errors: number;
  firstErrors: string[];
  requests: Map<string, number>;
  /** Write commands (insert, update, delete, findAndModify) Herald sent during the window. */
  writes: number;
}

/** Counts warn/error lines Herald logs, and keeps the first few for the report. */
function countingLogger(): { log: ReturnType<typeof createLogger>; errors: () => number; first: string[] } {
  let errors = 0;
  const trace = args.log ? createWriteStream(args.log, { flags: 'a' }) : undefined;
  const first: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      trace?.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        try {
          const entry = JSON.parse(line) as { level?: string; msg?: string; err?: unknown };
          if (entry.level === 'error' || entry.level === 'fatal') {
            errors += 1;
            if (first.length < 3) first.push(`${entry.msg ?? ''} ${JSON.stringify(entry.err ?? '').slice(0, 200)}`);
          }
        } catch {
          // not JSON: ignore
        }
      }
      callback();
    },
  });
  return { log: createLogger({ level: trace ? 'info' : 'error', format: 'json', destination }), errors: () => errors, first };
}

/** A scheduled draft as approving one leaves it, to one Mastodon account. */
function benchDraft(id: string, workspace: string, text: string, scheduledAt: Date, now: Date): Draft {
  return {
    id,
    workspace,
    authorId: 'UBENCH',
    authorName: 'Bench',
    status: 'scheduled',
    version: 1,
    text,
    networks: ['mastodon'],
    variants: [{ network: 'mastodon', posts: [text], source: 'person' }],
    labels: [],
    images: [],
    scheduledAt,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * What the database itself does, measured in the same run on a scratch database holding --posts
 * drafts: single-document writes by _id per second (8 at once, as Herald's concurrent jobs issue
 * them), and one compare-and-set by _id, status and version on the last draft (the filter Herald's
 * draft store uses; MongoDB answers it from the _id index, FerretDB by reading the collection).
 */
async function databaseBaseline(mongoUri: string): Promise<number> {
  const client = new MongoClient(mongoUri);
  await client.connect();
  const db = client.db(`bench_schedule_baseline_${randomBytes(3).toString('hex')}`);
  try {
    const drafts = db.collection<{ _id: string }>('drafts');
    const now = new Date();
    const ids: string[] = [];
    for (let start = 0; start < POSTS; start += 500) {
      const batch = Array.from({ length: Math.min(500, POSTS - start) }, (_, k) => {
        const { id, ...rest } = benchDraft(`d-base${(start + k).toString(36)}`, 'slack:TBASE', `Baseline post #${start + k}`, now, now);
        ids.push(id);
        return { _id: id, ...rest };
      });
      await retrying(() => drafts.insertMany(batch));
    }
    const writes = 1_000;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < writes) {
          const i = next++;
          await retrying(() => drafts.updateOne({ _id: ids[i % ids.length]! }, { $set: { updatedAt: new Date() } }));
        }
      }),
    );
    const perSecond = writes / ((performance.now() - started) / 1000);
    const cas: number[] = [];
    for (let k = 0; k < 10; k += 1) {
      const at = performance.now();
      await retrying(() => drafts.updateOne({ _id: ids.at(-1)!, status: 'scheduled', version: 1 }, { $set: { updatedAt: new Date() } }));
      cas.push(performance.now() - at);
    }
    cas.sort((a, b) => a - b);
    process.stdout.write(`  database baseline: ${perSecond.toFixed(0)} single-document writes/s by _id (8 at once); compare-and-set on the last of ${POSTS} drafts (by _id, status, version): ${percentile(cas, 0.5).toFixed(1)} ms median\n`);
    return perSecond;
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

/** The filter's shape: its field names (operators kept, values dropped), so like queries add up. */
function shape(filter: unknown): string {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter) || filter instanceof Date) return '';
  const keys = Object.entries(filter as Record<string, unknown>).map(([key, value]) => {
    if (Array.isArray(value)) return `${key}[${value.map(shape).join('|')}]`;
    const inner = shape(value);
    return inner && !/^[^$]/.test(inner) ? `${key}:${inner}` : key;
  });
  return `{${keys.join(',')}}`;
}

/**
 * Counts the write commands Herald sends after the setup and, with --profile, sums the time of every
 * command by command, collection and filter shape (off by default: it runs in Herald's process).
 */
function watchCommands(herald: Herald): { start(): void; writes(): number; print(name: string): void } {
  const started = new Map<number, { key: string; at: number }>();
  const totals = new Map<string, { n: number; ms: number }>();
  let recording = false;
  let writes = 0;
  const client = herald.mongo.client;
  client.on('commandStarted', (event) => {
    if (!recording) return;
    if (['insert', 'update', 'delete', 'findAndModify'].includes(event.commandName)) writes += 1;
    if (!args.profile) return;
    const c = event.command as Record<string, unknown>;
    const collection = String(c[event.commandName] ?? '');
    const first = (list: unknown): Record<string, unknown> => (Array.isArray(list) ? (list[0] as Record<string, unknown>) : {}) ?? {};
    const filter = c.filter ?? c.query ?? first(c.updates).q ?? first(c.deletes).q;
    started.set(event.requestId, { key: `${event.commandName} ${collection} ${shape(filter)}`, at: performance.now() });
  });
  const done = (event: { requestId: number }): void => {
    const begun = started.get(event.requestId);
    if (!begun) return;
    started.delete(event.requestId);
    const total = totals.get(begun.key) ?? { n: 0, ms: 0 };
    total.n += 1;
    total.ms += performance.now() - begun.at;
    totals.set(begun.key, total);
  };
  client.on('commandSucceeded', done);
  client.on('commandFailed', done);
  return {
    start() {
      recording = true;
    },
    writes: () => writes,
    print(name) {
      const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20);
      process.stdout.write(`  ${name}: database time by command (top 20)\n`);
      for (const [key, { n, ms }] of rows) process.stdout.write(`    ${(ms / 1000).toFixed(1).padStart(7)} s ${String(n).padStart(7)}× ${(ms / n).toFixed(1).padStart(7)} ms  ${key}\n`);
    },
  };
}

/** FerretDB/mongod is another process: find it by its data folder to sample its RSS too. */
async function findDbPid(dataDir: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dataDir) && Number(entry) !== process.pid) return Number(entry);
  }
  return undefined;
}

async function run(config: Configuration, mongoUri: string, emulator: MastodonEmulator, dbPid: number | undefined): Promise<RunResult> {
  emulator.reset();
  const runTag = randomBytes(3).toString('hex');
  const logger = countingLogger();
  const rss = new RssSampler(250, dbPid);
  rss.start();
  const herald: Herald = await startHerald({
    config: loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: args.log ? 'info' : 'error',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      MONGODB_DB: `bench_schedule_${runTag}`,
      SHUTDOWN_TIMEOUT_MS: '5000',
      HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ...config.env,
    }),
    log: logger.log,
    mongoUri,
    flows: allFlows,
  });
  const commands = watchCommands(herald);
  try {
    const setupStarted = Date.now();
    const workspaces: string[] = [];
    for (let i = 0; i < ACCOUNTS; i += 1) {
      const workspace = `slack:TBENCH${String(i).padStart(4, '0')}`;
      workspaces.push(workspace);
      await retrying(() => herald.stores.accounts.connect({
        workspace,
        network: 'mastodon',
        handle: `bench${emulator.accountIds[i]}@127.0.0.1`,
        connectedBy: 'UBENCH',
        credentials: { instanceUrl: emulator.url, accessToken: emulator.tokens[i]! },
      }));
    }
    // Enough lead for the inserts to finish before the first post is due (measured: FerretDB takes a
    // few ms per draft + job); a draft whose job is inserted after its time is reported as "early".
    const leadMs = 5_000 + POSTS * 10;
    const start = Date.now() + leadMs;
    const step = WINDOW_MS / POSTS;
    const due: number[] = [];
    const byText = new Map<string, number>();
    const now = new Date();
    let next = 0;
    let insertedLate = 0;
    const insertOne = async (i: number): Promise<void> => {
      const scheduledAt = new Date(Math.round(start + i * step));
      const workspace = workspaces[i % ACCOUNTS]!;
      const text = `Bench post ${runTag} #${i} for ${workspace}`;
      const draft = benchDraft(`d-b${runTag}${i.toString(36)}`, workspace, text, scheduledAt, now);
      due[i] = scheduledAt.getTime();
      byText.set(text, i);
      await retrying(() => herald.stores.drafts.insert(draft)).catch((error: unknown) => {
        // A retried insert that had in fact gone through.
        if (!/E11000/.test(String(error))) throw error;
      });
      await retrying(() => herald.scheduler.at(scheduledAt, JobNames.publishDue, { draftId: draft.id, at: scheduledAt.toISOString() }));
      if (Date.now() > scheduledAt.getTime()) insertedLate += 1;
    };
    await Promise.all(
      Array.from({ length: INSERT_PARALLELISM }, async () => {
        while (next < POSTS) await insertOne(next++);
      }),
    );
    const setupMs = Date.now() - setupStarted;
    // Only the window: the setup's inserts are not what is measured.
    commands.start();
    if (insertedLate > 0) process.stdout.write(`  warning: ${insertedLate} job(s) were inserted after their due time (setup ${setupMs} ms)\n`);
    process.stdout.write(`  ${config.name}: ${POSTS} drafts and jobs inserted in ${(setupMs / 1000).toFixed(1)} s; first due at +${((start - Date.now()) / 1000).toFixed(1)} s, last due in ${((start + WINDOW_MS - Date.now()) / 1000).toFixed(0)} s\n`);

    // Wait until every post has arrived (then SETTLE_MS more for late duplicates), or until the
    // window plus the grace period is over.
    const deadline = start + WINDOW_MS + GRACE_MS;
    const seen = new Set<string>();
    let allSeenAt: number | undefined;
    let lastReport = Date.now();
    for (;;) {
      for (const status of emulator.statuses) seen.add(status.text);
      const nowMs = Date.now();
      if (seen.size >= POSTS && allSeenAt === undefined) allSeenAt = nowMs;
      if (allSeenAt !== undefined && nowMs - allSeenAt >= SETTLE_MS) break;
      if (nowMs >= deadline) break;
      if (nowMs - lastReport >= 30_000) {
        lastReport = nowMs;
        process.stdout.write(`  ${config.name}: ${seen.size}/${POSTS} posted, ${Math.max(0, Math.round((start + WINDOW_MS - nowMs) / 1000))} s of the window left\n`);
      }
      await sleep(250);
    }
    rss.stop();
    if (args.profile) commands.print(config.name);

    const firstArrival = new Map<number, number>();
    const copies = new Map<number, number>();
    let early = 0;
    for (const status of emulator.statuses) {
      const i = byText.get(status.text);
      if (i === undefined) continue;
      copies.set(i, (copies.get(i) ?? 0) + 1);
      if (!firstArrival.has(i)) firstArrival.set(i, status.arrivedAt);
    }
    const lateness: number[] = [];
    for (const [i, at] of firstArrival) {
      const late = at - due[i]!;
      if (late < 0) early += 1;
      lateness.push(late);
    }
    lateness.sort((a, b) => a - b);
    let duplicates = 0;
    for (const n of copies.values()) duplicates += n - 1;
    return {
      name: config.name,
      pollMs: Number(config.env.SCHEDULER_POLL_MS),
      posted: firstArrival.size,
      duplicates,
      misses: POSTS - firstArrival.size,
      p50: percentile(lateness, 0.5),
      p99: percentile(lateness, 0.99),
      max: lateness.at(-1) ?? Number.NaN,
      early,
      peakRss: rss.peak,
      baseRss: rss.first,
      peakDbRss: rss.peakOther,
      setupMs,
      errors: logger.errors(),
      firstErrors: logger.first,
      requests: new Map(emulator.requests),
      writes: commands.writes(),
    };
  } finally {
    rss.stop();
    await herald.stop();
    await herald.mongo.db.dropDatabase().catch(() => undefined);
  }
}

const mb = (bytes: number | undefined): string => (bytes === undefined ? '—' : `${(bytes / 1024 / 1024).toFixed(0)} MB`);
const sec = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '—');

async function main(): Promise<void> {
  // As src/main.ts does: a rejection nobody awaited (Agenda releases locks without awaiting; FerretDB
  // answers SQLITE_BUSY under load) is logged, not fatal, so the run reports what happened.
  let unhandled = 0;
  process.on('unhandledRejection', (reason) => {
    unhandled += 1;
    if (unhandled <= 3) process.stderr.write(`  unhandled rejection: ${String(reason).slice(0, 200)}\n`);
  });
  const emulator = await createMastodonEmulator({ accounts: ACCOUNTS });
  let embedded: EmbeddedMongo | undefined;
  let dataDir: string | undefined;
  const results: RunResult[] = [];
  let writesPerSecond: number | undefined;
  try {
    let mongoUri = process.env.MONGODB_URI;
    let dbPid: number | undefined;
    let dbKind = 'MONGODB_URI';
    if (!mongoUri) {
      // In memory where the machine has a tmpfs, like the tests: SQLite's syncs to disk are not what is measured.
      dataDir = await mkdtemp(path.join(process.env.TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'herald-bench-schedule-'));
      embedded = await startEmbeddedMongo({ dataDir });
      mongoUri = embedded.uri;
      dbKind = embedded.kind;
      dbPid = await findDbPid(dataDir);
    }
    process.stdout.write(`\nbench:schedule — ${POSTS} posts over ${(WINDOW_MS / 60_000).toFixed(2)} min across ${ACCOUNTS} Mastodon accounts (${(POSTS / (WINDOW_MS / 1000)).toFixed(1)} posts/s), database: ${dbKind}, Node ${process.version}\n`);
    if (dbKind === 'ferretdb') {
      process.stdout.write('  note: FerretDB 1.24 on SQLite reads the whole table for every query, by _id too (its _id index is on another expression than its queries use), and serialises writes; its baseline below says how fast it writes. Set MONGODB_URI to a MongoDB for figures about Herald.\n');
    }
    writesPerSecond = await databaseBaseline(mongoUri);
    for (const configuration of configurations) results.push(await run(configuration, mongoUri, emulator, dbPid));
  } finally {
    await emulator.close();
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }

  process.stdout.write(`\nPublish lateness (status arrival at the emulator − scheduledAt); grace ${GRACE_MS / 1000} s after the window\n\n`);
  const head = `${'configuration'.padEnd(17)}${'poll'.padStart(7)}${'posted'.padStart(8)}${'dupes'.padStart(7)}${'misses'.padStart(8)}${'p50'.padStart(9)}${'p99'.padStart(9)}${'max'.padStart(9)}${'RSS start'.padStart(11)}${'RSS peak'.padStart(10)}${'DB RSS pk'.padStart(11)}${'errors'.padStart(8)}`;
  process.stdout.write(`${head}\n`);
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(17)}${`${r.pollMs / 1000} s`.padStart(7)}${String(r.posted).padStart(8)}${String(r.duplicates).padStart(7)}${String(r.misses).padStart(8)}${sec(r.p50).padStart(9)}${sec(r.p99).padStart(9)}${sec(r.max).padStart(9)}${mb(r.baseRss).padStart(11)}${mb(r.peakRss).padStart(10)}${mb(r.peakDbRss).padStart(11)}${String(r.errors).padStart(8)}\n`,
    );
  }
  for (const r of results) {
    const perPost = [...r.requests].map(([route, n]) => `${route} ${(n / Math.max(1, r.posted)).toFixed(2)}`).join(', ');
    process.stdout.write(`\n${r.name}: requests per post: ${perPost}${r.early ? `; ${r.early} arrived before their time` : ''}`);
    for (const line of r.firstErrors) process.stdout.write(`\n  error: ${line}`);
  }
  process.stdout.write('\n');
  if (unhandled > 0) process.stdout.write(`${unhandled} unhandled rejection(s) (logged, as Herald's main does)\n`);
  const herald = results.find((r) => r.name === 'Herald');
  const agenda = results.find((r) => r.name === 'Agenda defaults');
  if (herald && agenda) process.stdout.write(`\np99 ratio Herald / Agenda defaults: ${(herald.p99 / agenda.p99).toFixed(2)}×\n`);
  for (const r of results) {
    // What the run asked of the database against what it does on its own (writes to one table of
    // --posts drafts; Herald's other tables are smaller, so that is the slow end).
    const perPost = r.writes / Math.max(1, r.posted);
    const needed = perPost * (POSTS / (WINDOW_MS / 1000));
    process.stdout.write(`${r.name}: ${perPost.toFixed(1)} database writes per post; this run's rate needs ${needed.toFixed(0)} writes/s, ${(needed / (writesPerSecond ?? Number.NaN)).toFixed(1)}× the baseline's writes/s\n`);
  }
  if (herald) {
    const met = herald.p99 < TARGET_P99_MS && herald.duplicates === 0 && herald.misses === 0;
    process.stdout.write(`Target: p99 lateness < ${TARGET_P99_MS / 1000} s, 0 duplicates, 0 misses → ${met ? 'met' : 'NOT MET'} (p99 ${sec(herald.p99)}, ${herald.duplicates} duplicates, ${herald.misses} misses)\n`);
    if (!met) process.exitCode = 1;
  }
}

await main();
// Everything is stopped; if a stray handle (a keep-alive socket, a library timer) still holds the
// event loop, say what it is and exit anyway: the bench must stop by itself.
setTimeout(() => {
  process.stderr.write(`bench:schedule: exiting with handles still open: ${process.getActiveResourcesInfo().join(', ')}\n`);
  process.exit();
}, 3_000).unref();
