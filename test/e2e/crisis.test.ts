import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import type { ChatHarness, ObservedMessage } from '../support/chat-harness.ts';
import type { BlueskyNetworkUrls } from '../support/bluesky-network.ts';
import { createPerson, mentioning, repliesUnder, writePost, type BlueskyPerson } from '../support/bluesky-people.ts';
import { createDiscordHarness } from '../support/harness-discord.ts';
import { createSlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * Crisis end to end on both platforms against the real local Bluesky network: a mention with a
 * watchlist phrase arrives through the inbox → an incident card in the crisis channel and a page to
 * the person on call → acknowledged → a reply on the incident's account waits for an approval and
 * then goes to Bluesky → a holding statement reaches the approval flow → resolved with its cause.
 */
const provided = inject('blueskyNetwork');

const platforms = [
  ['slack', createSlackHarness],
  ['discord', createDiscordHarness],
] as const;

for (const [platform, createHarness] of platforms) {
  describe(`crisis on ${platform}`, () => {
    let net: BlueskyNetworkUrls;
    let harness: ChatHarness;
    let database: TestDatabase;
    let herald: Herald;
    let brand: BlueskyPerson;
    let fan: BlueskyPerson;

    const says = (text: string): Promise<ObservedMessage> => harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes(text)), 20_000);
    const incidentCard = (): ObservedMessage | undefined => harness.messagesIn(harness.channel).find((m) => m.text.includes('Incident inc-'));
    const button = (card: ObservedMessage, label: string): string => card.buttons.find((b) => b.label === label)!.actionId;

    beforeAll(async () => {
      if (!provided.ok) throw new Error(`the local Bluesky network is not running: ${provided.error}`);
      net = provided;
      [harness, database] = await Promise.all([createHarness(), openTestDatabase(`crisis_${platform}`)]);
      [brand, fan] = await Promise.all([createPerson(net, 'brand'), createPerson(net, 'fan')]);
      herald = await startTestHerald({
        dbName: database.name,
        flows: allFlows,
        commands: allCommands,
        env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: randomBytes(32).toString('hex'), INBOX_POLL_SECONDS: '1', CHAT_MESSAGES_PER_SECOND: '20' },
      });
      await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
      await harness.runCommand(harness.users.admin, 'herald accounts');
      const list = await says('Connected accounts');
      await harness.clickButton(harness.users.admin, list.ref, list.buttons.find((b) => b.label === 'Connect Bluesky')!.actionId);
      await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Connect Bluesky', 20_000);
      await harness.submitOpenForm(harness.users.admin, { identifier: brand.handle, password: brand.appPassword, service: net.pds });
      await says('Connected Bluesky account');
      await harness.runCommand(harness.users.admin, 'herald settings', { approvals: 'here', networks: 'bluesky' });
      await says('Approvals channel');
      await harness.runCommand(harness.users.admin, 'herald policy', { approvers: harness.approverGroup, required: 'any' });
      await says('Policy saved');
      await harness.runCommand(harness.users.admin, 'herald inbox-rules', { action: 'add', channel: 'here', account: brand.handle });
      await says('Inbox rules');
      await harness.runCommand(harness.users.admin, 'herald crisis', { action: 'channel' });
      await says('Crisis channel');
      await harness.runCommand(harness.users.admin, 'herald crisis', { action: 'watch', phrase: 'data breach' });
      await says('“data breach”');
      await harness.runCommand(harness.users.admin, 'herald oncall', { people: `${harness.mention(harness.users.approver)},${harness.mention(harness.users.admin)}`, ack: '10', timezone: 'Europe/Paris' });
      await says('On call:');
    }, 120_000);

    afterAll(async () => {
      await herald?.stop();
      await harness?.close();
      await database?.cleanup();
    });

    it('a watchlist mention opens an incident and pages on-call; replies wait for approval; a holding statement goes to approval; resolve', async () => {
      const item = await writePost(net, fan, mentioning(`@${brand.handle} is it true there was a data breach? my card got charged twice`, brand));
      const card = await harness.waitFor(() => incidentCard(), 30_000);
      expect(card.text).toContain('watchlist match');
      expect(card.text).toContain(fan.handle);
      expect(card.buttons.map((b) => b.label)).toEqual(['Acknowledge', 'Escalate', 'Pause all publishing', 'Draft holding statement', 'Resolve']);
      const page = await harness.waitFor(() => harness.dmsTo(harness.users.approver).find((m) => m.text.includes('You are on call')), 15_000);
      expect(page.text).toContain('watchlist match');
      await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes('“data breach” in 1 item(s)')), 20_000);

      await harness.clickButton(harness.users.approver, card.ref, button(card, 'Acknowledge'));
      await harness.waitFor(() => incidentCard()?.text.includes('Acknowledged by'), 20_000);

      // The item's own inbox card: a reply on the incident's account waits for an approver.
      const itemCard = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes('my card got charged twice') && m.buttons.some((b) => b.label === 'Claim')), 20_000);
      await harness.replyInThread(harness.users.member, itemCard.ref, 'We are looking into this right now and will write to you.');
      const approval = await harness.waitFor(() => harness.threadOf(itemCard.ref).find((m) => m.text.includes('needs an approval') && m.buttons.length === 3), 15_000);
      expect(await repliesUnder(net, fan, item.uri)).toHaveLength(0);
      await harness.clickButton(harness.users.approver, approval.ref, approval.buttons.find((b) => b.label === 'Approve')!.actionId);
      await harness.waitFor(() => harness.threadOf(itemCard.ref).find((m) => m.text.includes('Sent on Bluesky')), 20_000);
      expect((await repliesUnder(net, fan, item.uri)).map((p) => (p.record as { text: string }).text)).toEqual(['We are looking into this right now and will write to you.']);

      const current = incidentCard()!;
      await harness.clickButton(harness.users.approver, current.ref, button(current, 'Draft holding statement'));
      const draft = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes('We have seen your messages') && m.buttons.some((b) => b.label === 'Approve')), 15_000);
      expect(draft.text).toBeTruthy();
      expect((await database.db.collection('drafts').findOne({ labels: 'incident' }))?.urgent).toBe(true);
      await harness.waitFor(() => harness.threadOf(current.ref).find((m) => m.text.includes('asked for a holding statement')), 20_000);

      await harness.clickButton(harness.users.admin, current.ref, button(current, 'Resolve'));
      await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Resolve the incident', 20_000);
      await harness.submitOpenForm(harness.users.admin, { cause: 'A phishing rumour; no breach happened' });
      const resolved = await harness.waitFor(() => incidentCard()?.text.includes('Resolved by') && incidentCard(), 20_000);
      expect(resolved.buttons).toEqual([]);
      const stored = await database.db.collection('incidents').findOne({});
      expect(stored?.summary).toMatchObject({ cause: 'A phishing rumour; no breach happened', actions: ['holding-statement'] });
      expect(stored?.summary?.timeToAcknowledgeMs).toBeGreaterThanOrEqual(0);
      await harness.waitFor(() => harness.threadOf(resolved.ref).find((m) => m.text.includes('Resolved by')), 20_000);
    }, 120_000);
  });
}
