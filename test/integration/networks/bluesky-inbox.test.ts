import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createBlueskyNetwork } from '../../../src/networks/bluesky/index.ts';
import type { SocialNetwork } from '../../../src/networks/port.ts';
import { waitForIndexing, xrpc, type BlueskyNetworkUrls } from '../../support/bluesky-network.ts';
import { mentioning, writePosts } from '../../support/bluesky-people.ts';
import { captureLogger } from '../../support/log.ts';

/**
 * The Bluesky connector's inbox against the real local AT Protocol network (blueskyNetwork, started
 * by the global setup): another account replies to, mentions and quotes the brand's post.
 */
const provided = inject('blueskyNetwork');
let net: BlueskyNetworkUrls;
type Json = Record<string, unknown>;

interface Person {
  did: string;
  handle: string;
  accessJwt: string;
  appPassword: string;
}

async function person(prefix: string): Promise<Person> {
  const handle = `${prefix}${randomBytes(3).toString('hex')}.test`;
  const created = await xrpc(net.pds, 'com.atproto.server.createAccount', { body: { handle, email: `${handle}@example.com`, password: `pw-${randomBytes(8).toString('hex')}` } });
  const app = await xrpc(net.pds, 'com.atproto.server.createAppPassword', { body: { name: 'herald' }, token: created.accessJwt as string });
  return { did: created.did as string, handle, accessJwt: created.accessJwt as string, appPassword: app.password as string };
}

/** Writes a post as `who` (text, optional reply, quote or mention facet) and returns its uri and cid. */
async function write(who: Person, record: Json): Promise<{ uri: string; cid: string }> {
  const res = await xrpc(net.pds, 'com.atproto.repo.createRecord', {
    body: { repo: who.did, collection: 'app.bsky.feed.post', record: { $type: 'app.bsky.feed.post', createdAt: new Date().toISOString(), ...record } },
    token: who.accessJwt,
  });
  return { uri: res.uri as string, cid: res.cid as string };
}

const mentionOf = (text: string, target: Person): Json => {
  const start = Buffer.byteLength(text.slice(0, text.indexOf('@')));
  return { text, facets: [{ index: { byteStart: start, byteEnd: start + Buffer.byteLength(`@${target.handle}`) }, features: [{ $type: 'app.bsky.richtext.facet#mention', did: target.did }] }] };
};

describe('Bluesky inbox (local AT Protocol network)', () => {
  let brand: Person;
  let fan: Person;
  let client: SocialNetwork;

  beforeAll(async () => {
    if (!provided.ok) throw new Error(`the local Bluesky network is not running: ${provided.error}`);
    net = provided;
    [brand, fan] = await Promise.all([person('brand'), person('fan')]);
    // The fan follows the brand, so the author's follower count is known (0 for the fan itself).
    await xrpc(net.pds, 'com.atproto.repo.createRecord', { body: { repo: fan.did, collection: 'app.bsky.graph.follow', record: { $type: 'app.bsky.graph.follow', subject: brand.did, createdAt: new Date().toISOString() } }, token: fan.accessJwt });
    client = createBlueskyNetwork({ service: net.pds, identifier: brand.handle, password: brand.appPassword, log: captureLogger('warn').log });
  }, 60_000);

  it('reads replies, mentions and quotes newer than the cursor, naming our post', async () => {
    const ours = (await client.publish({ posts: ['Our spring collection is out'], images: [], idempotencyKey: `publish:${randomBytes(6).toString('hex')}`, dueAt: new Date() })).posts[0]!;
    await waitForIndexing(net.control);
    const ourRef = { uri: ours.remoteId, cid: ((await xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: brand.did, collection: 'app.bsky.feed.post', rkey: ours.remoteId.split('/').pop()! } })).cid as string) };
    const reply = await write(fan, { text: 'Where can I buy it?', reply: { root: ourRef, parent: ourRef } });
    const mention = await write(fan, mentionOf(`Hey @${brand.handle} my order is late`, brand));
    const quote = await write(fan, { text: 'Look at this', embed: { $type: 'app.bsky.embed.record', record: ourRef } });
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

    const later = await write(fan, { text: 'Any news?', reply: { root: ourRef, parent: reply } });
    await waitForIndexing(net.control);
    const next = await client.fetchInbox!(again.cursor);
    expect(next.items.map((i) => i.remoteId)).toContain(later.uri);
    expect(next.items.find((i) => i.remoteId === later.uri)).toMatchObject({ kind: 'reply', inReplyTo: reply.uri, rootId: ours.remoteId });
  }, 60_000);

  it('an account with no notifications yet reads everything that arrives next, beyond one page', async () => {
    const quiet = await person('quiet');
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
    const question = await write(fan, mentionOf(`@${brand.handle} do you ship to Romania?`, brand));
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
