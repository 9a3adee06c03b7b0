import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createBlueskyNetwork } from '../../../src/networks/bluesky/index.ts';
import type { SocialNetwork } from '../../../src/networks/port.ts';
import { waitForIndexing, xrpc, type BlueskyNetworkUrls } from '../../support/bluesky-network.ts';
import { createPerson, mentioning, writePost, writePosts, type BlueskyPerson, type Json } from '../../support/bluesky-people.ts';
import { captureLogger } from '../../support/log.ts';

/**
 * The Bluesky connector's inbox against the real local AT Protocol network (blueskyNetwork, started
 * by the global setup): another account replies to, mentions and quotes the brand's post.
 */
const provided = inject('blueskyNetwork');
let net: BlueskyNetworkUrls;
describe('Bluesky inbox (local AT Protocol network)', () => {
  let brand: BlueskyPerson;
  let fan: BlueskyPerson;
  let client: SocialNetwork;

  beforeAll(async () => {
    if (!provided.ok) throw new Error(`the local Bluesky network is not running: ${provided.error}`);
    net = provided;
    [brand, fan] = await Promise.all([createPerson(net, 'brand'), createPerson(net, 'fan')]);
    // The fan follows the brand, so the author's follower count is known (0 for the fan itself).
    await xrpc(net.pds, 'com.atproto.repo.createRecord', { body: { repo: fan.did, collection: 'app.bsky.graph.follow', record: { $type: 'app.bsky.graph.follow', subject: brand.did, createdAt: new Date().toISOString() } }, token: fan.accessJwt });
    client = createBlueskyNetwork({ service: net.pds, identifier: brand.handle, password: brand.appPassword, log: captureLogger('warn').log });
  }, 60_000);

  it('reads replies, mentions and quotes newer than the cursor, naming our post', async () => {
    const ours = (await client.publish({ posts: ['Our spring collection is out'], images: [], idempotencyKey: `publish:${randomBytes(6).toString('hex')}`, dueAt: new Date() })).posts[0]!;
    await waitForIndexing(net.control);
    const ourRef = { uri: ours.remoteId, cid: ((await xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: brand.did, collection: 'app.bsky.feed.post', rkey: ours.remoteId.split('/').pop()! } })).cid as string) };
    const reply = await writePost(net, fan, { text: 'Where can I buy it?', reply: { root: ourRef, parent: ourRef } });
    const mention = await writePost(net, fan, mentioning(`Hey @${brand.handle} my order is late`, brand));
    const quote = await writePost(net, fan, { text: 'Look at this', embed: { $type: 'app.bsky.embed.record', record: ourRef } });
    await waitForIndexing(net.control);

    const first = await client.fetchInbox!(undefined);
    expect(first.items.map((i) => [i.remoteId, i.kind])).toEqual([
      [reply.uri, 'reply'],
      [mention.uri, 'mention'],
      [quote.uri, 'quote'],
    ]);
    const [asReply, asMention, asQuote] = first.items;
    expect(asReply!.ourPost?.remoteId).toBe(ours.remoteId);
    expect(asReply!.inReplyTo).toBe(ours.remoteId);
    expect(asReply!.rootId).toBe(ours.remoteId);
    expect(asQuote!.ourPost?.remoteId).toBe(ours.remoteId);
    expect(asMention!.ourPost).toBeUndefined();
    expect(asMention!.text).toBe(`Hey @${brand.handle} my order is late`);
    expect(asMention!.author).toMatchObject({ handle: fan.handle, followers: 0 });
    expect(asMention!.url).toBe(`https://bsky.app/profile/${fan.handle}/post/${mention.uri.split('/').pop()}`);
    expect(first.cursor).toBeTruthy();

    // The cursor is inclusive at its edge: what comes again is only what was already read.
    const again = await client.fetchInbox!(first.cursor);
    expect(again.items.every((i) => first.items.some((f) => f.remoteId === i.remoteId))).toBe(true);

    const later = await writePost(net, fan, { text: 'Any news?', reply: { root: ourRef, parent: reply } });
    await waitForIndexing(net.control);
    const next = await client.fetchInbox!(again.cursor);
    expect(next.items.map((i) => i.remoteId)).toContain(later.uri);
    expect(next.items.find((i) => i.remoteId === later.uri)).toMatchObject({ kind: 'reply', inReplyTo: reply.uri, rootId: ours.remoteId });
  }, 60_000);

  it('an account with no notifications yet reads everything that arrives next, beyond one page', async () => {
    const quiet = await createPerson(net, 'quiet');
    const client2 = createBlueskyNetwork({ service: net.pds, identifier: quiet.handle, password: quiet.appPassword, log: captureLogger('warn').log });
    const empty = await client2.fetchInbox!(undefined);
    expect(empty.items).toEqual([]);
    expect(empty.cursor).toBeTruthy();
    await writePosts(net, fan, Array.from({ length: 120 }, (_, i) => mentioning(`@${quiet.handle} message ${i}`, quiet)));
    await waitForIndexing(net.control);
    const burst = await client2.fetchInbox!(empty.cursor);
    expect(burst.items).toHaveLength(120);
    expect(new Set(burst.items.map((i) => i.text)).size).toBe(120);
  }, 60_000);

  it('replies under the exact item in its thread, exactly once per idempotency key', async () => {
    const question = await writePost(net, fan, mentioning(`@${brand.handle} do you ship to Romania?`, brand));
    await waitForIndexing(net.control);
    const input = { posts: ['Yes, within 3 days!'], images: [], idempotencyKey: `reply:${randomBytes(6).toString('hex')}`, dueAt: new Date() };
    const sent = await client.reply!(question.uri, input);
    const repeated = await client.reply!(question.uri, input);
    expect(repeated.posts[0]!.remoteId).toBe(sent.posts[0]!.remoteId);
    await waitForIndexing(net.control);
    const thread = await xrpc(net.pds, 'app.bsky.feed.getPostThread', { query: { uri: question.uri }, token: fan.accessJwt });
    const replies = ((thread.thread as Json).replies ?? []) as Json[];
    expect(replies).toHaveLength(1);
    const post = replies[0]!.post as Json;
    expect(post.uri).toBe(sent.posts[0]!.remoteId);
    expect((post.record as Json).text).toBe('Yes, within 3 days!');
    expect(((post.record as Json).reply as { parent: { uri: string }; root: { uri: string } }).parent.uri).toBe(question.uri);
    expect(((post.record as Json).reply as { parent: { uri: string }; root: { uri: string } }).root.uri).toBe(question.uri);
  }, 60_000);
});
