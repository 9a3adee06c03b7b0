import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import { waitForIndexing, type BlueskyNetworkUrls } from '../support/bluesky-network.ts';
import { createPerson, mentioning, writePosts, type BlueskyPerson } from '../support/bluesky-people.ts';
import { createSlackHarness, type SlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * A burst: 2,000 mentions within a minute on the real local Bluesky network, the chat platform's
 * limit of one message per second per channel. Herald posts the urgent and negative ones as cards,
 * keeps one summary for the rest, never writes faster than the limit, and loses nothing.
 */
const provided = inject('blueskyNetwork');
const ITEMS = 2_000;
const BATCHES = 10;

describe('inbox burst', () => {
  let net: BlueskyNetworkUrls;
  let harness: SlackHarness;
  let database: TestDatabase;
  let herald: Herald;
  let brand: BlueskyPerson;
  let fan: BlueskyPerson;
  const encryptionKey = randomBytes(32).toString('hex');
  const start = (): Promise<Herald> =>
    startTestHerald({ dbName: database.name, flows: allFlows, commands: allCommands, env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: encryptionKey, INBOX_POLL_SECONDS: '2', CHAT_MESSAGES_PER_SECOND: '1' } });

  beforeAll(async () => {
    if (!provided.ok) throw new Error(`the local Bluesky network is not running: ${provided.error}`);
    net = provided;
    [harness, database] = await Promise.all([createSlackHarness(), openTestDatabase('inbox_burst')]);
    [brand, fan] = await Promise.all([createPerson(net, 'brand'), createPerson(net, 'fan')]);
    herald = await start();
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    const account = await herald.stores.accounts.connect({ workspace: `slack:${harness.channel.workspace}`, network: 'bluesky', handle: brand.handle, connectedBy: harness.users.admin.user, credentials: { identifier: brand.handle, password: brand.appPassword, service: net.pds } });
    await herald.stores.settings.update(`slack:${harness.channel.workspace}`, { inboxRules: [{ id: 'rule-all', channel: harness.channel.channel, accounts: [account.id] }] });
    await herald.stop();
    herald = await start();
    // The first fetch has set the cursor: everything after it is new.
    await eventually(() => database.db.collection<{ _id: string }>('inbox_cursors').findOne({ _id: account.id }), 15_000);
  }, 120_000);

  afterAll(async () => {
    await herald?.stop();
    await harness?.close();
    await database?.cleanup();
  });

  it('2,000 mentions in a minute: urgent ones carded, the rest summarised, the channel never above its limit, nothing lost', async () => {
    const began = Date.now();
    const text = (i: number): string => (i % 100 === 7 ? `@${brand.handle} urgent: my account was hacked (${i})` : i % 10 === 3 ? `@${brand.handle} terrible service, still waiting (${i})` : `@${brand.handle} nice launch, when in Romania? (${i})`);
    for (let batch = 0; batch < BATCHES; batch += 1) {
      const from = batch * (ITEMS / BATCHES);
      await writePosts(net, fan, Array.from({ length: ITEMS / BATCHES }, (_, k) => mentioning(text(from + k), brand)));
      const next = began + ((batch + 1) * 55_000) / BATCHES;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
    await waitForIndexing(net.control);
    const items = database.db.collection('inbox_items');
    await eventually(async () => (await items.countDocuments()) === ITEMS && (await items.countDocuments({ delivery: 'waiting' })) === 0, 240_000, 500);

    // Nothing lost: every item has a card, joined a thread, or is counted in a summary.
    const carded = await items.countDocuments({ delivery: 'carded' });
    const summarised = await items.countDocuments({ delivery: 'summarised' });
    expect(carded + summarised + (await items.countDocuments({ delivery: 'joined' }))).toBe(ITEMS);
    const summaries = await database.db.collection('inbox_summaries').find().toArray();
    expect(summaries.reduce((sum, s) => sum + (s.count as number), 0)).toBe(summarised);
    // Every urgent item got its own card; the counts people read add up.
    expect(await items.countDocuments({ 'labels.urgency': 'high', delivery: { $ne: 'carded' } })).toBe(0);
    expect(await items.countDocuments({ 'labels.urgency': 'high' })).toBe(ITEMS / 100);
    expect(await database.db.collection('inbox_conversations').countDocuments({ status: 'open', itemCount: { $gt: 0 } })).toBe(ITEMS);

    // The channel's writes: bounded, and never two within a second.
    const writes = harness.emulator.apiCalls.filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.channel === harness.channel.channel && c.at >= began).sort((a, b) => a.at - b.at);
    const gaps = writes.slice(1).map((w, i) => w.at - writes[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1_000);
    expect(writes.length).toBeLessThan(carded * 2 + summaries.length + 40);
    expect(writes.length).toBeLessThan(ITEMS / 10);
    expect(harness.emulator.apiCalls.filter((c) => c.status === 429)).toHaveLength(0);

    // The summary shows up with its counts and a way to list the items.
    const summary = harness.messagesIn(harness.channel).find((m) => m.text.includes('more inbox items'));
    expect(summary?.buttons.map((b) => b.label)).toEqual(['List them']);
    await harness.clickButton(harness.users.member, summary!.ref, summary!.buttons[0]!.actionId);
    const listed = await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('of this summary')), 10_000);
    expect(listed.text.match(/^• /gm)).toHaveLength(25);

    // Any summarised item is one command away from its own card.
    const summarisedItem = await items.findOne({ delivery: 'summarised' });
    await harness.runCommand(harness.users.member, 'herald inbox', { open: String(summarisedItem?.conversationId) });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.startsWith('Card:')), 15_000);
    const opened = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes(String(summarisedItem?.text)) && m.buttons.some((b) => b.label === 'Claim')), 15_000);
    expect(opened.buttons.map((b) => b.label)).toEqual(['Claim', 'Assign', 'Suggest reply', 'Resolve']);
    expect((await items.findOne({ _id: summarisedItem?._id }))?.delivery).toBe('carded');
  }, 360_000);
});
