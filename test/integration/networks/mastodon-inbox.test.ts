import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMastodonNetwork } from '../../../src/networks/mastodon/index.ts';
import { htmlToText } from '../../../src/networks/mastodon/text.ts';
import type { SocialNetwork } from '../../../src/networks/port.ts';
import { startFaultProxy, startGoToSocial, type GoToSocialAccount, type RunningGoToSocial } from '../../support/gotosocial.ts';
import { eventually } from '../../support/herald.ts';
import { captureLogger } from '../../support/log.ts';

/**
 * The Mastodon connector's inbox against GoToSocial: another account mentions, replies and writes
 * directly to the brand; fetchInbox reads them after a cursor, and reply() answers exactly once.
 */
let gts: RunningGoToSocial;
let fan: GoToSocialAccount;
let net: SocialNetwork;
const { log } = captureLogger('debug');

interface Status {
  id: string;
  content: string;
  in_reply_to_id: string | null;
  visibility: string;
}

async function post(account: GoToSocialAccount, body: Record<string, string>): Promise<Status> {
  const res = await fetch(`${gts.url}/api/v1/statuses`, { method: 'POST', headers: { authorization: `Bearer ${account.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Status;
}

async function repliesTo(id: string): Promise<Status[]> {
  const res = await fetch(`${gts.url}/api/v1/statuses/${id}/context`, { headers: { authorization: `Bearer ${gts.account.accessToken}` } });
  return ((await res.json()) as { descendants: Status[] }).descendants;
}

/** Fetches from the same cursor (idempotent) until `count` items have arrived or 10 s pass. */
async function readUntil(cursor: string | undefined, count: number, client: SocialNetwork = net): Promise<Awaited<ReturnType<NonNullable<SocialNetwork['fetchInbox']>>>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await client.fetchInbox!(cursor);
    if (page.items.length >= count || Date.now() > deadline) return page;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Mastodon inbox (GoToSocial)', () => {
  beforeAll(async () => {
    gts = await startGoToSocial();
    fan = await gts.createAccount('fan');
    net = createMastodonNetwork({ instanceUrl: gts.url, accessToken: gts.account.accessToken, log });
  }, 90_000);

  afterAll(async () => {
    await gts?.stop();
  });

  it('reads mentions, replies to our posts and direct messages after the cursor, once each', async () => {
    const mention = await post(fan, { status: '@brand where is my order? 📦' });
    // GoToSocial makes the notification in a background queue: read until it is there.
    const first = await readUntil(undefined, 1);
    expect(first.items.map((i) => [i.remoteId, i.kind, i.author.handle])).toEqual([[mention.id, 'mention', 'fan']]);
    expect(first.items[0]!.text).toBe('@brand where is my order? 📦');
    expect(first.items[0]!.author.followers).toBe(0);
    expect(first.cursor).toBeTruthy();

    const ours = await net.publish({ posts: ['Spring sale starts now'], images: [], idempotencyKey: `publish:${randomUUID()}`, dueAt: new Date() });
    const reply = await post(fan, { status: '@brand love it!', in_reply_to_id: ours.posts[0]!.remoteId });
    const direct = await post(fan, { status: '@brand my account was charged twice', visibility: 'direct' });
    // GoToSocial creates notifications in a background queue: read until both have arrived (in the
    // order its queue made them, which for two posts a few milliseconds apart may be either).
    const second = await readUntil(first.cursor, 2);
    expect(second.items.map((i) => [i.remoteId, i.kind]).sort()).toEqual([
      [reply.id, 'reply'],
      [direct.id, 'direct'],
    ].sort());
    const answer = second.items.find((i) => i.kind === 'reply')!;
    expect(answer.inReplyTo).toBe(ours.posts[0]!.remoteId);
    expect(answer.ourPost?.remoteId).toBe(ours.posts[0]!.remoteId);

    const third = await net.fetchInbox!(second.cursor);
    expect(third.items).toEqual([]);
    expect(third.cursor).toBe(second.cursor);
  }, 60_000);

  it('an account with no notifications yet reads everything that arrives next, beyond one page', async () => {
    const quiet = await gts.createAccount('quiet');
    const client = createMastodonNetwork({ instanceUrl: gts.url, accessToken: quiet.accessToken, log });
    const empty = await client.fetchInbox!(undefined);
    expect(empty.items).toEqual([]);
    expect(empty.cursor).toBeTruthy();
    const sent: string[] = [];
    for (let i = 0; i < 45; i += 1) sent.push((await post(fan, { status: `@quiet message ${i}` })).id);
    const burst = await readUntil(empty.cursor, 45, client);
    expect(burst.items.map((i) => i.remoteId).sort()).toEqual([...sent].sort());
  }, 60_000);

  it('replies under the exact item, naming its author, exactly once per idempotency key', async () => {
    const question = await post(fan, { status: '@brand do you ship to Romania?' });
    const key = `reply:${randomUUID()}`;
    const input = { posts: ['Yes, in 3 days!'], images: [], idempotencyKey: key, dueAt: new Date() };
    const sent = await net.reply!(question.id, input);
    const again = await net.reply!(question.id, input);
    expect(again.posts[0]!.remoteId).toBe(sent.posts[0]!.remoteId);
    const descendants = await repliesTo(question.id);
    expect(descendants).toHaveLength(1);
    expect(descendants[0]!.in_reply_to_id).toBe(question.id);
    expect(htmlToText(descendants[0]!.content)).toBe('@fan Yes, in 3 days!');

    const secret = await post(fan, { status: '@brand here is my order number 1234', visibility: 'direct' });
    const answer = await net.reply!(secret.id, { ...input, idempotencyKey: `reply:${randomUUID()}`, posts: ['Thanks, we are on it.'] });
    const [status] = await repliesTo(secret.id);
    expect(status?.id).toBe(answer.posts[0]!.remoteId);
    expect(status?.visibility).toBe('direct');
  }, 60_000);

  it('watchInbox rings on connecting and on each notification, comes back after a drop, and stops when closed', async () => {
    // The stream goes through a proxy that can cut it, like a load balancer dropping idle sockets.
    const proxy = await startFaultProxy(gts.url);
    const watcher = createMastodonNetwork({ instanceUrl: proxy.url, accessToken: gts.account.accessToken, log, streamBackoffMs: { min: 100, max: 1_000 } });
    let rings = 0;
    const watch = watcher.watchInbox!(() => (rings += 1));
    try {
      await eventually(() => rings >= 1 && proxy.streams.open === 1, 15_000);
      const connected = rings;
      await post(fan, { status: '@brand are you there?' });
      await eventually(() => rings > connected, 10_000);

      proxy.streams.refuse(true);
      proxy.streams.cut();
      const dropped = rings;
      const attempts = proxy.streams.attempts;
      // Refused reconnections are tried again (each after a longer wait); none rings.
      await eventually(() => proxy.streams.attempts >= attempts + 3, 15_000);
      expect(rings).toBe(dropped);
      proxy.streams.refuse(false);
      // Back: the reconnection rings (a fetch catches up with what came while it was down).
      await eventually(() => rings > dropped && proxy.streams.open === 1, 10_000);

      watch.close();
      await eventually(() => proxy.streams.open === 0, 5_000);
      const closed = rings;
      const attemptsWhenClosed = proxy.streams.attempts;
      await post(fan, { status: '@brand anyone?' });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(rings).toBe(closed);
      expect(proxy.streams.attempts).toBe(attemptsWhenClosed);
    } finally {
      watch.close();
      await proxy.close();
    }
  }, 90_000);
});
