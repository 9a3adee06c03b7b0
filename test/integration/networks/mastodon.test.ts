import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { networks } from '../../../src/core/networks.ts';
import { createMastodonNetwork } from '../../../src/networks/mastodon/index.ts';
import { htmlToText, sameText } from '../../../src/networks/mastodon/text.ts';
import { NetworkError, type PublishInput, type SocialNetwork } from '../../../src/networks/port.ts';
import { startFaultProxy, startGoToSocial, type FaultProxy, type RunningGoToSocial } from '../../support/gotosocial.ts';
import { captureLogger } from '../../support/log.ts';
import { solidPng } from '../../support/png.ts';

/**
 * The Mastodon connector against a real Mastodon-API server: GoToSocial on 127.0.0.1 with SQLite in
 * a temp folder (test/support/gotosocial.ts), reached through a small proxy that records requests
 * and injects what GoToSocial will not produce on demand (429, 503, an image still in processing).
 * Assertions read the server's own state back over its API.
 */
let gts: RunningGoToSocial;
let proxy: FaultProxy;
let net: SocialNetwork;
const { log } = captureLogger('debug');

interface RemoteStatus {
  id: string;
  content: string;
  in_reply_to_id: string | null;
  visibility: string;
  spoiler_text: string;
  language: string | null;
  url: string;
  media_attachments: { id: string; type: string; description: string | null; url: string | null }[];
}

