/**
 * `npm run bench:inbox`: what the social inbox does with a stream of comments and mentions.
 *
 * Everything runs on 127.0.0.1: the embedded database (FerretDB here, or MONGODB_URI), the Slack
 * emulator, and an in-process fake network registered as the Bluesky connector for this process
 * only (bench/lib/fake-inbox.ts), whose fetchInbox serves generated items after the cursor and
 * re-serves the last one (real cursors are inclusive at their edge). Three phases, each stopping by
 * itself:
 *
 *   1. Ingestion   ingest() called directly, one call at a time (one core): each call finds --batch
 *                  new items (--items in all) → dedupe, lexicon labels (no OPENAI_MODEL), routing,
 *                  conversation, insert. Baseline in the same run, batch by batch: the same documents
 *                  inserted raw (insertOne each, and insertMany) into collections with the same indexes.
 *   2. Latency     a whole Herald against the Slack emulator, INBOX_POLL_SECONDS=--poll,
 *                  CHAT_MESSAGES_PER_SECOND=1; one new item every --steady-every s for
 *                  --steady-seconds s, once per interval given (default 1.5 s, then 2.5 s; a card
 *                  is one chat write, so both rates are below the limit); latency = the card's
 *                  arrival at the emulator − the item's creation.
 *   3. Burst       --burst items evenly within --burst-seconds s into one channel; the emulator
 *                  records every chat write into it (posts, thread replies, updates) with its time.
 *
 * Targets: ≥ 500 items/s ingested (median batch); latency p99 ≤ poll interval + 2 s; in the burst
 * zero items lost and at most CHAT_MESSAGES_PER_SECOND chat writes into the channel in any second.
 * Prints a table and exits (code 1 when a target is missed). The embedded database keeps its files
 * in /dev/shm where there is one (else TMPDIR or the OS temp folder), as the tests do.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection } from 'mongodb';
import { allFlows } from '../flows/index.ts';
import inboxFlow, { ingest, scheduleFetches } from '../flows/inbox.ts';
import { startHerald, type Herald } from '../src/app.ts';
import { parseRef } from '../src/chat/port.ts';
import { loadConfig } from '../src/config.ts';
import type { InboxRule } from '../src/core/inbox.ts';
import type { Flow } from '../src/flow.ts';
import { JobNames } from '../src/jobs/names.ts';
import { createLogger, type Logger } from '../src/log.ts';
import { connectors } from '../src/networks/index.ts';
import type { Account } from '../src/store/accounts.ts';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/store/embedded.ts';
import type { InboxSummary, StoredItem } from '../src/store/inbox.ts';
import { createSlackEmulator, type ChangeEvent, type SlackEmulator } from '../src/sandbox/slack-emulator/index.ts';
import { FakeFeed, fakeInboxConnector, itemGenerator, type ClassMix } from './lib/fake-inbox.ts';
import { cpuMsOf, findPidByCommandLine, ownCpuMs } from './lib/proc.ts';
import { percentile } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    /** Sizes default by database: see sizesFor(). */
    items: { type: 'string' },
    batch: { type: 'string' },
    poll: { type: 'string', default: '2' },
    'steady-seconds': { type: 'string', default: '30' },
    /** Seconds between items; a comma-separated list runs one steady load after the other. */
    'steady-every': { type: 'string', default: '1.5,2.5' },
    burst: { type: 'string' },
    'burst-seconds': { type: 'string', default: '60' },
    /** Share of burst items that answer an earlier one (follow-ups of a conversation). */
    'burst-replies': { type: 'string', default: '0.01' },
    /** Agenda's poll: an inbox.deliver job queued by a fetch waits for the next one. */
    'scheduler-poll-ms': { type: 'string', default: '1000' },
    /** ingest, latency or burst: run one phase only. */
    only: { type: 'string' },
    /** Appends Herald's log (info and up) to this file, for looking into a bad run. */
    log: { type: 'string' },
  },
});
const POLL_SECONDS = Math.max(1, Math.floor(Number(args.poll)));
const STEADY_MS = Math.max(1_000, Number(args['steady-seconds']) * 1_000);
const STEADY_EVERIES_MS = String(args['steady-every']).split(',').map((every) => Math.max(100, Number(every) * 1_000));
const BURST_MS = Math.max(1_000, Number(args['burst-seconds']) * 1_000);
const BURST_REPLIES = Math.min(1, Math.max(0, Number(args['burst-replies'])));
const SCHEDULER_POLL_MS = Math.max(100, Math.floor(Number(args['scheduler-poll-ms'])));
const CHAT_PER_SECOND = 1;

const TARGET_ITEMS_PER_SECOND = 500;
const TARGET_LATENCY_MS = POLL_SECONDS * 1_000 + 2_000;
/** After the last steady item, how long its card may take before the phase gives up on it. */
const LATENCY_DRAIN_MS = 30_000;
/** After the last burst item, how long delivery may take before what still waits counts as lost. */
const BURST_DRAIN_MS = 60_000;
/** Delivery counts as finished once nothing waits and the channel has been quiet this long. */
const QUIET_MS = 3_000;

