import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.ts';
import { isDuplicateKeyError } from '../../src/store/indexes.ts';
import { itemIdFor } from '../../src/store/inbox.ts';
import { createStores, type Stores } from '../../src/store/stores.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

describe('stores on a real MongoDB-compatible server', () => {
  let database: TestDatabase;
  let stores: Stores;
  let now = new Date('2026-03-01T10:00:00Z');
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    database = await openTestDatabase('store');
    stores = await createStores(database.db, clock);
  });
  afterAll(() => database.cleanup());

  it('creates every declared index at start-up', async () => {
    const indexes = await database.db.collection('ledger').listIndexes().toArray();
    const unique = indexes.find((index) => index.name === 'ledger_key_unique');
    expect(unique?.unique).toBe(true);
    expect(indexes.map((index) => index.name)).toContain('ledger_state_completed');
  });

  it('stores a page of inbox items in one write, keeping out the ones already there, by (network, remote id)', async () => {
    const item = (remoteId: string) => ({
      id: itemIdFor('bluesky', remoteId),
      remoteId,
      kind: 'mention' as const,
      author: { handle: 'fan.test' },
      text: remoteId,
      url: `https://example.com/${remoteId}`,
      createdAt: now,
      workspace: 'slack:T1',
      accountId: 'acc-1',
      network: 'bluesky' as const,
      receivedAt: now,
      labels: { sentiment: 'neutral' as const, urgency: 'low' as const, topic: 'other' as const, language: 'en' as const, source: 'lexicon' as const },
      vip: false,
      conversationId: 'c-1',
      starts: true,
      channel: 'C1',
      delivery: 'waiting' as const,
    });
    expect([...(await stores.inbox.insertItems([item('a'), item('b')]))].sort()).toEqual([itemIdFor('bluesky', 'a'), itemIdFor('bluesky', 'b')].sort());
    expect([...(await stores.inbox.insertItems([item('b'), item('c'), item('a')]))]).toEqual([itemIdFor('bluesky', 'c')]);
    expect([...(await stores.inbox.conversationsOfItems([itemIdFor('bluesky', 'a'), itemIdFor('bluesky', 'z'), itemIdFor('bluesky', 'a')]))]).toEqual([[itemIdFor('bluesky', 'a'), { conversationId: 'c-1', channel: 'C1' }]]);
    expect(await database.db.collection('inbox_items').countDocuments()).toBe(3);
    // The (network, remote id) index refuses a copy under another id too.
    const copy = await database.db.collection('inbox_items').insertOne({ ...item('a'), _id: 'i-other' } as never).catch((error: unknown) => error);
    expect(isDuplicateKeyError(copy)).toBe(true);
  });

  it('continues conversations in one command: counts, reopens a resolved one, marks risky only when told', async () => {
    const conversation = (id: string, status: 'open' | 'resolved') => ({
      id,
      workspace: 'slack:T1',
      accountId: 'acc-1',
      network: 'bluesky' as const,
      channel: 'C1',
      status,
      rootItemId: `i-${id}`,
      risky: false,
      itemCount: 1,
      createdAt: now,
      lastItemAt: now,
      ...(status === 'resolved' ? { resolvedAt: now, resolvedBy: 'Ana' } : {}),
    });
    await stores.inbox.createConversations([conversation('c-open', 'open'), conversation('c-done', 'resolved'), conversation('c-other', 'resolved')]);
    const later = new Date(now.getTime() + 60_000);
    await stores.inbox.continueConversations([{ id: 'c-open', count: 3, risky: false }, { id: 'c-done', count: 1, risky: true }], later);
    const open = await stores.inbox.conversation('c-open');
    const done = await stores.inbox.conversation('c-done');
    const other = await stores.inbox.conversation('c-other');
    expect([open?.status, open?.itemCount, open?.risky, open?.lastItemAt]).toEqual(['open', 4, false, later]);
    expect([done?.status, done?.itemCount, done?.risky, done?.resolvedAt, done?.resolvedBy]).toEqual(['open', 2, true, undefined, undefined]);
    expect([other?.status, other?.itemCount, other?.resolvedBy]).toEqual(['resolved', 1, 'Ana']);
  });

  it('refuses a duplicate on a unique key at the database, whoever writes it', async () => {
    const ledger = database.db.collection('ledger');
    await ledger.insertOne({ key: 'raw-1', state: 'pending' });
    const second = await ledger.insertOne({ key: 'raw-1', state: 'pending' }).catch((error: unknown) => error);
    expect(isDuplicateKeyError(second)).toBe(true);
    expect(await ledger.countDocuments({ key: 'raw-1' })).toBe(1);
  });

  it('creating the indexes again at the next start changes nothing', async () => {
    await createStores(database.db, clock);
    const indexes = await database.db.collection('ledger').listIndexes().toArray();
    expect(indexes.filter((index) => index.name === 'ledger_key_unique')).toHaveLength(1);
  });

  it('lets exactly one of many concurrent attempts start a side effect', async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => stores.ledger.begin('publish:d1:v1:bluesky', 'publish')));
    expect(outcomes.filter((o) => o.status === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'in-progress')).toHaveLength(7);
    await stores.ledger.complete('publish:d1:v1:bluesky', { remoteId: 'at://x/1', url: 'https://bsky.app/x' });
    const again = await stores.ledger.begin('publish:d1:v1:bluesky', 'publish');
    expect(again.status).toBe('already-done');
    expect(again.entry.result).toEqual({ remoteId: 'at://x/1', url: 'https://bsky.app/x' });
  });

  it('lets a pending side effect be taken over only when idle or stale, never while a run is calling for it', async () => {
    const begun = await stores.ledger.begin('publish:d-take:v1:mastodon', 'publish');
    expect(begun.status).toBe('started');
    const staleBefore = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
    expect(await stores.ledger.resume('publish:d-take:v1:mastodon', staleBefore(1))).toBe(false);
    await stores.ledger.pause('publish:d-take:v1:mastodon');
    expect(await stores.ledger.resume('publish:d-take:v1:mastodon', staleBefore(1))).toBe(true);
    expect(await stores.ledger.resume('publish:d-take:v1:mastodon', staleBefore(1))).toBe(false);
    now = new Date(now.getTime() + 2 * 60_000);
    expect(await stores.ledger.resume('publish:d-take:v1:mastodon', staleBefore(1))).toBe(true);
    await stores.ledger.complete('publish:d-take:v1:mastodon', {});
    expect(await stores.ledger.resume('publish:d-take:v1:mastodon', new Date(now.getTime() + 1))).toBe(false);
  });

  it('remembers a failure so it is not blindly repeated', async () => {
    await stores.ledger.begin('reply:i9', 'reply');
    await stores.ledger.fail('reply:i9', 'content refused');
    const again = await stores.ledger.begin('reply:i9', 'reply');
    expect(again).toMatchObject({ status: 'failed-before', entry: { error: 'content refused' } });
  });

  it('purges only finished entries older than the cutoff', async () => {
    now = new Date('2026-01-01T00:00:00Z');
    await stores.ledger.begin('old-done', 'publish');
    await stores.ledger.complete('old-done', {});
    await stores.ledger.begin('old-pending', 'publish');
    now = new Date('2026-03-01T00:00:00Z');
    await stores.ledger.begin('new-done', 'publish');
    await stores.ledger.complete('new-done', {});
    const deleted = await stores.ledger.purgeFinishedBefore(new Date('2026-02-01T00:00:00Z'));
    expect(deleted).toBe(1);
    expect(await stores.ledger.get('old-done')).toBeNull();
    expect(await stores.ledger.get('old-pending')).not.toBeNull();
    expect(await stores.ledger.get('new-done')).not.toBeNull();
  });
});
