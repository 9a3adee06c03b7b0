import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import type { Herald } from '../../src/app.ts';
import type { ConversationRef } from '../../src/chat/port.ts';
import { parseRef } from '../../src/chat/port.ts';
import { JobNames } from '../../src/jobs/names.ts';
import { decodePost, monthlyCollection } from '../../src/store/metrics.ts';
import { waitForIndexing, xrpc, type BlueskyNetworkUrls } from '../support/bluesky-network.ts';
import { createPerson, type BlueskyPerson } from '../support/bluesky-people.ts';
import type { ChatHarness, ObservedMessage } from '../support/chat-harness.ts';
import { createDiscordHarness } from '../support/harness-discord.ts';
import { createSlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { makeDue, scheduledJobs } from '../support/jobs.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';
import { decodePng } from '../support/png.ts';

/**
 * Metrics to digest, end to end on the local Bluesky network: a post goes out through the approval
 * flow, other people like, repost and answer it and follow the brand, the snapshot and follower
 * jobs read it from the network, and the report in chat (the digest's content on demand) shows it
 * with its charts. On Slack and on Discord.
 */
const provided = inject('blueskyNetwork');

describe.each([
  ['slack', createSlackHarness],
  ['discord', createDiscordHarness],
] as const)('metrics and digest on %s', (_platform, createHarness) => {
  let net: BlueskyNetworkUrls;
  let harness: ChatHarness;
  let database: TestDatabase;
  let herald: Herald;
  let brand: BlueskyPerson;
  let fans: BlueskyPerson[];

  beforeAll(async () => {
    if (!provided.ok) throw new Error(`the local Bluesky network is not running: ${provided.error}`);
    net = provided;
    [harness, database] = await Promise.all([createHarness(), openTestDatabase('digest_e2e')]);
    [brand, ...fans] = await Promise.all([createPerson(net, 'brand'), createPerson(net, 'fan'), createPerson(net, 'fan')]);
    herald = await startTestHerald({
      dbName: database.name,
      flows: allFlows,
      commands: allCommands,
      env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: randomBytes(32).toString('hex'), CHAT_MESSAGES_PER_SECOND: '10' },
    });
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    await herald.stores.accounts.connect({ workspace: `${harness.platform}:${harness.channel.workspace}`, network: 'bluesky', handle: brand.handle, connectedBy: harness.users.admin.user, credentials: { identifier: brand.handle, password: brand.appPassword, service: net.pds } });
    await harness.runCommand(harness.users.admin, 'herald policy', { approvers: harness.approverGroup, required: 'any' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Policy saved')), 15_000);
  }, 120_000);

  afterAll(async () => {
    await herald?.stop();
    await harness?.close();
    await database?.cleanup();
  });

  const cardOf = (ref: ConversationRef): ObservedMessage | undefined => harness.messagesIn({ platform: ref.platform, workspace: ref.workspace, channel: ref.channel }).find((m) => m.ref.message === ref.message);

  it('other people’s likes, reposts, replies and follows reach the snapshot, the follower count and the report', async () => {
    const text = `Autumn menu is here ${randomBytes(2).toString('hex')}`;
    await harness.runCommand(harness.users.member, 'draft new', { text, networks: 'bluesky', when: 'in 2h' });
    const doc = await eventually(() => database.db.collection('drafts').findOne({ text, card: { $exists: true } }), 15_000);
    const id = String(doc._id);
    const card = parseRef(String(doc.card))!;
    const approve = await harness.waitFor(() => cardOf(card)?.buttons.find((b) => b.label === 'Approve'), 10_000);
    await harness.clickButton(harness.users.approver, card, approve.actionId);
    await harness.waitFor(() => cardOf(card)?.text.includes('scheduled for'), 10_000);
    await herald.scheduler.now(JobNames.publishDue, { draftId: id });
    const publication = await eventually(() => database.db.collection('publications').findOne({ draftId: id, status: 'published' }), 20_000);
    // Three snapshot jobs wait at 1 h, 24 h and 7 days (scheduled just after the publication is recorded).
    const jobs = await eventually(async () => {
      const found = await scheduledJobs(database.db, { name: JobNames.metricsSnapshot, 'data.publicationId': publication._id });
      return found.length >= 3 ? found : undefined;
    }, 10_000);
    expect(jobs.map((j) => j.data.stage).sort()).toEqual(['1h', '24h', '7d']);
    expect(jobs.map((j) => Math.round((j.nextRunAt.getTime() - (publication.publishedAt as Date).getTime()) / 3_600_000)).sort((a, b) => a - b)).toEqual([1, 24, 168]);
    // Due hours and days ahead: they wait outside the scheduler's queue, which stays small.
    expect(jobs.map((j) => j.queue)).toEqual(['later', 'later', 'later']);

    const subject = { uri: String(publication.remoteId), cid: String((await xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: brand.did, collection: 'app.bsky.feed.post', rkey: String(publication.remoteId).split('/').pop()! } })).cid) };
    const write = (who: BlueskyPerson, collection: string, record: Record<string, unknown>) =>
      xrpc(net.pds, 'com.atproto.repo.createRecord', { body: { repo: who.did, collection, record: { $type: collection, createdAt: new Date().toISOString(), ...record } }, token: who.accessJwt });
    for (const fan of fans) {
      await write(fan, 'app.bsky.feed.like', { subject });
      await write(fan, 'app.bsky.graph.follow', { subject: brand.did });
    }
    await write(fans[0]!, 'app.bsky.feed.repost', { subject });
    await write(fans[1]!, 'app.bsky.feed.post', { text: 'Looks great!', reply: { root: subject, parent: subject } });
    await waitForIndexing(net.control);

    // An hour "passes": the 1 h snapshot is due now; the follower reading runs as its recurring job would.
    expect(await makeDue(herald, database.db, { name: JobNames.metricsSnapshot, 'data.publicationId': publication._id, 'data.stage': '1h' })).toBe(1);
    await herald.scheduler.now(JobNames.metricsFollowers, {});
    const measured = await eventually(() => database.db.collection('publications').findOne({ _id: publication._id, stage: '1h' }), 20_000);
    expect(measured.metrics).toEqual({ likes: 2, reposts: 1, replies: 1, quotes: 0 });
    expect(measured.engagement).toBe(4);
    const month = monthlyCollection('follower_days', new Date().toISOString().slice(0, 10));
    const day = await eventually(() => database.db.collection(month).findOne({ [`counts.${String(publication.accountId)}`]: { $exists: true } }), 20_000);
    expect(day.counts[String(publication.accountId)]).toBe(2);
    // The post's day bucket holds its latest counters for the digest.
    const bucket = await database.db.collection(monthlyCollection('metric_days', (publication.publishedAt as Date).toISOString().slice(0, 10))).findOne({ _id: `${String(publication.workspace)}|${(publication.publishedAt as Date).toISOString().slice(0, 10)}` as never });
    expect(decodePost(bucket?.posts[String(publication._id)])).toMatchObject({ e: 4, u: publication.url });

    await harness.runCommand(harness.users.member, 'herald report', { range: 'week' });
    const report = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.startsWith('Report · week')), 20_000);
    expect(report.text).toContain('Bluesky: 1 posts');
    expect(report.text).toContain('4 engagements');
    expect(report.text).toContain(String(publication.url));
    const charts = await harness.waitFor(() => {
      const images = harness.messagesIn(harness.channel).flatMap((m) => m.images).filter((i) => i.filename?.endsWith('.png'));
      return images.length >= 2 && images;
    }, 20_000);
    expect(charts[0]!.alt).toContain('Bluesky 4');
    const png = decodePng(charts[0]!.data!);
    expect([png.width, png.height]).toEqual([1280, 600]);
    const thread = await harness.waitFor(() => harness.threadOf(report.ref).find((m) => m.text.includes(brand.handle)), 20_000);
    expect(thread.text).toContain('2 followers');
  });
});