/** What an inbox sees on an ordinary day, and in a burst (a post that went viral: mostly chatter). */
const DAY_MIX: ClassMix = { neutral: 40, positive: 25, question: 15, negative: 15, urgent: 5 };
const BURST_MIX: ClassMix = { neutral: 51, positive: 40, question: 5, negative: 3, urgent: 1 };

const phases = ['ingest', 'latency', 'burst'].filter((p) => !args.only || p.startsWith(args.only.toLowerCase()));
const runTag = randomBytes(3).toString('hex');

interface Sizes {
  /** Phase 1: items in all, and per ingest() call. */
  items: number;
  batch: number;
  /** Phase 3: items within BURST_MS. */
  burst: number;
  /** Why the defaults are smaller than the issue's figures, when they are. */
  scaledBecause?: string;
}

/**
 * The issue's sizes (3,000 items ingested, 2,000 in the burst) on MongoDB, in calls of 100 items
 * (under load a fetch reads several full pages: Bluesky's hold 50, Mastodon's 40). FerretDB 1.24 on
 * SQLite pushes only `_id` equality down to SQLite: any other find, and every update, reads the
 * whole collection in FerretDB itself, so such commands cost more the more is stored. Ingestion
 * avoids them (edge ids instead of a lookup, primary-key lookups, recent conversations in memory),
 * but a follow-up's conversation update and the delivery's item updates still scan: smaller totals
 * keep the bench bounded there.
 */
function sizesFor(dbKind: string): Sizes {
  const slow = dbKind === 'ferretdb';
  const pick = (given: string | undefined, full: number, small: number): number => (given === undefined ? (slow ? small : full) : Math.max(1, Math.floor(Number(given))));
  return {
    items: pick(args.items, 3_000, 1_000),
    batch: pick(args.batch, 100, 100),
    burst: pick(args.burst, 2_000, 500),
    ...(slow ? { scaledBecause: 'FerretDB/SQLite scans a collection for every update and every find not on _id alone; set MONGODB_URI for the full sizes' } : {}),
  };
}

/** A bench that hangs is worse than one that fails: give up after a generous bound. */
function armWatchdog(sizes: Sizes): NodeJS.Timeout {
  // Phase 1 at worst ~60 ms per item on FerretDB; phases 2 and 3 are their windows plus drains; start-ups.
  const budgetMs = 60_000 + sizes.items * 60 + (STEADY_MS + LATENCY_DRAIN_MS) * STEADY_EVERIES_MS.length + BURST_MS + BURST_DRAIN_MS + 30_000;
  const watchdog = setTimeout(() => {
    console.error(`bench:inbox did not finish within ${Math.round(budgetMs / 1000)} s; giving up`);
    process.exit(1);
  }, budgetMs);
  watchdog.unref();
  return watchdog;
}

// The fake network takes the Bluesky connector's place in this process: the flow asks
// connectorFor('bluesky') and gets it. Each account names its feed in its credentials.
const feeds = new Map<string, FakeFeed>();
connectors.bluesky = fakeInboxConnector('bluesky', feeds);

// ---------------------------------------------------------------------------------------------
// Helpers

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** Counts the warn and error lines Herald logs, keeping the first few for the report. */
function countingLogger(): { log: Logger; problems: () => number; first: string[] } {
  let problems = 0;
  const first: string[] = [];
  const trace = args.log ? createWriteStream(args.log, { flags: 'a' }) : undefined;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      trace?.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        try {
          const entry = JSON.parse(line) as { level?: string; msg?: string; err?: unknown };
          if (entry.level !== 'warn' && entry.level !== 'error' && entry.level !== 'fatal') continue;
          problems += 1;
          if (first.length < 3) first.push(`${entry.level}: ${entry.msg ?? ''} ${JSON.stringify(entry.err ?? '').slice(0, 160)}`);
        } catch {
          // not JSON: ignore
        }
      }
      callback();
    },
  });
  return { log: createLogger({ level: trace ? 'info' : 'warn', format: 'json', destination }), problems: () => problems, first };
}

async function startBenchHerald(mongoUri: string, dbName: string, env: Record<string, string>, flows: readonly Flow[], log: Logger): Promise<Herald> {
  return startHerald({
    config: loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      MONGODB_DB: dbName,
      SHUTDOWN_TIMEOUT_MS: '5000',
      HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      SCHEDULER_POLL_MS: String(SCHEDULER_POLL_MS),
      ...env,
    }),
    log,
    mongoUri,
    flows,
  });
}

/** An account of the fake network reading `feed` (the connector ignores everything else). */
async function connectFeedAccount(herald: Herald, workspace: string, feed: string): Promise<Account> {
  return herald.stores.accounts.connect({ workspace, network: 'bluesky', handle: `bench-${feed}.bsky.test`, connectedBy: 'UBENCH', credentials: { feed } });
}

