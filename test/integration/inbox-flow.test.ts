import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import type { Clock } from '../../src/core/clock.ts';
import { JobNames } from '../../src/jobs/names.ts';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import type { BlueskyNetworkUrls } from '../support/bluesky-network.ts';
import { createPerson, mentioning, repliesUnder, writePost, type BlueskyPerson } from '../support/bluesky-people.ts';
import type { ChatHarness, ObservedMessage } from '../support/chat-harness.ts';
import { createSlackHarness, type SlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { scheduledJobs } from '../support/jobs.ts';
import { captureLogger } from '../support/log.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * The inbox flow's guarantees, on Slack against the real local Bluesky network (blueskyNetwork):
 * a re-fetched item is dropped, the cursor survives a restart, risky replies wait for an approval,
 * SLA reminders follow an injected clock, and retention deletes old items with a logged count.
 */
const provided = inject('blueskyNetwork');

/** A clock the test sets: it stands still at what it was set to, or runs with real time when reset. */
function movableClock(): Clock & { set(at: Date | undefined): void } {
  let frozen: Date | undefined;
  return { now: () => new Date(frozen ?? Date.now()), set: (at) => (frozen = at) };
}

describe('inbox flow', () => {
  let net: BlueskyNetworkUrls;
  let harness: SlackHarness;
  let database: TestDatabase;
  let herald: Herald;
  let brand: BlueskyPerson;
  let fan: BlueskyPerson;
  let accountId: string;
  const clock = movableClock();
  const captured = captureLogger('info');
  const encryptionKey = randomBytes(32).toString('hex');

  const start = (): Promise<Herald> =>
    startTestHerald({
      dbName: database.name,
      flows: allFlows,
      commands: allCommands,
      clock,
      log: captured.log,
      env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: encryptionKey, INBOX_POLL_SECONDS: '1', CHAT_MESSAGES_PER_SECOND: '20', INBOX_RISKY_FOLLOWERS: '1000' },
    });
  const cards = (): ObservedMessage[] => harness.messagesIn(harness.channel).filter((m) => m.buttons.some((b) => b.label === 'Claim' || b.label === 'Reopen'));
  const cardFor = (text: string): Promise<ObservedMessage> => harness.waitFor(() => cards().find((m) => m.text.includes(text)), 20_000);
  const latest = (card: ObservedMessage): ObservedMessage | undefined => harness.messagesIn(harness.channel).find((m) => m.ref.message === card.ref.message);
  const says = (user: Parameters<ChatHarness['ephemeralsFor']>[0], text: string): Promise<ObservedMessage> => harness.waitFor(() => harness.ephemeralsFor(user).find((m) => m.text.includes(text)), 10_000);

  beforeAll(async () => {
    if (!provided.ok) throw new Error(`the local Bluesky network is not running: ${provided.error}`);
    net = provided;
    [harness, database] = await Promise.all([createSlackHarness(), openTestDatabase('inbox_flow')]);
    [brand, fan] = await Promise.all([createPerson(net, 'brand'), createPerson(net, 'fan')]);
    herald = await start();
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    const account = await herald.stores.accounts.connect({ workspace: `slack:${harness.channel.workspace}`, network: 'bluesky', handle: brand.handle, connectedBy: harness.users.admin.user, credentials: { identifier: brand.handle, password: brand.appPassword, service: net.pds } });
    accountId = account.id;
    await harness.runCommand(harness.users.admin, 'herald policy', { approvers: harness.approverGroup, required: 'any' });
    await says(harness.users.admin, 'Policy saved');
    await harness.runCommand(harness.users.admin, 'herald inbox-rules', { action: 'add', channel: 'here', keyword: 'lawyer', approval: 'yes' });
    await says(harness.users.admin, 'replies need approval');
    await harness.runCommand(harness.users.admin, 'herald inbox-rules', { action: 'add', channel: 'here', keyword: 'sla', sla: '30' });
    await says(harness.users.admin, 'SLA 30 min');
    await harness.runCommand(harness.users.admin, 'herald inbox-rules', { action: 'add', channel: 'here', account: brand.handle });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).filter((m) => m.text.includes('Inbox rules')).length >= 3, 10_000);
    // Accounts connected outside the form are picked up at start: restart once to schedule the fetch.
    await herald.stop();
    herald = await start();
  }, 120_000);

  afterAll(async () => {
    await herald?.stop();
    await harness?.close();
    await database?.cleanup();
  });

  it('drops a re-fetched item: a lost cursor repeats nothing', async () => {
    await writePost(net, fan, mentioning(`@${brand.handle} first question about returns`, brand));
    await cardFor('first question about returns');
    const items = await database.db.collection('inbox_items').countDocuments();
    const conversations = await database.db.collection('inbox_conversations').countDocuments();
    const before = cards().length;
    await database.db.collection('inbox_cursors').deleteMany({});
    // The next fetches start from no cursor and read the newest page again.
    await eventually(() => database.db.collection<{ _id: string }>('inbox_cursors').findOne({ _id: accountId }), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await database.db.collection('inbox_items').countDocuments()).toBe(items);
    // The conversations made for the re-read items before the insert refused them are gone again.
    expect(await database.db.collection('inbox_conversations').countDocuments()).toBe(conversations);
    expect(cards().length).toBe(before);
  }, 60_000);

  it('a card Slack refuses to take (500s beyond the client’s retries) is posted by a later attempt, once', async () => {
    harness.emulator.failNext('chat.postMessage', { status: 500, times: 6 });
    await writePost(net, fan, mentioning(`@${brand.handle} this card meets a Slack outage`, brand));
    const card = await cardFor('this card meets a Slack outage');
    expect(harness.emulator.apiCalls.filter((c) => c.method === 'chat.postMessage' && c.status === 500).length).toBeGreaterThanOrEqual(6);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(cards().filter((m) => m.text.includes('this card meets a Slack outage'))).toHaveLength(1);
    const item = await database.db.collection('inbox_items').findOne({ text: { $regex: 'Slack outage' } });
    expect(item).toMatchObject({ delivery: 'carded', chatRef: expect.stringContaining(card.ref.message!) });
  }, 60_000);

  it('keeps its cursor across a restart: what arrived while down comes once, nothing earlier repeats', async () => {
    await herald.stop();
    const before = cards().length;
    await writePost(net, fan, mentioning(`@${brand.handle} written while Herald was down`, brand));
    herald = await start();
    await cardFor('written while Herald was down');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(cards().length).toBe(before + 1);
    expect(await database.db.collection('inbox_items').countDocuments({ text: { $regex: 'first question' } })).toBe(1);
  }, 60_000);

  it('a risky item’s reply waits for an approver; the author cannot approve it; approval sends it once', async () => {
    const item = await writePost(net, fan, mentioning(`@${brand.handle} my lawyer will contact you about the refund`, brand));
    const card = await cardFor('my lawyer will contact you');
    expect(card.text).toContain('replies need an approval');
    await harness.replyInThread(harness.users.member, card.ref, 'We are sorry, please write to legal@example.com.');
    const approval = await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes('needs an approval') && m.buttons.length === 3), 10_000);
    expect(approval.buttons.map((b) => b.label)).toEqual(['Approve', 'Edit', 'Reject']);
    expect(await repliesUnder(net, fan, item.uri)).toHaveLength(0);

    await harness.clickButton(harness.users.member, approval.ref, approval.buttons[0]!.actionId);
    await says(harness.users.member, 'Only approvers');
    await harness.clickButton(harness.users.approver, approval.ref, approval.buttons[0]!.actionId);
    await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes('Sent on Bluesky')), 20_000);
    const replies = await repliesUnder(net, fan, item.uri);
    expect(replies.map((p) => (p.record as { text: string }).text)).toEqual(['We are sorry, please write to legal@example.com.']);
    // The decided card has no buttons left; a click from an old copy of it changes nothing.
    expect(harness.threadOf(card.ref).find((m) => m.ref.message === approval.ref.message)?.buttons).toEqual([]);
    await harness.clickStaleButton(harness.users.approver, approval.ref, approval.buttons[0]!.actionId);
    await says(harness.users.approver, 'already decided');
    expect(await repliesUnder(net, fan, item.uri)).toHaveLength(1);
  }, 60_000);

  it('reminds the owner and the channel before the first-response deadline and at breach, in business hours', async () => {
    // A Friday 17:50 UTC at least a week ahead (so no real timer fires during the test); SLA 30
    // business minutes (mon-fri 9-18 UTC) → Monday 09:20.
    const friday = new Date(Date.now() + 7 * 86_400_000);
    friday.setUTCDate(friday.getUTCDate() + ((5 - friday.getUTCDay() + 7) % 7));
    friday.setUTCHours(17, 50, 0, 0);
    clock.set(friday);
    await writePost(net, fan, mentioning(`@${brand.handle} sla test: still no answer`, brand));
    const card = await cardFor('sla test');
    const conversation = await eventually(() => database.db.collection('inbox_conversations').findOne({ card: { $exists: true }, slaDueAt: { $exists: true } }), 10_000);
    const monday = new Date(friday.getTime() + 3 * 86_400_000);
    monday.setUTCHours(9, 20, 0, 0);
    expect((conversation.slaDueAt as Date).toISOString()).toBe(monday.toISOString());
    const jobs = await scheduledJobs(database.db, { name: JobNames.inboxSla, 'data.conversationId': conversation._id });
    expect(jobs.map((j) => [j.data.stage, j.nextRunAt.toISOString()])).toEqual([
      ['before', new Date(monday.getTime() - 7.5 * 60_000).toISOString()],
      ['breach', monday.toISOString()],
    ]);
    expect(latest(card)?.text).toContain('First response due');

    await harness.clickButton(harness.users.member, card.ref, card.buttons.find((b) => b.label === 'Claim')!.actionId);
    await harness.waitFor(() => latest(card)?.text.includes('owned by'), 10_000);
    clock.set(new Date(monday.getTime() - 7.5 * 60_000));
    await herald.scheduler.now(JobNames.inboxSla, { conversationId: String(conversation._id), stage: 'before' });
    await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes('First response due in 8 min')), 10_000);
    await harness.waitFor(() => harness.dmsTo(harness.users.member).find((m) => m.text.includes('First response due in 8 min')), 10_000);
    clock.set(monday);
    await herald.scheduler.now(JobNames.inboxSla, { conversationId: String(conversation._id), stage: 'breach' });
    await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes('overdue')), 10_000);
    await harness.waitFor(() => harness.dmsTo(harness.users.member).find((m) => m.text.includes('overdue')), 10_000);

    // Answered: a later reminder says nothing.
    await harness.replyInThread(harness.users.member, card.ref, 'Sorry for the wait, we are on it.');
    await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes('Sent on Bluesky')), 20_000);
    const overdue = harness.threadOf(card.ref).filter((m) => m.text.includes('overdue')).length;
    await herald.scheduler.now(JobNames.inboxSla, { conversationId: String(conversation._id), stage: 'breach' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(harness.threadOf(card.ref).filter((m) => m.text.includes('overdue')).length).toBe(overdue);
    expect(latest(card)?.text).not.toContain('First response due');
  }, 60_000);

  it('deletes items, conversations and replies past retention, and logs the counts', async () => {
    const items = await database.db.collection('inbox_items').countDocuments();
    expect(items).toBeGreaterThan(3);
    clock.set(new Date(Date.now() + 60 * 86_400_000));
    await herald.scheduler.now(JobNames.inboxPurge, { retentionDays: 30 });
    const line = await eventually(() => captured.lines().find((l) => l.msg === 'inbox items past retention deleted'), 10_000);
    expect(line.items).toBe(items);
    expect(line.conversations).toBeGreaterThan(0);
    expect(line.replies).toBeGreaterThan(0);
    expect(await database.db.collection('inbox_items').countDocuments()).toBe(0);
    expect(await database.db.collection('inbox_replies').countDocuments()).toBe(0);
    clock.set(undefined);
  }, 30_000);
});
