import { createHmac, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createBlueskyNetwork } from '../../../src/networks/bluesky/index.ts';
import { NetworkError, type PublishInput, type SocialNetwork } from '../../../src/networks/port.ts';
import { waitForIndexing, xrpc, type BlueskyNetworkUrls } from '../../support/bluesky-network.ts';
import { captureLogger } from '../../support/log.ts';
import { solidPng } from '../../support/png.ts';

/**
 * The Bluesky connector against a real local AT Protocol network (PLC, PDS, AppView from
 * @atproto/dev-env), started once per run by the global setup.
 */
const provided = inject('blueskyNetwork');
let net: BlueskyNetworkUrls;

type Json = Record<string, unknown>;

interface Account {
  did: string;
  handle: string;
  password: string;
  accessJwt: string;
  appPassword: string;
  appPasswordName: string;
}

async function createAccount(prefix: string): Promise<Account> {
  const handle = `${prefix}${randomBytes(4).toString('hex')}.test`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const created = await xrpc(net.pds, 'com.atproto.server.createAccount', { body: { handle, email: `${handle}@example.com`, password } });
  const accessJwt = created.accessJwt as string;
  const appPasswordName = `herald-${randomBytes(3).toString('hex')}`;
  const app = await xrpc(net.pds, 'com.atproto.server.createAppPassword', { body: { name: appPasswordName }, token: accessJwt });
  return { did: created.did as string, handle, password, accessJwt, appPassword: app.password as string, appPasswordName };
}

function connector(account: Pick<Account, 'handle' | 'appPassword'>, fetchImpl?: typeof fetch): SocialNetwork {
  return createBlueskyNetwork({
    service: net.pds,
    identifier: account.handle,
    password: account.appPassword,
    log: captureLogger('warn').log,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

function input(posts: string[], extra: Partial<PublishInput> = {}): PublishInput {
  return { posts, images: [], idempotencyKey: `publish:${randomBytes(6).toString('hex')}:1:bluesky`, dueAt: new Date('2026-03-02T09:00:00.000Z'), ...extra };
}

function rkeyOf(uri: string): string {
  return uri.split('/').pop()!;
}

async function getPost(account: Account, uri: string): Promise<Json> {
  const record = await xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: account.did, collection: 'app.bsky.feed.post', rkey: rkeyOf(uri) } });
  return record.value as Json;
}

async function listPosts(account: Account): Promise<Json[]> {
  const res = await xrpc(net.pds, 'com.atproto.repo.listRecords', { query: { repo: account.did, collection: 'app.bsky.feed.post', limit: '100' } });
  return res.records as Json[];
}

