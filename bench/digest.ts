/**
 * `npm run bench:digest`: one workspace's weekly digest over a large history, the way Herald
 * computes it (flows/digest-report.ts: the day buckets of the week and the one before, read by
 * `_id`) side by side with a naive computation that loads the workspace's whole history
 * into Herald and adds it up there, in the same run and on the same data.
 *
 * History (test/support/history.ts, seeded): --accounts accounts (default 200) posting for --days
 * days, --posts publications in all (default 500,000) with their latest counters, one raw
 * snapshot per post (--snapshots 0 to skip them), a daily follower count per account, and inbox,
 * drafts and incidents for the last weeks. Each computation runs --runs times (default 7) after
 * one warm-up; reported: median and p99 time, and the peak heap growth of each (sampled every
 * 5 ms from a collected baseline), plus the ratio naive ÷ Herald.
 *
 * Target: Herald's computation under 2 s (p99) with memory bounded by the week, not the history.
 * Without MONGODB_URI it runs on the embedded database (FerretDB here, on a tmpfs). Exits 1 when
 * the target is missed or the two computations disagree.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { computeReport, type DigestReport } from '../flows/digest-report.ts';
import type { Clock } from '../src/core/clock.ts';
import { dayIn, previousRange } from '../src/core/digest.ts';
import type { FlowContext } from '../src/flow.ts';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/store/embedded.ts';
import { createStores } from '../src/store/stores.ts';
import { generateHistory, insertHistory, type HistoryAccount } from '../test/support/history.ts';
import { percentile } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '200' },
    posts: { type: 'string', default: '500000' },
    days: { type: 'string', default: '365' },
    runs: { type: 'string', default: '7' },
    snapshots: { type: 'string', default: '1' },
  },
});
const ACCOUNTS = Math.max(1, Number(args.accounts));
const POSTS = Math.max(1, Number(args.posts));
const DAYS = Math.max(14, Number(args.days));
const RUNS = Math.max(1, Number(args.runs));
const SNAPSHOTS = args.snapshots !== '0';
const TARGET_MS = 2_000;
const DAY = 86_400_000;
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`;
const q = (values: readonly number[], p: number): number => percentile([...values].sort((a, b) => a - b), p);

/** Peak heap growth over a collected baseline while `work` runs. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; heap: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
  const started = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - started;
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return { value, ms, heap: peak - base };
  } finally {
    clearInterval(timer);
  }
}

interface NaiveFigures {
  posts: Map<string, number>;
  engagement: Map<string, number>;
  previousPosts: Map<string, number>;
  top: string[];
  byDay: Map<string, number>;
}

/** Loads everything the workspace ever published and adds the week up in Herald. */
async function naive(db: ReturnType<MongoClient['db']>, workspace: string, from: Date, to: Date, zone: string): Promise<NaiveFigures> {
  const all = await db.collection('publications').find({ workspace }).toArray();
  const before = previousRange(from, to);
  const figures: NaiveFigures = { posts: new Map(), engagement: new Map(), previousPosts: new Map(), top: [], byDay: new Map() };
  const week: { id: string; engagement: number; at: number }[] = [];
  for (const p of all) {
    if (p.status !== 'published' || !(p.publishedAt instanceof Date)) continue;
    const at = p.publishedAt.getTime();
    const account = String(p.accountId);
    if (at >= from.getTime() && at < to.getTime()) {
      figures.posts.set(account, (figures.posts.get(account) ?? 0) + 1);
      figures.engagement.set(account, (figures.engagement.get(account) ?? 0) + Number(p.engagement ?? 0));
      const key = `${dayIn(p.publishedAt, zone)}:${String(p.network)}`;
      figures.byDay.set(key, (figures.byDay.get(key) ?? 0) + Number(p.engagement ?? 0));
      week.push({ id: String(p._id), engagement: Number(p.engagement ?? 0), at });
    } else if (at >= before.from.getTime() && at < before.to.getTime()) {
      figures.previousPosts.set(account, (figures.previousPosts.get(account) ?? 0) + 1);
    }
  }
  figures.top = week.sort((a, b) => b.engagement - a.engagement || a.at - b.at).slice(0, 3).map((p) => p.id);
  return figures;
}

function agree(report: DigestReport, figures: NaiveFigures): string[] {
  const problems: string[] = [];
  for (const account of report.accounts) {
    if (account.posts !== (figures.posts.get(account.accountId) ?? 0)) problems.push(`${account.accountId} posts ${account.posts} ≠ ${figures.posts.get(account.accountId) ?? 0}`);
    if (account.engagement !== (figures.engagement.get(account.accountId) ?? 0)) problems.push(`${account.accountId} engagement differs`);
    if (account.previous.posts !== (figures.previousPosts.get(account.accountId) ?? 0)) problems.push(`${account.accountId} previous posts differ`);
  }
  if (report.top.map((p) => p.id).join() !== figures.top.join()) problems.push(`top posts ${report.top.map((p) => p.id).join()} ≠ ${figures.top.join()}`);
  for (const row of report.engagementByDay) if (row.engagement !== (figures.byDay.get(`${row.day}:${row.network}`) ?? 0)) problems.push(`engagement of ${row.day} ${row.network} differs`);
  return problems.slice(0, 5);
}

