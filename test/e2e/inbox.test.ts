import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import type { ConversationRef } from '../../src/chat/port.ts';
import { parseRef } from '../../src/chat/port.ts';
import { createBlueskyNetwork } from '../../src/networks/bluesky/index.ts';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import type { ChatHarness, ObservedMessage } from '../support/chat-harness.ts';
import { waitForIndexing, xrpc, type BlueskyNetworkUrls } from '../support/bluesky-network.ts';
import { createPerson, mentioning, writePost, type BlueskyPerson, type Json, type StrongRef } from '../support/bluesky-people.ts';
import { createDiscordHarness } from '../support/harness-discord.ts';
import { createSlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { captureLogger } from '../support/log.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * The social inbox end to end on both platforms against the real local Bluesky network
 * (blueskyNetwork, started by the global setup): another account replies to and mentions the
 * brand's post → cards appear → a team member replies in the card's thread → the reply exists on
 * Bluesky under the right parent → the conversation continues in the same thread → resolve.
 */
const provided = inject('blueskyNetwork');

const platforms = [
  ['slack', createSlackHarness],
  ['discord', createDiscordHarness],
] as const;

for (const [platform, createHarness] of platforms) {
  describe(`social inbox on ${platform}`, () => {
    let net: BlueskyNetworkUrls;
    let harness: ChatHarness;
    let database: TestDatabase;
    let herald: Herald;
    let brand: BlueskyPerson;
    let fan: BlueskyPerson;
    let ourPost: StrongRef;

    const write = (who: BlueskyPerson, record: Json): Promise<StrongRef> => writePost(net, who, record);
    const mention = (text: string): Json => mentioning(text, brand);
    const thread = async (uri: string): Promise<Json> => (await xrpc(net.pds, 'app.bsky.feed.getPostThread', { query: { uri }, token: fan.accessJwt })).thread as Json;
    const cardFor = (text: string): Promise<ObservedMessage> => harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes(text) && m.buttons.some((b) => b.label === 'Claim')), 20_000);
    const latest = (ref: ConversationRef): ObservedMessage | undefined => harness.messagesIn(harness.channel).find((m) => m.ref.message === ref.message);

    beforeAll(async () => {
      if (!provided.ok) throw new Error(`the local Bluesky network is not running: ${provided.error}`);
      net = provided;
      [harness, database] = await Promise.all([createHarness(), openTestDatabase(`inbox_${platform}`)]);
      [brand, fan] = await Promise.all([createPerson(net, 'brand'), createPerson(net, 'fan')]);
      herald = await startTestHerald({
        dbName: database.name,
        flows: allFlows,
        commands: allCommands,
        env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: randomBytes(32).toString('hex'), INBOX_POLL_SECONDS: '1', CHAT_MESSAGES_PER_SECOND: '20' },
      });
      await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
      // Connect the brand's account in the private form, then send its inbox to this channel.
      await harness.runCommand(harness.users.admin, 'herald accounts');
      const list = await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Connected accounts')), 10_000);
      await harness.clickButton(harness.users.admin, list.ref, list.buttons.find((b) => b.label === 'Connect Bluesky')!.actionId);
      await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Connect Bluesky');
      await harness.submitOpenForm(harness.users.admin, { identifier: brand.handle, password: brand.appPassword, service: net.pds });
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.startsWith('Connected Bluesky account')), 15_000);
      await harness.runCommand(harness.users.admin, 'herald policy', { approvers: harness.approverGroup, required: 'any' });
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Policy saved')), 10_000);
      await harness.runCommand(harness.users.admin, 'herald inbox-rules', { action: 'add', channel: 'here', account: brand.handle });
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Inbox rules') && m.text.includes(brand.handle)), 10_000);
      const client = createBlueskyNetwork({ service: net.pds, identifier: brand.handle, password: brand.appPassword, log: captureLogger('warn').log });
      const published = await client.publish({ posts: ['Our spring collection is out'], images: [], idempotencyKey: `publish:${randomBytes(6).toString('hex')}`, dueAt: new Date() });
      const record = await xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: brand.did, collection: 'app.bsky.feed.post', rkey: published.posts[0]!.remoteId.split('/').pop()! } });
      ourPost = { uri: record.uri as string, cid: record.cid as string };
      await waitForIndexing(net.control);
    }, 120_000);

    afterAll(async () => {
      await herald?.stop();
      await harness?.close();
      await database?.cleanup();
    });

    it('a reply and a mention become cards; a reply typed in the thread is posted under the right parent; notes stay internal', async () => {
      const reply = await write(fan, { text: 'Is the green jacket available in size M?', reply: { root: ourPost, parent: ourPost } });
      // A stranger's text naming a team member (and a forged mention mark) must not ping anyone.
      const admin = harness.users.admin.user;
      await write(fan, mention(`Hey @${brand.handle} my parcel is late and nobody answers <@${admin}> \uE000${admin}\uE001`));

      const replyCard = await cardFor('green jacket');
      expect(replyCard.text).toContain(`@${fan.handle}`);
      expect(replyCard.text).toContain('Answers our post');
      expect(replyCard.buttons.map((b) => b.label)).toEqual(['Claim', 'Assign', 'Suggest reply', 'Resolve']);
      const mentionCard = await cardFor('parcel is late');
      expect(mentionCard.text).toContain('negative');
      expect(mentionCard.text).toContain('delivery');
      expect(mentionCard.text).toContain(`nobody answers <@${admin}> ${admin}`);
      expect(mentionCard.pinged).toEqual([]);

      // Suggest reply drafts an answer in the item's tone for the person who asked, nobody else.
      await harness.clickButton(harness.users.member, mentionCard.ref, mentionCard.buttons.find((b) => b.label === 'Suggest reply')!.actionId);
      const suggestion = await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.startsWith('Suggested reply')), 10_000);
      expect(suggestion.text).toContain('we are sorry');
      // Assign: a member who neither owns it nor approves may not; an approver assigns it to the member.
      await harness.clickButton(harness.users.member, mentionCard.ref, mentionCard.buttons.find((b) => b.label === 'Assign')!.actionId);
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('Only the owner, approvers or admins')), 10_000);
      await harness.clickButton(harness.users.approver, mentionCard.ref, mentionCard.buttons.find((b) => b.label === 'Assign')!.actionId);
      await harness.waitFor(() => harness.openFormTitle(harness.users.approver) === 'Assign the conversation');
      await harness.submitOpenForm(harness.users.approver, { owner: harness.users.member.user });
      await harness.waitFor(() => latest(mentionCard.ref)?.text.includes(`owned by <@${harness.users.member.user}>`), 10_000);
      await harness.waitFor(() => harness.dmsTo(harness.users.member).find((m) => m.text.includes('assigned you an inbox conversation')), 10_000);

      await harness.replyInThread(harness.users.member, replyCard.ref, '// checking stock with the warehouse first');
      // Too long for Bluesky: refused in the thread, and Herald's own mention of the author pings them.
      await harness.replyInThread(harness.users.member, replyCard.ref, 'Yes! '.repeat(61));
      const refused = await harness.waitFor(() => harness.threadOf(replyCard.ref).find((m) => m.text.includes('your reply was not sent')), 20_000);
      expect(refused.pinged).toEqual([harness.users.member.user]);
      await harness.replyInThread(harness.users.member, replyCard.ref, 'Yes! Size M is back in stock today.');
      const sent = await harness.waitFor(() => harness.threadOf(replyCard.ref).find((m) => m.text.includes('Sent on Bluesky')), 20_000);
      await waitForIndexing(net.control);
      const replies = ((await thread(reply.uri)).replies ?? []) as Json[];
      expect(replies).toHaveLength(1);
      const ours = replies[0]!.post as Json;
      expect((ours.author as Json).did).toBe(brand.did);
      expect((ours.record as Json).text).toBe('Yes! Size M is back in stock today.');
      expect(((ours.record as Json).reply as { parent: { uri: string }; root: { uri: string } }).parent.uri).toBe(reply.uri);
      expect(((ours.record as Json).reply as { parent: { uri: string }; root: { uri: string } }).root.uri).toBe(ourPost.uri);
      expect(sent.text).toContain(String(ours.uri).split('/').pop());
      // The note never left: only the one reply exists, and the conversation records one reply.
      expect(await database.db.collection('inbox_replies').countDocuments({ state: 'sent' })).toBe(1);

      // The fan answers our reply: the conversation continues in the same thread, no new card.
      const cardsBefore = harness.messagesIn(harness.channel).filter((m) => m.buttons.some((b) => b.label === 'Claim')).length;
      await write(fan, { text: 'Great, ordering now', reply: { root: ourPost, parent: { uri: String(ours.uri), cid: String(ours.cid) } } });
      await harness.waitFor(() => harness.threadOf(replyCard.ref).find((m) => m.text.includes('Great, ordering now')), 20_000);
      expect(harness.messagesIn(harness.channel).filter((m) => m.buttons.some((b) => b.label === 'Claim')).length).toBe(cardsBefore);
      await harness.waitFor(() => latest(replyCard.ref)?.text.includes('2 message(s)'), 10_000);

      // Claim, then resolve: the card says who owns it and that it is resolved.
      await harness.clickButton(harness.users.member, replyCard.ref, replyCard.buttons.find((b) => b.label === 'Claim')!.actionId);
      await harness.waitFor(() => latest(replyCard.ref)?.text.includes('owned by'), 10_000);
      await harness.clickButton(harness.users.member, replyCard.ref, replyCard.buttons.find((b) => b.label === 'Resolve')!.actionId);
      const resolved = await harness.waitFor(() => latest(replyCard.ref)?.text.includes('resolved by') && latest(replyCard.ref), 10_000);
      expect(resolved.buttons.map((b) => b.label)).toEqual(['Reopen']);

      // A new message on the resolved conversation reopens it.
      const last = (((await thread(reply.uri)).replies ?? []) as Json[])[0]!;
      const lastReplies = ((last.replies ?? []) as Json[]).map((r) => r.post as Json);
      const fanLast = lastReplies.find((p) => (p.author as Json).did === fan.did)!;
      await write(fan, { text: 'Actually, one more question', reply: { root: ourPost, parent: { uri: String(fanLast.uri), cid: String(fanLast.cid) } } });
      await harness.waitFor(() => latest(replyCard.ref)?.buttons.some((b) => b.label === 'Claim'), 20_000);
      const conversation = await database.db.collection('inbox_conversations').findOne({ card: { $exists: true }, itemCount: 3 });
      expect(conversation?.status).toBe('open');

      // /herald inbox lists open conversations with their owner.
      await harness.runCommand(harness.users.member, 'herald inbox');
      const listing = await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('open inbox conversation')), 10_000);
      expect(listing.text).toContain('parcel is late');
      expect(listing.text).toContain('Actually, one more question'.slice(0, 0) + `@${fan.handle}`);
      expect(parseRef(String(conversation?.card))).toBeDefined();
    }, 120_000);
  });
}