async function failureOf(promise: Promise<unknown>): Promise<NetworkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NetworkError);
  return error as NetworkError;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('Bluesky connector on a local AT Protocol network', () => {
  let alice: Account;
  let bob: Account;
  let bsky: SocialNetwork;

  beforeAll(async () => {
    if (!provided.ok) throw new Error(`The local Bluesky network is not running: ${provided.error}`);
    net = provided;
    [alice, bob] = await Promise.all([createAccount('alice'), createAccount('bob')]);
    bsky = connector(alice);
    await waitForIndexing(net.control);
  });

  it('verify logs in with the app password and reads the profile', async () => {
    const info = await bsky.verify();
    expect(info.handle).toBe(alice.handle);
    expect(info.url).toBe(`https://bsky.app/profile/${alice.handle}`);
    expect(info.followers).toBe(0);
    expect(bsky.limits()).toMatchObject({ id: 'bluesky', maxLength: 300, maxImages: 4 });
  });

  it('writes mention, link and hashtag facets at the right byte offsets; an unknown mention stays text', async () => {
    const text = `Café ☕ launch with @${bob.handle} and @nobody-here.test: https://example.com/a?b=1 #HeraldLaunch`;
    const result = await bsky.publish(input([text]));
    expect(result.posts).toHaveLength(1);
    const [post] = result.posts;
    expect(post!.remoteId).toMatch(new RegExp(`^at://${alice.did}/app\\.bsky\\.feed\\.post/[2-7a-j][2-7a-z]{12}$`));
    expect(post!.url).toBe(`https://bsky.app/profile/${alice.handle}/post/${rkeyOf(post!.remoteId)}`);

    const record = await getPost(alice, post!.remoteId);
    expect(record.text).toBe(text);
    const at = (needle: string): { byteStart: number; byteEnd: number } => {
      const index = text.indexOf(needle);
      return { byteStart: bytes(text.slice(0, index)), byteEnd: bytes(text.slice(0, index)) + bytes(needle) };
    };
    expect(record.facets).toEqual([
      { $type: 'app.bsky.richtext.facet', index: at(`@${bob.handle}`), features: [{ $type: 'app.bsky.richtext.facet#mention', did: bob.did }] },
      { $type: 'app.bsky.richtext.facet', index: at('https://example.com/a?b=1'), features: [{ $type: 'app.bsky.richtext.facet#link', uri: 'https://example.com/a?b=1' }] },
      { $type: 'app.bsky.richtext.facet', index: at('#HeraldLaunch'), features: [{ $type: 'app.bsky.richtext.facet#tag', tag: 'HeraldLaunch' }] },
    ]);
    // "é" takes two bytes and "☕" three: offsets are UTF-8 bytes, not UTF-16 units.
    expect(at(`@${bob.handle}`).byteStart).toBe(text.indexOf('@') + 3);

    // The AppView indexed it with the mention (its thread view carries the same facets).
    await waitForIndexing(net.control);
    const thread = await xrpc(net.appview, 'app.bsky.feed.getPostThread', { query: { uri: post!.remoteId } });
    expect(((thread.thread as Json).post as Json & { record: Json }).record.facets).toEqual(record.facets);
  });

  it('embeds images with their alt text on the first post', async () => {
    const png = solidPng(40, 20);
    const result = await bsky.publish(input(['Our new colours.'], { images: [{ bytes: png, mimeType: 'image/png', alt: 'A blue rectangle, twice as wide as tall' }] }));
    const record = await getPost(alice, result.posts[0]!.remoteId);
    const embed = record.embed as { $type: string; images: { alt: string; aspectRatio: unknown; image: { mimeType: string; size: number } }[] };
    expect(embed.$type).toBe('app.bsky.embed.images');
    expect(embed.images).toHaveLength(1);
    expect(embed.images[0]).toMatchObject({ alt: 'A blue rectangle, twice as wide as tall', aspectRatio: { width: 40, height: 20 }, image: { mimeType: 'image/png', size: png.length } });
  });

  it('publishes a thread whose replies point at the root and the previous post', async () => {
    const result = await bsky.publish(input(['Thread 1/3', 'Thread 2/3', 'Thread 3/3']));
    expect(result.posts).toHaveLength(3);
    const [first, second, third] = await Promise.all(result.posts.map((p) => xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: alice.did, collection: 'app.bsky.feed.post', rkey: rkeyOf(p.remoteId) } })));
    const ref = (r: Json): Json => ({ uri: r.uri, cid: r.cid });
    expect((first!.value as Json).reply).toBeUndefined();
    expect((second!.value as Json).reply).toEqual({ root: ref(first!), parent: ref(first!) });
    expect((third!.value as Json).reply).toEqual({ root: ref(first!), parent: ref(second!) });
    // The record keys sort in thread order.
    const keys = result.posts.map((p) => rkeyOf(p.remoteId));
    expect([...keys].sort()).toEqual(keys);

    await waitForIndexing(net.control);
    const thread = await xrpc(net.appview, 'app.bsky.feed.getPostThread', { query: { uri: result.posts[2]!.remoteId } });
    const parentUri = (((thread.thread as Json).parent as Json).post as Json).uri;
    expect(parentUri).toBe(result.posts[1]!.remoteId);
  });

  it('reads a post’s likes, reposts, replies and quotes and the account’s followers as other people act', async () => {
    const gina = await createAccount('gina');
    const brand = connector(gina);
    const published = await brand.publish(input([`Metrics ${randomBytes(3).toString('hex')}`]));
    const post = published.posts[0]!;
    await waitForIndexing(net.control);
    expect(await brand.fetchMetrics!([post.remoteId])).toEqual([{ remoteId: post.remoteId, likes: 0, reposts: 0, replies: 0, quotes: 0 }]);
    const cid = ((await xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: gina.did, collection: 'app.bsky.feed.post', rkey: rkeyOf(post.remoteId) } })).cid) as string;
    const subject = { uri: post.remoteId, cid };
    const write = (collection: string, record: Json): Promise<unknown> =>
      xrpc(net.pds, 'com.atproto.repo.createRecord', { body: { repo: bob.did, collection, record: { $type: collection, createdAt: new Date().toISOString(), ...record } }, token: bob.accessJwt });
    await write('app.bsky.feed.like', { subject });
    await write('app.bsky.feed.repost', { subject });
    await write('app.bsky.feed.post', { text: 'Agreed!', reply: { root: subject, parent: subject } });
    await write('app.bsky.feed.post', { text: 'Look at this', embed: { $type: 'app.bsky.embed.record', record: subject } });
    await write('app.bsky.graph.follow', { subject: gina.did });
    await waitForIndexing(net.control);
    expect(await brand.fetchMetrics!([post.remoteId])).toEqual([{ remoteId: post.remoteId, likes: 1, reposts: 1, replies: 1, quotes: 1 }]);
    expect(await brand.followers!()).toBe(1);
  });

  it('publishing the same input twice makes one set of records', async () => {
    const carol = await createAccount('carol');
    const net2 = connector(carol);
    const same = input(['Once 1/2', 'Once 2/2']);
    const a = await net2.publish(same);
    const b = await net2.publish(same);
    expect(b).toEqual(a);
    expect(await net2.findPublished(same)).toEqual(a.posts);
    expect(await listPosts(carol)).toHaveLength(2);
    await waitForIndexing(net.control);
    const feed = await xrpc(net.appview, 'app.bsky.feed.getAuthorFeed', { query: { actor: carol.did } });
    expect(feed.feed as Json[]).toHaveLength(2);
  });

  it('completes a partially published thread without repeating its first post', async () => {
    const dave = await createAccount('dave');
    const net2 = connector(dave);
    const full = input(['Part 1/3', 'Part 2/3', 'Part 3/3']);
    expect(await net2.findPublished(full)).toEqual([]);
    // A crash after the first post: the same key and due time, only the first post written.
    const prefix = await net2.publish({ ...full, posts: full.posts.slice(0, 1) });
    expect(await net2.findPublished(full)).toEqual(prefix.posts);

    const done = await net2.publish(full);
    expect(done.posts[0]).toEqual(prefix.posts[0]);
    expect(await listPosts(dave)).toHaveLength(3);
    const first = await xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: dave.did, collection: 'app.bsky.feed.post', rkey: rkeyOf(prefix.posts[0]!.remoteId) } });
    const second = await getPost(dave, done.posts[1]!.remoteId);
    expect(second.reply).toEqual({ root: { uri: first.uri, cid: first.cid }, parent: { uri: first.uri, cid: first.cid } });
  });

  it('deletes a post; deleting it again is not_found', async () => {
    const result = await bsky.publish(input(['Short-lived.']));
    const uri = result.posts[0]!.remoteId;
    await bsky.delete(uri);
    await expect(xrpc(net.pds, 'com.atproto.repo.getRecord', { query: { repo: alice.did, collection: 'app.bsky.feed.post', rkey: rkeyOf(uri) } })).rejects.toThrow(/RecordNotFound/);
    expect((await failureOf(bsky.delete(uri))).failure).toBe('not_found');
  });

  it('a wrong password is auth_revoked', async () => {
    const wrong = connector({ handle: alice.handle, appPassword: 'aaaa-bbbb-cccc-dddd' });
    expect((await failureOf(wrong.verify())).failure).toBe('auth_revoked');
    expect((await failureOf(wrong.publish(input(['never'])))).failure).toBe('auth_revoked');
  });

  it('refreshes an expired access token instead of reporting the account revoked', async () => {
    // Replaces the access token of the next createRecord with the same token, expired an hour ago
    // (signed with dev-env's JWT secret), so the PDS answers ExpiredToken for real.
    let expireNext = false;
    const seen: string[] = [];
    const fetchImpl: typeof fetch = async (resource, init) => {
      const request = new Request(resource, init);
      seen.push(new URL(request.url).pathname);
      const auth = request.headers.get('authorization');
      if (expireNext && auth?.startsWith('Bearer ') && request.url.includes('com.atproto.repo.createRecord')) {
        expireNext = false;
        request.headers.set('authorization', `Bearer ${expired(auth.slice(7))}`);
      }
      return fetch(request);
    };
    const erin = await createAccount('erin');
    const net2 = connector(erin, fetchImpl);
    await net2.verify();
    // Access tokens carry no nonce: one refreshed within the same second as the login would be the
    // very same token, and the agent retries only with a new one.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expireNext = true;
    const result = await net2.publish(input(['After a refresh.']));
    expect(result.posts).toHaveLength(1);
    expect(expireNext).toBe(false);
    expect(seen).toContain('/xrpc/com.atproto.server.refreshSession');
    expect(seen.filter((p) => p === '/xrpc/com.atproto.server.createSession')).toHaveLength(1);
  });

  it('a revoked app password is auth_revoked on the next call', async () => {
    const frank = await createAccount('frank');
    const net2 = connector(frank);
    expect((await net2.verify()).handle).toBe(frank.handle);
    await xrpc(net.pds, 'com.atproto.server.revokeAppPassword', { body: { name: frank.appPasswordName }, token: frank.accessJwt });
    expect((await failureOf(net2.verify())).failure).toBe('auth_revoked');
    expect((await failureOf(net2.publish(input(['not after revocation'])))).failure).toBe('auth_revoked');
    expect(await listPosts(frank)).toHaveLength(0);
  });
});

/** The same JWT with iat/exp an hour and two in the past, re-signed with dev-env's JWT secret. */
function expired(jwt: string): string {
  const [header, payload] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Json;
  const now = Math.floor(Date.now() / 1000);
  const body = Buffer.from(JSON.stringify({ ...claims, iat: now - 7200, exp: now - 3600 })).toString('base64url');
  const signature = createHmac('sha256', 'jwt-secret').update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}