/** Polls until `check` holds or the time is up; says which. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, stepMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}

async function sleepUntil(at: number): Promise<void> {
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait);
}

const median = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 0.5);
const p99 = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 0.99);

// ---------------------------------------------------------------------------------------------
// Phase 1: ingestion throughput

interface IngestResult {
  items: number;
  batches: number;
  /** Per batch: ms per item, for ingest() and for the two raw baselines. */
  ingestMsPerItem: number[];
  insertOneMsPerItem: number[];
  insertManyMsPerItem: number[];
  /** inbox_items documents before each batch. */
  storedBefore: number[];
  overallItemsPerSecond: number;
  /** CPU spent per ingested item: this process (Node) and the database server. */
  nodeCpuMsPerItem: number;
  dbCpuMsPerItem: number | undefined;
  /** Database commands sent during the ingest() calls, by command name. */
  commands: Map<string, number>;
  dropped: number;
  shortBatches: number;
  problems: number;
  first: string[];
}

/** An inbox_items document as the store writes it. */
type ItemDocument = Omit<StoredItem, 'id'> & { _id: string };
const itemsOf = (herald: Herald): Collection<ItemDocument> => herald.mongo.db.collection<ItemDocument>('inbox_items');

/** Routing as a team would set it up: a keyword rule, a sentiment rule, then the account's channel. */
const rulesFor = (accountId: string, channel: string): InboxRule[] => [
  { id: 'bench-billing', channel: `${channel}_BILLING`, keywords: ['refund', 'remboursement', 'rambursare', 'invoice'] },
  { id: 'bench-care', channel: `${channel}_CARE`, sentiment: 'negative', accounts: [accountId] },
  { id: 'bench-all', channel, accounts: [accountId] },
];

/** A collection like inbox_items (same indexes), for the raw-insert baseline. */
async function baselineCollection(herald: Herald, name: string): Promise<Collection<ItemDocument>> {
  const collection = herald.mongo.db.collection<ItemDocument>(name);
  const model = herald.stores.inbox.repositories.find((r) => r.collectionName === 'inbox_items');
  if (model) await collection.createIndexes([...model.indexes]);
  return collection;
}

/** One timed stretch: its result, wall time, and CPU spent here and in the database server. */
interface Timed<T> {
  value: T;
  ms: number;
  nodeCpuMs: number;
  dbCpuMs: number | undefined;
}

async function timed<T>(dbPid: number | undefined, what: () => Promise<T>): Promise<Timed<T>> {
  const [nodeBefore, dbBefore] = [ownCpuMs(), await cpuMsOf(dbPid)];
  const started = performance.now();
  const value = await what();
  const ms = performance.now() - started;
  const [nodeAfter, dbAfter] = [ownCpuMs(), await cpuMsOf(dbPid)];
  return { value, ms, nodeCpuMs: nodeAfter - nodeBefore, dbCpuMs: dbBefore !== undefined && dbAfter !== undefined ? dbAfter - dbBefore : undefined };
}

/** The same documents, inserted raw (no fetch, dedupe, labels, conversation); ms per item. */
async function baselines(herald: Herald, raw: { one: Collection<ItemDocument>; many: Collection<ItemDocument> }, remoteIds: readonly string[]): Promise<{ one: number; many: number }> {
  const docs = await itemsOf(herald).find({ remoteId: { $in: [...remoteIds] } }).toArray();
  const perItem = (started: number, n: number): number => (performance.now() - started) / Math.max(1, n);
  let started = performance.now();
  for (const doc of docs) await raw.one.insertOne({ ...doc });
  const one = perItem(started, docs.length);
  started = performance.now();
  if (docs.length > 0) await raw.many.insertMany(docs.map((doc) => ({ ...doc })));
  const many = perItem(started, docs.length);
  return { one, many };
}