/** Reads GoToSocial directly (not through the proxy), as the account owner. */
async function api<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gts.url}${path}`, { headers: { authorization: `Bearer ${gts.account.accessToken}` } });
  return { status: res.status, body: (await res.json()) as T };
}

async function remoteStatus(id: string): Promise<RemoteStatus> {
  const { status, body } = await api<RemoteStatus>(`/api/v1/statuses/${id}`);
  expect(status).toBe(200);
  return body;
}

/** The account's statuses whose text contains `tag`. */
async function statusesTagged(tag: string): Promise<RemoteStatus[]> {
  const { body } = await api<RemoteStatus[]>(`/api/v1/accounts/${gts.account.id}/statuses?limit=40`);
  return body.filter((status) => htmlToText(status.content).includes(tag));
}

function input(posts: string[], extra: Partial<PublishInput> = {}): PublishInput {
  return { posts, images: [], idempotencyKey: `publish:${randomUUID()}:1:mastodon`, dueAt: new Date(), ...extra };
}

async function failure(promise: Promise<unknown>): Promise<NetworkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NetworkError);
  return error as NetworkError;
}

const statusPosts = (): number => proxy.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/statuses').length;

beforeAll(async () => {
  gts = await startGoToSocial();
  proxy = await startFaultProxy(gts.url);
  net = createMastodonNetwork({ instanceUrl: proxy.url, accessToken: gts.account.accessToken, log, mediaTimeoutMs: 5_000 });
  process.stderr.write(`mastodon tests: GoToSocial ready in ${gts.startMs} ms at ${gts.url}\n`);
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await gts?.stop();
});

afterEach(() => proxy.clear());

describe('Mastodon connector on GoToSocial', () => {
  it('verifies the account behind the token and states its limits', async () => {
    const account = await net.verify();
    expect(account).toMatchObject({ handle: `${gts.account.username}@${new URL(gts.url).host}`, followers: 0 });
    expect(account.url).toBe(`${gts.url}/@${gts.account.username}`);
    expect(net.network).toBe('mastodon');
    expect(net.limits()).toEqual(networks.mastodon);
  });

  it('publishes an image with its alt text, waiting for processing when the server is still at it', async () => {
    const tag = `img-${randomUUID().slice(0, 8)}`;
    // The server first says the image is still being processed (202, then 206 twice): the
    // connector polls GET /api/v1/media/:id until it has a URL.
    proxy.inject({ method: 'POST', path: /^\/api\/v2\/media$/, rewrite: (_status, body) => ({ status: 202, body: { ...(body as object), url: null } }) });
    proxy.inject({ method: 'GET', path: /^\/api\/v1\/media\//, times: 2, rewrite: (_status, body) => ({ status: 206, body: { ...(body as object), url: null } }) });
    const alt = 'A blue rectangle, the brand colour';
    const result = await net.publish(input([`Launch day ${tag} https://example.com/launch?utm=x&y=1`], { images: [{ bytes: solidPng(64, 48), mimeType: 'image/png', alt }] }));
    expect(result.posts).toHaveLength(1);
    const [post] = result.posts;
    expect(post?.url).toBe(`${gts.url}/@${gts.account.username}/statuses/${post?.remoteId}`);
    const status = await remoteStatus(post!.remoteId);
    expect(status.media_attachments).toHaveLength(1);
    expect(status.media_attachments[0]).toMatchObject({ type: 'image', description: alt });
    expect(htmlToText(status.content)).toBe(`Launch day ${tag} https://example.com/launch?utm=x&y=1`);
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/media/')).length).toBeGreaterThanOrEqual(3);
  });

  it('gives up on an image that is never processed within mediaTimeoutMs, as a transient failure', async () => {
    const impatient = createMastodonNetwork({ instanceUrl: proxy.url, accessToken: gts.account.accessToken, log, mediaTimeoutMs: 800 });
    proxy.inject({ method: 'POST', path: /^\/api\/v2\/media$/, rewrite: (_s, body) => ({ status: 202, body: { ...(body as object), url: null } }) });
    proxy.inject({ method: 'GET', path: /^\/api\/v1\/media\//, times: Infinity, rewrite: (_s, body) => ({ status: 206, body: { ...(body as object), url: null } }) });
    const tag = `slow-${randomUUID().slice(0, 8)}`;
    const error = await failure(impatient.publish(input([`Slow ${tag}`], { images: [{ bytes: solidPng(8, 8), mimeType: 'image/png', alt: 'a dot' }] })));
    expect(error.failure).toBe('unavailable');
    expect(error.transient).toBe(true);
    expect(await statusesTagged(tag)).toHaveLength(0);
  });

  it('publishes a thread as replies, each with its own Idempotency-Key', async () => {
    const tag = `thread-${randomUUID().slice(0, 8)}`;
    const thread = input([`1/3 ${tag} first`, `2/3 ${tag} second`, `3/3 ${tag} third`]);
    const before = proxy.requests.length;
    const result = await net.publish(thread);
    expect(result.posts).toHaveLength(3);
    const [first, second, third] = await Promise.all(result.posts.map((p) => remoteStatus(p.remoteId)));
    expect(first?.in_reply_to_id).toBeNull();
    expect(second?.in_reply_to_id).toBe(first?.id);
    expect(third?.in_reply_to_id).toBe(second?.id);
    expect([first, second, third].map((s) => htmlToText(s!.content))).toEqual(thread.posts);
    const keys = proxy.requests.slice(before).filter((r) => r.path === '/api/v1/statuses').map((r) => r.idempotencyKey);
    expect(keys).toEqual([0, 1, 2].map((i) => `${thread.idempotencyKey}:${i}`));
  });

  it('on a first attempt goes straight to posting; any later attempt looks for what an earlier one left', async () => {
    const tag = `first-${randomUUID().slice(0, 8)}`;
    const post = input([`Only once ${tag}`]);
    let before = proxy.requests.length;
    const [created] = (await net.publish({ ...post, firstAttempt: true })).posts;
    expect(proxy.requests.slice(before).map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual(['POST /api/v1/statuses']);
    before = proxy.requests.length;
    const [again] = (await net.publish(post)).posts;
    expect(again?.remoteId).toBe(created?.remoteId);
    expect(proxy.requests.slice(before).some((r) => r.method === 'GET' && r.path.includes('/statuses'))).toBe(true);
    expect(await statusesTagged(tag)).toHaveLength(1);
  });

  it('carries visibility, content warning and language to every post', async () => {
    const tag = `cw-${randomUUID().slice(0, 8)}`;
    const result = await net.publish(input([`Finale ${tag}`, `More ${tag}`], { visibility: 'unlisted', contentWarning: 'Spoilers for the finale', language: 'fr' }));
    for (const post of result.posts) {
      expect(await remoteStatus(post.remoteId)).toMatchObject({ visibility: 'unlisted', spoiler_text: 'Spoilers for the finale', language: 'fr' });
    }
    const [privatePost] = (await net.publish(input([`Followers only ${tag}`], { visibility: 'private' }))).posts;
    expect(await remoteStatus(privatePost!.remoteId)).toMatchObject({ visibility: 'private', spoiler_text: '' });
  });

  it('publishing the same input twice leaves one set of statuses', async () => {
    const tag = `twice-${randomUUID().slice(0, 8)}`;
    const same = input([`Once ${tag} <b>not bold</b> & "quoted"`, `Twice ${tag}`]);
    const first = await net.publish(same);
    const postsBefore = statusPosts();
    const again = await net.publish(same);
    expect(again).toEqual(first);
    expect(statusPosts()).toBe(postsBefore);
    expect(await statusesTagged(tag)).toHaveLength(2);
    expect(await net.findPublished(same)).toEqual(first.posts);
  });

  it('completes a thread an earlier attempt left half done, without repeating a post', async () => {
    const tag = `partial-${randomUUID().slice(0, 8)}`;
    const thread = input([`A ${tag}`, `B ${tag}`, `C ${tag}`], { images: [{ bytes: solidPng(16, 16, [200, 30, 30]), mimeType: 'image/png', alt: 'a red square' }] });
    // The second post fails (the instance goes down for a moment) after the first is out.
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, skip: 1, answer: { status: 503, body: { error: 'Service Unavailable' } } });
    const error = await failure(net.publish(thread));
    expect(error.failure).toBe('unavailable');

    const found = await net.findPublished(thread);
    expect(found).toHaveLength(1);
    const uploadsBefore = proxy.requests.filter((r) => r.path === '/api/v2/media').length;
    const result = await net.publish(thread);
    expect(result.posts[0]).toEqual(found[0]);
    expect(result.posts).toHaveLength(3);
    const chain = await Promise.all(result.posts.map((p) => remoteStatus(p.remoteId)));
    expect(chain[1]?.in_reply_to_id).toBe(chain[0]?.id);
    expect(chain[2]?.in_reply_to_id).toBe(chain[1]?.id);
    expect(chain[0]?.media_attachments).toHaveLength(1);
    // No second upload and no second first post.
    expect(proxy.requests.filter((r) => r.path === '/api/v2/media').length).toBe(uploadsBefore);
    expect((await statusesTagged(tag)).map((s) => s.id).sort()).toEqual(result.posts.map((p) => p.remoteId).sort());
  });

  it('findPublished creates nothing and ignores statuses from before the due time', async () => {
    const tag = `find-${randomUUID().slice(0, 8)}`;
    const thread = input([`X ${tag}`, `Y ${tag}`]);
    expect(await net.findPublished(thread)).toEqual([]);
    const published = await net.publish(thread);
    const before = proxy.requests.length;
    expect(await net.findPublished(thread)).toEqual(published.posts);
    expect(proxy.requests.slice(before).every((r) => r.method === 'GET')).toBe(true);
    // The same text due an hour from now is a new post, not this one.
    expect(await net.findPublished({ ...thread, dueAt: new Date(Date.now() + 3_600_000) })).toEqual([]);
  });

  it('deletes a status; a second delete is not_found', async () => {
    const [post] = (await net.publish(input([`Delete me ${randomUUID().slice(0, 8)}`]))).posts;
    await net.delete(post!.remoteId);
    // GoToSocial answers the DELETE at once and removes the status from a worker queue a moment
    // later (Mastodon hides it before answering): wait for the server to finish.
    await expect.poll(async () => (await api(`/api/v1/statuses/${post!.remoteId}`)).status, { timeout: 5_000, interval: 50 }).toBe(404);
    const error = await failure(net.delete(post!.remoteId));
    expect(error.failure).toBe('not_found');
    expect(error.transient).toBe(false);
  });

  it('a bad token is auth_revoked', async () => {
    const revoked = createMastodonNetwork({ instanceUrl: proxy.url, accessToken: 'not-a-valid-token-at-all', log });
    expect((await failure(revoked.verify())).failure).toBe('auth_revoked');
    const error = await failure(revoked.publish(input([`Nope ${randomUUID().slice(0, 8)}`])));
    expect(error).toMatchObject({ failure: 'auth_revoked', status: 401 });
    expect(error.transient).toBe(false);
  });

  it('over-long text is content_refused, with the server’s reason', async () => {
    // GoToSocial's own answer (400 "… exceed max chars (500)").
    const long = await failure(net.publish(input([`${'a'.repeat(501)} ${randomUUID()}`])));
    expect(long.failure).toBe('content_refused');
    expect(long.message).toMatch(/500/);
    // Mastodon's answer to the same request (422 with a validation message).
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, answer: { status: 422, body: { error: 'Validation failed: Text character limit of 500 exceeded' } } });
    const refused = await failure(net.publish(input([`Fits here ${randomUUID().slice(0, 8)}`])));
    expect(refused).toMatchObject({ failure: 'content_refused', status: 422 });
    expect(refused.message).toContain('Text character limit of 500 exceeded');
  });

  it('429 is rate_limited with the wait the server asked for; 5xx and unreachable are unavailable', async () => {
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, answer: { status: 429, headers: { 'retry-after': '7' }, body: { error: 'Too many requests' } } });
    const limited = await failure(net.publish(input([`Busy ${randomUUID().slice(0, 8)}`])));
    expect(limited).toMatchObject({ failure: 'rate_limited', status: 429, retryAfterMs: 7_000 });
    expect(limited.transient).toBe(true);

    const reset = new Date(Date.now() + 30_000).toISOString();
    proxy.inject({ method: 'GET', path: /^\/api\/v1\/accounts\/verify_credentials$/, answer: { status: 429, headers: { 'x-ratelimit-limit': '300', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, body: { error: 'Too many requests' } } });
    const byReset = await failure(net.verify());
    expect(byReset.failure).toBe('rate_limited');
    expect(byReset.retryAfterMs).toBeGreaterThan(25_000);
    expect(byReset.retryAfterMs).toBeLessThanOrEqual(30_000);

    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, answer: { status: 503, headers: { 'retry-after': '2' }, body: { error: 'Service Unavailable' } } });
    const down = await failure(net.publish(input([`Down ${randomUUID().slice(0, 8)}`])));
    expect(down).toMatchObject({ failure: 'unavailable', status: 503, retryAfterMs: 2_000 });
    expect(down.transient).toBe(true);

    // A proxy's HTML error page (no JSON at all) is the instance being unavailable too.
    proxy.inject({ method: 'GET', path: /^\/api\/v1\/accounts\/verify_credentials$/, answer: { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' } });
    expect((await failure(net.verify())).failure).toBe('unavailable');
    // A web page where the API should be (a wrong instance URL) is a mistake to fix, not to retry.
    proxy.inject({ method: 'GET', path: /^\/api\/v1\/accounts\/verify_credentials$/, answer: { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>Welcome</html>' } });
    expect((await failure(net.verify())).failure).toBe('invalid_request');

    const closed = createMastodonNetwork({ instanceUrl: 'http://127.0.0.1:9', accessToken: 'whatever-token', log });
    expect((await failure(closed.verify())).failure).toBe('unavailable');
  });
});

describe('metrics for the digest (GoToSocial)', () => {
  it('reads a post’s likes, reposts and replies and the account’s followers as other people act', async () => {
    const fan = await gts.createAccount(`fan${randomUUID().slice(0, 6)}`);
    const as = (token: string, path: string, body?: unknown) =>
      fetch(`${gts.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) }).then(async (res) => {
        expect(res.status).toBe(200);
        return (await res.json()) as { id: string };
      });
    const before = await net.followers!();
    const published = await net.publish(input([`Metrics ${randomUUID().slice(0, 8)}`]));
    const id = published.posts[0]!.remoteId;
    expect(await net.fetchMetrics!([id])).toEqual([{ remoteId: id, likes: 0, reposts: 0, replies: 0 }]);
    await as(fan.accessToken, `/api/v1/statuses/${id}/favourite`);
    await as(fan.accessToken, `/api/v1/statuses/${id}/reblog`);
    await as(fan.accessToken, '/api/v1/statuses', { status: 'Nice one!', in_reply_to_id: id, visibility: 'public' });
    const relationship = (await as(fan.accessToken, `/api/v1/accounts/${gts.account.id}/follow`)) as { id: string; requested?: boolean };
    // A locked account (GoToSocial's default) approves its followers.
    if (relationship.requested) await as(gts.account.accessToken, `/api/v1/follow_requests/${fan.id}/authorize`);
    expect(await net.fetchMetrics!([id])).toEqual([{ remoteId: id, likes: 1, reposts: 1, replies: 1 }]);
    // GoToSocial counts followers in the background too.
    let followers = before;
    for (let tries = 0; tries < 50 && followers === before; tries++) {
      followers = await net.followers!();
      if (followers === before) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(followers).toBe(before + 1);
    // A deleted post has no metrics any more; the others are still read.
    const gone = await net.publish(input([`Gone ${randomUUID().slice(0, 8)}`]));
    await net.delete(gone.posts[0]!.remoteId);
    // GoToSocial deletes in the background: the status is gone within moments.
    let read: string[] = [];
    for (let tries = 0; tries < 50; tries++) {
      read = (await net.fetchMetrics!([gone.posts[0]!.remoteId, id])).map((m) => m.remoteId);
      if (read.length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(read).toEqual([id]);
  });
});

describe('recognising a status by its text', () => {
  it('reads Mastodon’s HTML back as the text that was sent', () => {
    const html =
      '<p>Hi <span class="h-card"><a href="https://other.example/@alice" class="u-url mention">@<span>alice</span></a></span> &amp; friends:<br />' +
      'see <a href="https://example.com/a/very/long/path?x=1&amp;y=2" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span>' +
      '<span class="ellipsis">example.com/a/very/long/pa</span><span class="invisible">th?x=1&amp;y=2</span></a> ' +
      '<a href="https://mastodon.example/tags/launch" class="mention hashtag" rel="tag">#<span>launch</span></a> &#34;now&#34;</p><p>Second paragraph</p>';
    expect(htmlToText(html)).toBe('Hi @alice & friends:\nsee https://example.com/a/very/long/path?x=1&y=2 #launch "now"\n\nSecond paragraph');
    expect(sameText(html, 'Hi @alice@other.example & friends:\nsee https://example.com/a/very/long/path?x=1&y=2 #launch "now"\n\nSecond paragraph')).toBe(true);
    expect(sameText(html, 'Hi @alice & friends: see something else')).toBe(false);
  });
});