async function main(): Promise<number> {
  let embedded: EmbeddedMongo | undefined;
  let dataDir: string | undefined;
  let client: MongoClient | undefined;
  const watchdog = setTimeout(() => {
    say('bench:digest did not finish within 40 minutes; giving up');
    process.exit(1);
  }, 40 * 60_000);
  try {
    let uri = process.env.MONGODB_URI;
    let kind = 'MONGODB_URI';
    if (!uri) {
      dataDir = await mkdtemp(path.join(process.env.TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'herald-bench-digest-'));
      embedded = await startEmbeddedMongo({ dataDir });
      uri = embedded.uri;
      kind = embedded.kind;
    }
    say(`\nbench:digest — database: ${kind}, Node ${process.version}, ${cpus().length} CPU(s)`);
    client = await MongoClient.connect(uri);
    const db = client.db(`bench_digest_${Date.now().toString(36)}`);
    // Monday 09:00 in Bucharest after the history ends: the digest of its last full week.
    const end = new Date('2026-11-30T00:00:00Z');
    const now = new Date('2026-11-30T07:00:00Z');
    const clock: Clock = { now: () => now };
    const stores = await createStores(db, clock);
    const workspace = 'slack:TBENCH';
    const accounts: HistoryAccount[] = Array.from({ length: ACCOUNTS }, (_, i) => ({ id: `a-${i.toString(36).padStart(4, '0')}`, network: i % 2 === 0 ? 'bluesky' : 'mastodon', handle: `brand${i}` }));
    await db.collection('accounts').insertMany(accounts.map((a) => ({ _id: a.id, workspace, network: a.network, handle: a.handle, health: 'ok', epoch: 1, connectedBy: 'U1', createdAt: new Date(end.getTime() - DAYS * DAY), updatedAt: end, credentials: { iv: '', tag: '', data: '' } })) as never[]);
    await db.collection('workspace_settings').insertOne({ _id: workspace, timezone: 'Europe/Bucharest' } as never);

    const generated = performance.now();
    const history = generateHistory({ workspace, accounts, end, days: DAYS, seed: 7, postsPerDay: POSTS / (ACCOUNTS * DAYS), postsOnly: true });
    const recent = generateHistory({ workspace, accounts: accounts.slice(0, 10), end, days: 21, seed: 8, postsPerDay: 0 });
    history.items = recent.items;
    history.conversations = recent.conversations;
    history.drafts = recent.drafts;
    history.incidents = recent.incidents;
    await insertHistory(db, history, 2_000);
    if (SNAPSHOTS) {
      const snapshots = history.publications.filter((p) => p.status === 'published').map((p) => ({ _id: `${p._id}:7d`, publicationId: p._id, workspace, accountId: p.accountId, network: p.network, stage: '7d', at: p.metricsAt, publishedAt: p.publishedAt, engagement: p.engagement, ...p.metrics }));
      for (let i = 0; i < snapshots.length; i += 2_000) await db.collection('metric_snapshots').insertMany(snapshots.slice(i, i + 2_000) as never[], { ordered: false });
    }
    say(`  history: ${ACCOUNTS} accounts, ${history.publications.length.toLocaleString('en')} publications over ${DAYS} days${SNAPSHOTS ? ' with a raw snapshot each' : ''}, ${history.followers.length.toLocaleString('en')} follower counts, ${history.items.length} inbox items; written in ${((performance.now() - generated) / 1000).toFixed(0)} s`);

    const settings = await stores.settings.get(workspace);
    const app = { stores, clock } as unknown as FlowContext;
    const from = new Date('2026-11-22T22:00:00Z');
    const to = new Date('2026-11-29T22:00:00Z');
    const herald = () => computeReport(app, settings, { from, to });
    const load = () => naive(db, workspace, from, to, 'Europe/Bucharest');

    const first = await herald();
    const problems = agree(first, await load());
    const heraldRuns: { ms: number; heap: number }[] = [];
    const naiveRuns: { ms: number; heap: number }[] = [];
    for (let run = 0; run < RUNS; run++) {
      heraldRuns.push(await measured(herald));
      naiveRuns.push(await measured(load));
    }
    const line = (name: string, runs: { ms: number; heap: number }[]): string =>
      `  ${name.padEnd(34)} median ${q(runs.map((r) => r.ms), 0.5).toFixed(0).padStart(6)} ms   p99 ${q(runs.map((r) => r.ms), 0.99).toFixed(0).padStart(6)} ms   peak heap +${mib(Math.max(...runs.map((r) => r.heap)))}`;
    say(`  week ${from.toISOString().slice(0, 10)} → ${to.toISOString().slice(0, 10)}: ${first.totals.posts.toLocaleString('en')} posts, ${first.totals.engagement.toLocaleString('en')} engagements; ${RUNS} runs each after a warm-up`);
    say(line('Herald (day buckets, by _id)', heraldRuns));
    say(line('naive (load the whole history)', naiveRuns));
    const ratio = q(naiveRuns.map((r) => r.ms), 0.5) / q(heraldRuns.map((r) => r.ms), 0.5);
    say(`  naive ÷ Herald: ${ratio.toFixed(1)}× time, ${(Math.max(...naiveRuns.map((r) => r.heap)) / Math.max(1, Math.max(...heraldRuns.map((r) => r.heap)))).toFixed(1)}× peak heap`);
    if (problems.length > 0) say(`  DISAGREE: ${problems.join('; ')}`);
    const p99 = q(heraldRuns.map((r) => r.ms), 0.99);
    const pass = problems.length === 0 && p99 < TARGET_MS;
    say(`  target: Herald p99 < ${TARGET_MS} ms and the two agree — ${pass ? 'PASS' : 'MISS'}`);
    await db.dropDatabase();
    return pass ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    await client?.close();
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