async function ingestionPhase(mongoUri: string, dbPid: number | undefined, sizes: Sizes): Promise<IngestResult> {
  const { items: total, batch } = sizes;
  const feed = new FakeFeed({ overlap: 1, pageSize: batch + 1 });
  feeds.set('ingest', feed);
  const logger = countingLogger();
  // Only the inbox flow (ingest queues inbox.deliver, which must be defined); the scheduler polls
  // once a minute so its queued deliveries do not compete with ingestion for the database.
  const herald = await startBenchHerald(mongoUri, `bench_inbox_ingest_${runTag}`, { SCHEDULER_POLL_MS: '60000' }, [inboxFlow], logger.log);
  try {
    const workspace = 'slack:TBENCHINGEST';
    const account = await connectFeedAccount(herald, workspace, 'ingest');
    await herald.stores.settings.update(workspace, { inboxRules: rulesFor(account.id, 'C_INBOX'), approvalsChannel: 'C_APPROVALS' });
    const raw = { one: await baselineCollection(herald, 'bench_raw_insert_one'), many: await baselineCollection(herald, 'bench_raw_insert_many') };
    const generate = itemGenerator({ tag: `${runTag}i`, mix: DAY_MIX, replies: 0.2, seed: 1 });
    const log = logger.log.child({ bench: 'ingest' });

    // Warm-up (connections, JIT, SQLite pages): one small batch, not counted.
    for (let i = 0; i < Math.min(20, batch); i += 1) feed.release(generate.next());
    await ingest(herald.context, account.id, log);

    const result: IngestResult = { items: 0, batches: 0, ingestMsPerItem: [], insertOneMsPerItem: [], insertManyMsPerItem: [], storedBefore: [], overallItemsPerSecond: 0, nodeCpuMsPerItem: 0, dbCpuMsPerItem: undefined, commands: new Map(), dropped: 0, shortBatches: 0, problems: 0, first: [] };
    // Round trips are what an item costs on any backend: count the commands ingest() sends.
    let counting = false;
    herald.mongo.client.on('commandStarted', (event) => {
      if (counting) result.commands.set(event.commandName, (result.commands.get(event.commandName) ?? 0) + 1);
    });
    const totals = { ms: 0, nodeCpuMs: 0, dbCpuMs: 0 as number | undefined };
    const reservedBefore = feed.reserved;
    for (let done = 0; done < total; done += batch) {
      const size = Math.min(batch, total - done);
      result.storedBefore.push(await itemsOf(herald).countDocuments({}));
      const fresh = Array.from({ length: size }, () => generate.next());
      for (const item of fresh) feed.release(item);
      counting = true;
      const run = await timed(dbPid, () => ingest(herald.context, account.id, log));
      counting = false;
      totals.ms += run.ms;
      totals.nodeCpuMs += run.nodeCpuMs;
      totals.dbCpuMs = totals.dbCpuMs !== undefined && run.dbCpuMs !== undefined ? totals.dbCpuMs + run.dbCpuMs : undefined;
      if (run.value !== size) result.shortBatches += 1;
      result.items += run.value;
      result.batches += 1;
      result.ingestMsPerItem.push(run.ms / size);
      const base = await baselines(herald, raw, fresh.map((item) => item.remoteId));
      result.insertOneMsPerItem.push(base.one);
      result.insertManyMsPerItem.push(base.many);
    }
    result.overallItemsPerSecond = (result.items / totals.ms) * 1_000;
    result.nodeCpuMsPerItem = totals.nodeCpuMs / Math.max(1, result.items);
    result.dbCpuMsPerItem = totals.dbCpuMs === undefined ? undefined : totals.dbCpuMs / Math.max(1, result.items);
    result.dropped = feed.reserved - reservedBefore;
    result.problems = logger.problems();
    result.first = logger.first;
    return result;
  } finally {
    await herald.stop();
    await herald.mongo.db.dropDatabase().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Chat side: every write Herald makes into a channel, timed where it lands

interface ChatWrite {
  kind: 'post' | 'reply' | 'update';
  channel: string;
  ts: string;
  /** Epoch ms at which the emulator stored it. */
  at: number;
}

/**
 * The emulator's ts values count messages, they are not clock times: the time of each write is
 * taken from the emulator's change events instead (synchronous with the API call it answers).
 */
function recordChatWrites(emulator: SlackEmulator): { writes: ChatWrite[]; postedAt(channel: string, ts: string): number | undefined; stop(): void } {
  const writes: ChatWrite[] = [];
  const posted = new Map<string, number>();
  const onChange = (change: ChangeEvent): void => {
    if (!change.channel || !change.ts) return;
    const at = Date.now();
    if (change.kind === 'message.updated') writes.push({ kind: 'update', channel: change.channel, ts: change.ts, at });
    if (change.kind !== 'message.posted') return;
    const message = emulator.lastMessage(change.channel);
    const inThread = message?.ts === change.ts && message.thread_ts !== undefined && message.thread_ts !== message.ts;
    writes.push({ kind: inThread ? 'reply' : 'post', channel: change.channel, ts: change.ts, at });
    posted.set(`${change.channel}/${change.ts}`, at);
  };
  emulator.events.on('change', onChange);
  return { writes, postedAt: (channel, ts) => posted.get(`${channel}/${ts}`), stop: () => emulator.events.off('change', onChange) };
}

interface ChatSetup {
  herald: Herald;
  emulator: SlackEmulator;
  recorder: ReturnType<typeof recordChatWrites>;
  workspace: string;
  /** One account per steady rate (each its own feed, all into the latency channel), and the burst's. */
  steady: Account[];
  burst: Account;
  logger: ReturnType<typeof countingLogger>;
}

const LATENCY_CHANNEL = 'C_INBOX_LATENCY';
const BURST_CHANNEL = 'C_INBOX_BURST';

async function startChatSetup(mongoUri: string): Promise<ChatSetup> {
  const emulator = await createSlackEmulator();
  emulator.addChannel({ id: LATENCY_CHANNEL, name: 'inbox-latency' });
  emulator.addChannel({ id: BURST_CHANNEL, name: 'inbox-burst' });
  const recorder = recordChatWrites(emulator);
  const logger = countingLogger();
  const herald = await startBenchHerald(
    mongoUri,
    `bench_inbox_chat_${runTag}`,
    { SLACK_BOT_TOKEN: emulator.botToken, SLACK_APP_TOKEN: emulator.appToken, SLACK_API_URL: emulator.apiUrl, INBOX_POLL_SECONDS: String(POLL_SECONDS), CHAT_MESSAGES_PER_SECOND: String(CHAT_PER_SECOND) },
    allFlows,
    logger.log,
  );
  if (!(await waitUntil(async () => herald.chat.all().every((a) => a.isReady()), 15_000, 50))) throw new Error('Herald did not connect to the Slack emulator within 15 s');
  const workspace = `slack:${emulator.teamId}`;
  const steady: Account[] = [];
  for (let i = 0; i < STEADY_EVERIES_MS.length; i += 1) steady.push(await connectFeedAccount(herald, workspace, `latency${i}`));
  const burst = await connectFeedAccount(herald, workspace, 'burst');
  await herald.stores.settings.update(workspace, {
    inboxRules: [
      { id: 'bench-latency', channel: LATENCY_CHANNEL, accounts: steady.map((a) => a.id) },
      { id: 'bench-burst', channel: BURST_CHANNEL, accounts: [burst.id] },
    ],
  });
  return { herald, emulator, recorder, workspace, steady, burst, logger };
}

async function stopChatSetup(setup: ChatSetup): Promise<void> {
  setup.recorder.stop();
  await setup.herald.stop();
  await setup.herald.mongo.db.dropDatabase().catch(() => undefined);
  await setup.emulator.close();
}

/**
 * Starts an account's recurring fetch, as connecting it from chat does. It is left running after its
 * phase (an idle feed costs a few queries per poll): cancelling a repeating job while a run of it is
 * in flight makes Agenda log an error when that run tries to save itself.
 */
async function startPolling(setup: ChatSetup, account: Account): Promise<void> {
  await scheduleFetches(setup.herald.context, [account.id]);
}

/** True once every released item is stored, none waits, and the channel has been quiet a while. */
async function delivered(setup: ChatSetup, account: Account, channel: string, released: number): Promise<boolean> {
  const items = itemsOf(setup.herald);
  if ((await items.countDocuments({ accountId: account.id })) < released) return false;
  if ((await items.countDocuments({ accountId: account.id, delivery: 'waiting' })) > 0) return false;
  const last = setup.recorder.writes.findLast((w) => w.channel === channel)?.at ?? 0;
  return Date.now() - last >= QUIET_MS;
}

// ---------------------------------------------------------------------------------------------
// Phase 2: item-to-chat latency at a steady rate

interface LatencyResult {
  everyMs: number;
  released: number;
  carded: number;
  summarised: number;
  waiting: number;
  latencies: number[];
  drained: boolean;
}

async function latencyPhase(setup: ChatSetup, run: number): Promise<LatencyResult> {
  const everyMs = STEADY_EVERIES_MS[run]!;
  const feed = new FakeFeed({ overlap: 1 });
  feeds.set(`latency${run}`, feed);
  const account = setup.steady[run]!;
  // No replies: each item starts a conversation, so each should become a card.
  const generate = itemGenerator({ tag: `${runTag}l${run}`, mix: DAY_MIX, replies: 0, seed: 2 + run });
  await startPolling(setup, account);
  const count = Math.max(1, Math.floor(STEADY_MS / everyMs));
  say(`  latency: ${count} items, one every ${everyMs / 1000} s, INBOX_POLL_SECONDS=${POLL_SECONDS}, CHAT_MESSAGES_PER_SECOND=${CHAT_PER_SECOND}, SCHEDULER_POLL_MS=${SCHEDULER_POLL_MS}`);
  const start = Date.now() + 1_000;
  for (let i = 0; i < count; i += 1) {
    await sleepUntil(start + i * everyMs);
    const now = Date.now();
    feed.release(generate.next(new Date(now)), now);
  }
  const drained = await waitUntil(() => delivered(setup, account, LATENCY_CHANNEL, count), LATENCY_DRAIN_MS);

  const docs = await itemsOf(setup.herald).find({ accountId: account.id }).toArray();
  const latencies: number[] = [];
  for (const doc of docs) {
    const card = doc.delivery === 'carded' && doc.chatRef ? parseRef(doc.chatRef) : undefined;
    const at = card?.message ? setup.recorder.postedAt(card.channel, card.message) : undefined;
    if (at !== undefined) latencies.push(at - new Date(doc.createdAt).getTime());
  }
  return {
    everyMs,
    released: count,
    carded: docs.filter((d) => d.delivery === 'carded').length,
    summarised: docs.filter((d) => d.delivery === 'summarised').length,
    waiting: count - docs.filter((d) => d.delivery !== 'waiting').length,
    latencies: latencies.sort((a, b) => a - b),
    drained,
  };
}

// ---------------------------------------------------------------------------------------------
// Phase 3: a burst into one channel

interface BurstResult {
  released: number;
  stored: number;
  carded: number;
  joined: number;
  summarised: number;
  waiting: number;
  summaries: number;
  summaryCount: number;
  /** Summarised items the lexicon labelled urgent, and negative (the summary's hint says both get cards). */
  summarisedUrgent: number;
  summarisedNegative: number;
  /** Items whose chat evidence is missing: a carded item without its card in the channel, a summary whose message shows another count. */
  unseen: number;
  writes: { posts: number; replies: number; updates: number };
  maxPerSecond: number;
  maxPostsPerSecond: number;
  averagePerSecond: number;
  minGapMs: number;
  drainMs: number;
  drained: boolean;
  fetches: number;
  /** One-off inbox.deliver jobs left in the jobs collection (one per fetch that stored something). */
  deliverJobs: number;
}

/** Most writes in any one wall-clock second (the windows Slack's epoch-second ts values fall into). */
function maxPerWindow(times: readonly number[]): number {
  const perSecond = new Map<number, number>();
  for (const at of times) perSecond.set(Math.floor(at / 1_000), (perSecond.get(Math.floor(at / 1_000)) ?? 0) + 1);
  return Math.max(0, ...perSecond.values());
}

/** Releases `total` items evenly over `windowMs`, a few every 50 ms, as a viral post's replies pile in. */
async function releaseEvenly(feed: FakeFeed, total: number, windowMs: number, next: () => ReturnType<ReturnType<typeof itemGenerator>['next']>): Promise<void> {
  const start = Date.now();
  let released = 0;
  while (released < total) {
    const due = Math.min(total, Math.ceil(((Date.now() - start) / windowMs) * total));
    for (; released < due; released += 1) feed.release(next());
    await sleep(50);
  }
}

/** Checks each delivered item against what the channel shows. */
function unseenInChat(setup: ChatSetup, docs: readonly StoredItem[], summaries: readonly InboxSummary[]): number {
  let unseen = 0;
  const shown = new Set(setup.emulator.messages(BURST_CHANNEL).map((m) => m.ts));
  for (const doc of docs) {
    if (doc.delivery !== 'carded') continue;
    const card = doc.chatRef ? parseRef(doc.chatRef) : undefined;
    if (!card?.message || !shown.has(card.message)) unseen += 1;
  }
  for (const summary of summaries) {
    const ref = summary.ref ? parseRef(summary.ref) : undefined;
    const message = ref?.message ? setup.emulator.messages(BURST_CHANNEL).find((m) => m.ts === ref.message) : undefined;
    const shownCount = Number(/^(\d+) items arrived/.exec(message?.text ?? '')?.[1] ?? Number.NaN);
    if (shownCount !== summary.count) unseen += Math.abs(summary.count - (Number.isNaN(shownCount) ? 0 : shownCount));
  }
  return unseen;
}

async function burstPhase(setup: ChatSetup, total: number): Promise<BurstResult> {
  const feed = new FakeFeed({ overlap: 1 });
  feeds.set('burst', feed);
  const account = setup.burst;
  const generate = itemGenerator({ tag: `${runTag}b`, mix: BURST_MIX, replies: BURST_REPLIES, seed: 3 });
  await startPolling(setup, account);
  say(`  burst: ${total} items within ${BURST_MS / 1000} s (${(total / (BURST_MS / 1000)).toFixed(1)} items/s), ${Math.round(BURST_REPLIES * 100)}% follow-ups`);
  const writesBefore = setup.recorder.writes.length;
  await releaseEvenly(feed, total, BURST_MS, () => generate.next());
  const releasedAt = Date.now();
  const drained = await waitUntil(() => delivered(setup, account, BURST_CHANNEL, total), BURST_DRAIN_MS);

  const writes = setup.recorder.writes.slice(writesBefore).filter((w) => w.channel === BURST_CHANNEL);
  const times = writes.map((w) => w.at);
  const gaps = times.slice(1).map((at, i) => at - times[i]!);
  const docs = (await itemsOf(setup.herald).find({ accountId: account.id }).toArray()).map(({ _id, ...rest }) => ({ ...rest, id: _id }) as StoredItem);
  const summaries = (await setup.herald.mongo.db.collection<InboxSummary & { _id: string }>('inbox_summaries').find({ workspace: setup.workspace, channel: BURST_CHANNEL }).toArray()).map(({ _id, ...rest }) => ({ ...rest, id: _id }) as InboxSummary);
  const count = (state: StoredItem['delivery']): number => docs.filter((d) => d.delivery === state).length;
  return {
    released: total,
    stored: docs.length,
    carded: count('carded'),
    joined: count('joined'),
    summarised: count('summarised'),
    waiting: count('waiting'),
    summaries: summaries.length,
    summaryCount: summaries.reduce((sum, s) => sum + s.count, 0),
    summarisedUrgent: docs.filter((d) => d.delivery === 'summarised' && d.labels.urgency === 'high').length,
    summarisedNegative: docs.filter((d) => d.delivery === 'summarised' && d.labels.sentiment === 'negative').length,
    unseen: unseenInChat(setup, docs, summaries),
    writes: { posts: writes.filter((w) => w.kind === 'post').length, replies: writes.filter((w) => w.kind === 'reply').length, updates: writes.filter((w) => w.kind === 'update').length },
    maxPerSecond: maxPerWindow(times),
    maxPostsPerSecond: maxPerWindow(writes.filter((w) => w.kind !== 'update').map((w) => w.at)),
    averagePerSecond: times.length > 1 ? (times.length - 1) / ((times.at(-1)! - times[0]!) / 1_000) : times.length,
    minGapMs: gaps.length ? Math.min(...gaps) : Number.NaN,
    drainMs: (times.at(-1) ?? releasedAt) - releasedAt,
    drained,
    fetches: feed.fetches,
    deliverJobs: await setup.herald.mongo.db.collection('jobs').countDocuments({ name: JobNames.inboxDeliver }),
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
const fixed = (value: number | undefined, digits = 0): string => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));
const seconds = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? '—' : `${(ms / 1000).toFixed(2)} s`);

function row(label: string, value: string, target = '', result = ''): void {
  say(`  ${label.padEnd(46)}${value.padStart(22)}  ${target.padEnd(14)}${result}`);
}

function reportIngest(r: IngestResult, sizes: Sizes): boolean {
  const perSecond = (msPerItem: number): number => 1_000 / msPerItem;
  const ingestMedian = perSecond(median(r.ingestMsPerItem));
  const oneMedian = perSecond(median(r.insertOneMsPerItem));
  const manyMedian = perSecond(median(r.insertManyMsPerItem));
  const ok = ingestMedian >= TARGET_ITEMS_PER_SECOND && r.shortBatches === 0;
  const last = r.batches - 1;
  say(`\n1. Ingestion: ${r.items} items in ${r.batches} ingest() calls of ${sizes.batch} (+1 re-served each), one at a time, lexicon labels${sizes.scaledBecause ? ' (scaled down)' : ''}`);
  row('ingest items/s, median batch', fixed(ingestMedian), `≥ ${TARGET_ITEMS_PER_SECOND}`, verdict(ok));
  row('ingest items/s at the p99 batch cost', fixed(perSecond(p99(r.ingestMsPerItem))));
  row('ingest items/s overall', fixed(r.overallItemsPerSecond));
  row('ingest ms per item, p50 / p99', `${fixed(median(r.ingestMsPerItem), 2)} / ${fixed(p99(r.ingestMsPerItem), 2)}`);
  // On a backend that scans, the cost follows the collection's size rather than the batch.
  row(`ms per item, first batch / last (${r.storedBefore[0] ?? 0} / ${r.storedBefore[last] ?? 0} stored)`, `${fixed(r.ingestMsPerItem[0], 2)} / ${fixed(r.ingestMsPerItem[last], 2)}`);
  row('baseline insertOne items/s, median (p99)', `${fixed(oneMedian)} (${fixed(perSecond(p99(r.insertOneMsPerItem)))})`);
  row('baseline insertMany items/s, median (p99)', `${fixed(manyMedian)} (${fixed(perSecond(p99(r.insertManyMsPerItem)))})`);
  row('ingest cost ÷ insertOne cost (median)', `${fixed(oneMedian / ingestMedian, 2)}×`);
  row('ingest cost ÷ insertMany cost (median)', `${fixed(manyMedian / ingestMedian, 2)}×`);
  row('CPU ms per item: Node / database', `${fixed(r.nodeCpuMsPerItem, 2)} / ${fixed(r.dbCpuMsPerItem, 2)}`);
  const perItem = (n: number): string => fixed(n / Math.max(1, r.items), 2);
  const total = [...r.commands.values()].reduce((sum, n) => sum + n, 0);
  row('database commands per item (insertOne: 1)', perItem(total));
  say(`    ${[...r.commands].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${perItem(n)}`).join(', ')}`);
  row('re-served items dropped by dedupe', String(r.dropped));
  row('batches that stored fewer than they were given', String(r.shortBatches), '0', verdict(r.shortBatches === 0));
  row('Herald warnings + errors', String(r.problems));
  for (const line of r.first) say(`    ${line}`);
  return ok;
}

function reportLatency(r: LatencyResult): boolean {
  const ok = r.latencies.length === r.released && percentile(r.latencies, 0.99) <= TARGET_LATENCY_MS;
  const writesPerSecond = 1_000 / r.everyMs;
  say(`\n2. Item → card latency: ${r.released} items, one every ${r.everyMs / 1000} s = ${fixed(writesPerSecond, 2)} chat writes/s needed (one card each) against ${CHAT_PER_SECOND}/s`);
  row('cards / items', `${r.latencies.length} / ${r.released}`, `${r.released}`, verdict(r.latencies.length === r.released));
  row('summarised instead / still waiting', `${r.summarised} / ${r.waiting}${r.drained ? '' : ' (timed out)'}`);
  row('latency p50', seconds(percentile(r.latencies, 0.5)));
  row('latency p99', seconds(percentile(r.latencies, 0.99)), `≤ ${TARGET_LATENCY_MS / 1000} s`, verdict(ok));
  row('latency max', seconds(r.latencies.at(-1)));
  row('latency first 5 items / last 5 items (median)', `${seconds(median(r.latencies.slice(0, 5)))} / ${seconds(median(r.latencies.slice(-5)))}`);
  return ok;
}

function reportBurst(r: BurstResult, sizes: Sizes): boolean {
  const accounted = r.carded + r.joined + r.summaryCount;
  const lost = r.released - r.stored + r.waiting + Math.abs(r.stored - accounted) + r.unseen;
  const paced = r.maxPerSecond <= CHAT_PER_SECOND;
  const scaled = sizes.burst < 2_000 || BURST_MS > 60_000;
  say(`\n3. Burst: ${r.released} items within ${BURST_MS / 1000} s into one channel${scaled ? ' (scaled down from 2,000 in one minute)' : ''}`);
  row('stored / released', `${r.stored} / ${r.released}`);
  row('carded / joined a thread / summarised / waiting', `${r.carded} / ${r.joined} / ${r.summarised} / ${r.waiting}`);
  row('summaries: messages, Σ counts', `${r.summaries}, ${r.summaryCount}`);
  row('carded + joined + Σ summary counts', `${accounted} / ${r.stored}`);
  row('urgent / negative items summarised', `${r.summarisedUrgent} / ${r.summarisedNegative}`);
  row('items lost (not stored, waiting, unaccounted, not in chat)', String(lost), '0', verdict(lost === 0));
  row('chat writes: posts / thread replies / updates', `${r.writes.posts} / ${r.writes.replies} / ${r.writes.updates}`);
  row('chat writes per second, max (1-s windows)', String(r.maxPerSecond), `≤ ${CHAT_PER_SECOND}`, verdict(paced));
  row('  posts + replies only, max per second', String(r.maxPostsPerSecond));
  row('chat writes per second, average', fixed(r.averagePerSecond, 2));
  row('smallest gap between two writes', `${fixed(r.minGapMs)} ms`);
  row('last write after the last item', `${seconds(r.drainMs)}${r.drained ? '' : ' (timed out)'}`);
  row('fetches / inbox.deliver job documents kept', `${r.fetches} / ${r.deliverJobs}`);
  return lost === 0 && paced;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  let embedded: EmbeddedMongo | undefined;
  let dataDir: string | undefined;
  let ingestResult: IngestResult | undefined;
  const latencyResults: LatencyResult[] = [];
  let burstResult: BurstResult | undefined;
  let chatProblems: { count: number; first: string[] } | undefined;
  let sizes: Sizes | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    let mongoUri = process.env.MONGODB_URI;
    let dbKind = 'MONGODB_URI';
    let dbPid: number | undefined;
    if (!mongoUri) {
      // In memory where the machine has a tmpfs, like the tests: SQLite's syncs to disk are not what is measured.
      dataDir = await mkdtemp(path.join(process.env.TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'herald-bench-inbox-'));
      embedded = await startEmbeddedMongo({ dataDir });
      mongoUri = embedded.uri;
      dbKind = embedded.kind;
      dbPid = await findPidByCommandLine(dataDir);
    }
    sizes = sizesFor(dbKind);
    watchdog = armWatchdog(sizes);
    say(`\nbench:inbox — database: ${dbKind}, Node ${process.version}, ${cpus().length} CPU(s), phases: ${phases.join(', ')}`);
    if (sizes.scaledBecause) say(`  note: sizes scaled down (${sizes.items} items ingested, ${sizes.burst} in the burst): ${sizes.scaledBecause}`);
    if (phases.includes('ingest')) {
      say(`  ingest: ${sizes.items} items, ${sizes.batch} per ingest() call`);
      ingestResult = await ingestionPhase(mongoUri, dbPid, sizes);
    }
    if (phases.includes('latency') || phases.includes('burst')) {
      const setup = await startChatSetup(mongoUri);
      try {
        if (phases.includes('latency')) for (let run = 0; run < STEADY_EVERIES_MS.length; run += 1) latencyResults.push(await latencyPhase(setup, run));
        if (phases.includes('burst')) burstResult = await burstPhase(setup, sizes.burst);
      } finally {
        chatProblems = { count: setup.logger.problems(), first: setup.logger.first };
        await stopChatSetup(setup);
      }
    }
  } finally {
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (watchdog) clearTimeout(watchdog);
  }

  const verdicts: boolean[] = [];
  if (ingestResult) verdicts.push(reportIngest(ingestResult, sizes!));
  for (const result of latencyResults) verdicts.push(reportLatency(result));
  if (burstResult) verdicts.push(reportBurst(burstResult, sizes!));
  if (chatProblems) {
    say(`\n  Herald warnings + errors during phases 2–3: ${chatProblems.count}`);
    for (const line of chatProblems.first) say(`    ${line}`);
  }
  const met = verdicts.every(Boolean);
  say(`\nTargets: ${met ? 'all met' : 'NOT all met'}`);
  if (!met) process.exitCode = 1;
}

await main();
// Everything is stopped; if a stray handle (a keep-alive socket, a library timer) still holds the
// event loop, say what it is and exit anyway: the bench must stop by itself.
setTimeout(() => {
  process.stderr.write(`bench:inbox: exiting with handles still open: ${process.getActiveResourcesInfo().join(', ')}\n`);
  process.exit();
}, 3_000).unref();
