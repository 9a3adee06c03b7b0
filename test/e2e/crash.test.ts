import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import type { ConversationRef } from '../../src/chat/port.ts';
import { parseRef } from '../../src/chat/port.ts';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import { JobNames } from '../../src/jobs/names.ts';
import { JOBS_COLLECTION } from '../../src/jobs/scheduler.ts';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../src/store/embedded.ts';
import type { ObservedMessage } from '../support/chat-harness.ts';
import { startFaultProxy, startGoToSocial, type FaultProxy, type RunningGoToSocial } from '../support/gotosocial.ts';
import { createSlackHarness, type SlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { openTestDatabase, testMongoUri, type TestDatabase } from '../support/mongo.ts';
import { spawnHerald, type HeraldProcess } from '../support/process.ts';

/**
 * Crash safety of publishing: the Herald process dies between the network's acceptance of a post and
 * the ledger's completion, and MongoDB goes away while a publication is due. Nothing is posted twice,
 * nothing is lost, and the card tells the truth afterwards.
 */
describe('publishing survives crashes', () => {
  let gts: RunningGoToSocial;
  let proxy: FaultProxy;
  let harness: SlackHarness;
  const encryptionKey = randomBytes(32).toString('base64');
  const processes: HeraldProcess[] = [];

  beforeAll(async () => {
    [gts, harness] = await Promise.all([startGoToSocial(), createSlackHarness()]);
    proxy = await startFaultProxy(gts.url);
  }, 90_000);

  const killLeftovers = async (): Promise<void> => {
    for (const p of processes.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
  };

  afterEach(async () => {
    proxy?.clear();
    await killLeftovers();
  });

  afterAll(async () => {
    await killLeftovers();
    await harness?.close();
    await proxy?.close();
    await gts?.stop();
  });

  const statusesWith = async (text: string): Promise<{ id: string; content: string; url: string }[]> => {
    const response = await fetch(`${gts.url}/api/v1/accounts/${gts.account.id}/statuses?limit=40`, { headers: { authorization: `Bearer ${gts.account.accessToken}` } });
    return ((await response.json()) as { id: string; content: string; url: string }[]).filter((s) => s.content.includes(text));
  };
  const cardText = (ref: ConversationRef): ObservedMessage | undefined =>
    harness.messagesIn({ platform: ref.platform, workspace: ref.workspace, channel: ref.channel }).find((m) => m.ref.message === ref.message);
  const latestEphemeral = (user = harness.users.admin, after: number, includes: string): ObservedMessage | undefined =>
    harness.ephemeralsFor(user).slice(after).find((m) => m.text.includes(includes));

  /** What an admin does once per database: approvals by any approver, the Mastodon account through the private form. */
  const setUpWorkspace = async (): Promise<void> => {
    const admin = harness.users.admin;
    let seen = harness.ephemeralsFor(admin).length;
    await harness.runCommand(admin, 'herald policy', { approvers: harness.approverGroup, required: 'any' });
    await harness.waitFor(() => latestEphemeral(admin, seen, 'Policy saved'), 20_000);
    seen = harness.ephemeralsFor(admin).length;
    await harness.runCommand(admin, 'herald accounts');
    const list = await harness.waitFor(() => latestEphemeral(admin, seen, 'Connected accounts'), 20_000);
    await harness.clickButton(admin, list.ref, list.buttons.find((b) => b.label === 'Connect Mastodon')!.actionId);
    await harness.waitFor(() => harness.openFormTitle(admin) === 'Connect Mastodon', 10_000);
    seen = harness.ephemeralsFor(admin).length;
    await harness.submitOpenForm(admin, { instanceUrl: proxy.url, accessToken: gts.account.accessToken });
    await harness.waitFor(() => harness.ephemeralsFor(admin).slice(seen).find((m) => m.text.startsWith('Connected Mastodon account')), 20_000);
  };

  /**
   * A Mastodon draft written, approved and scheduled "in 2h" (the card says so); with `dueAt`, its
   * time is moved there in MongoDB so its own due job runs then.
   */
  const approvedDraft = async (db: Db, text: string, dueAt?: Date): Promise<{ id: string; card: ConversationRef }> => {
    await harness.runCommand(harness.users.member, 'draft new', { text, networks: 'mastodon', when: 'in 2h' });
    const doc = await eventually(() => db.collection('drafts').findOne({ text, card: { $exists: true } }), 20_000);
    const id = String(doc._id);
    const card = parseRef(String(doc.card))!;
    const approve = await harness.waitFor(() => cardText(card)?.buttons.find((b) => b.label === 'Approve'), 10_000);
    await harness.clickButton(harness.users.approver, card, approve.actionId);
    await harness.waitFor(() => cardText(card)?.text.includes('scheduled for'), 20_000);
    expect(await db.collection('drafts').findOne({ _id: id as never })).toMatchObject({ status: 'scheduled' });
    if (dueAt) await db.collection('drafts').updateOne({ _id: id as never }, { $set: { scheduledAt: dueAt } });
    return { id, card };
  };

  /** A due-publication job as a scheduler that is not running would have left it (Agenda's document shape). */
  const insertDueJob = (db: Db, draftId: string, nextRunAt: Date) =>
    db.collection(JOBS_COLLECTION).insertOne({ name: JobNames.publishDue, data: { draftId }, type: 'normal', priority: 0, nextRunAt, lastModifiedBy: null });

  describe('the process killed between the network accepting the post and the ledger completing', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await openTestDatabase('crash');
    });
    afterAll(async () => {
      await database?.cleanup();
    });

    const start = async (): Promise<{ p: HeraldProcess; url: string }> => {
      const p = spawnHerald({
        MONGODB_URI: testMongoUri(),
        MONGODB_DB: database.name,
        HTTP_PORT: '0',
        SCHEDULER_POLL_MS: '200',
        HERALD_ENCRYPTION_KEY: encryptionKey,
        PUBLISH_RETRY_BASE_MS: '200',
        ...harness.heraldEnv(),
      });
      processes.push(p);
      const started = await p.waitForLine((l) => l.msg === 'herald started', 30_000);
      const url = String(started.url);
      await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 20_000, 100);
      return { p, url };
    };

    it('after a restart the post exists once, the ledger is done and the card shows the link', { timeout: 110_000 }, async () => {
      const { p: first } = await start();
      await setUpWorkspace();
      const text = `Crash-proof announcement ${randomBytes(3).toString('hex')}.`;
      // Published two hours before its scheduled time (forced due): reconciliation must still find it.
      const { id, card } = await approvedDraft(database.db, text);

      // GoToSocial creates the status at once; its answer reaches Herald only 8 s later.
      proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, times: 1, delayMs: 8_000 });
      const posts = () => proxy.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/statuses').length;
      const before = posts();
      await insertDueJob(database.db, id, new Date());
      await eventually(() => posts() > before, 20_000, 20);
      await eventually(async () => (await statusesWith(text)).length === 1, 5_000, 50);
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      const killedAt = Date.now();

      const key = `publish:${id}:v1:mastodon`;
      expect(await database.db.collection('ledger').findOne({ key })).toMatchObject({ state: 'pending' });
      expect(await database.db.collection('drafts').findOne({ _id: id as never })).toMatchObject({ status: 'publishing' });
      expect(first.lines().some((l) => l.msg === 'published on a network')).toBe(false);

      const { p: second } = await start();
      // The dead run's lock (30 s, no longer renewed) lapses; the job runs again and reconciles.
      await eventually(() => database.db.collection('drafts').findOne({ _id: id as never, status: 'published' }), 60_000, 250).catch(async (error: unknown) => {
        const deliveries = await database.db.collection('deliveries').find({ draftId: id }).toArray();
        throw new Error(`not published; deliveries: ${JSON.stringify(deliveries)}\n${second.stdout().slice(-3000)}`, { cause: error });
      });
      const reconciledMs = Date.now() - killedAt;
      const onServer = await statusesWith(text);
      expect(onServer).toHaveLength(1);
      expect(posts() - before).toBe(1);
      expect(await database.db.collection('ledger').findOne({ key })).toMatchObject({ state: 'done' });
      expect(await database.db.collection('deliveries').findOne({ draftId: id })).toMatchObject({ status: 'published', url: onServer[0]!.url });
      expect(second.lines().some((l) => l.msg === 'mastodon publish resumes an earlier attempt')).toBe(true);
      const shown = await harness.waitFor(() => cardText(card)?.text.includes('✅ published') && cardText(card), 10_000);
      expect(shown.text).toContain(onServer[0]!.url);
      process.stderr.write(`crash test: reconciled ${reconciledMs} ms after the kill\n`);
    });
  });

  describe('MongoDB killed while a publication is due', () => {
    let dataDir: string;
    let server: EmbeddedMongo | undefined;
    let herald: Herald | undefined;
    let client: MongoClient | undefined;
    afterAll(async () => {
      await herald?.stop();
      await client?.close();
      await server?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('nothing is lost: the publication runs once when MongoDB is back', { timeout: 90_000 }, async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), 'herald-crash-db-'));
      server = await startEmbeddedMongo({ dataDir, only: 'ferretdb' });
      const { port, uri } = server;
      herald = await startTestHerald({
        dbName: 'crash',
        mongoUri: uri,
        flows: allFlows,
        commands: allCommands,
        env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: encryptionKey, PUBLISH_RETRY_BASE_MS: '200' },
      });
      await eventually(() => herald!.chat.all().every((a) => a.isReady()), 15_000);
      client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5_000 });
      const db = client.db('crash');
      const ready = `${herald.http.url}/readyz`;
      expect((await fetch(ready)).status).toBe(200);

      await setUpWorkspace();
      const text = `Outage-proof announcement ${randomBytes(3).toString('hex')}.`;
      const dueAt = new Date(Date.now() + 4_000);
      const { id, card } = await approvedDraft(db, text, dueAt);
      await insertDueJob(db, id, dueAt);
      expect(Date.now()).toBeLessThan(dueAt.getTime() - 1_000);

      await server.stop();
      const stoppedAt = Date.now();
      await eventually(async () => (await fetch(ready)).status === 503, 15_000, 100);
      // Well past the due time with the database away.
      await new Promise((r) => setTimeout(r, Math.max(0, dueAt.getTime() + 3_000 - Date.now())));
      expect(await statusesWith(text)).toHaveLength(0);

      server = await startEmbeddedMongo({ dataDir, only: 'ferretdb', port });
      const outageMs = Date.now() - stoppedAt;
      await eventually(async () => (await fetch(ready)).status === 200, 20_000, 200);
      await eventually(() => db.collection('drafts').findOne({ _id: id as never, status: 'published' }), 30_000, 200).catch(async (error: unknown) => {
        const draft = await db.collection('drafts').findOne({ _id: id as never });
        const deliveries = await db.collection('deliveries').find({ draftId: id }).toArray();
        throw new Error(`draft is ${String(draft?.status)}; deliveries: ${JSON.stringify(deliveries)}`, { cause: error });
      });
      const publishedAfterMs = Date.now() - stoppedAt;
      await harness.waitFor(() => cardText(card)?.text.includes('✅ published'), 10_000);
      // A little longer: a second run would show up now.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await statusesWith(text)).toHaveLength(1);
      expect(await db.collection('ledger').findOne({ key: `publish:${id}:v1:mastodon` })).toMatchObject({ state: 'done' });
      process.stderr.write(`outage test: database away ${outageMs} ms, published ${publishedAfterMs} ms after it stopped\n`);
    });
  });
});
