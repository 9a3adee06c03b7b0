import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.ts';
import { decodePost, type Publication } from '../../src/store/metrics.ts';
import { createStores, type Stores } from '../../src/store/stores.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * The metrics store one write at a time, as publishing and the snapshot jobs use it: what lands in
 * the day buckets the digest reads (posts, failures, follower counts), on FerretDB.
 */
describe('metrics store', () => {
  let database: TestDatabase;
  let stores: Stores;
  let now = new Date('2026-03-10T09:00:00Z');
  const clock: Clock = { now: () => now };
  const workspace = 'slack:T1';

  beforeAll(async () => {
    database = await openTestDatabase('metrics_store');
    stores = await createStores(database.db, clock);
  });
  afterAll(() => database.cleanup());

  const bucket = async (day: string) => (await stores.metrics.days(workspace, day, day))[0];
  const publication = (status: 'published' | 'failed', extra: Partial<Publication> = {}): Publication => ({
    id: 'd-abc:v1:bluesky',
    workspace,
    accountId: 'acc-1',
    network: 'bluesky',
    draftId: 'd-abc',
    status,
    dueAt: new Date('2026-03-09T23:58:00Z'),
    excerpt: 'Spring menu',
    ...(status === 'failed' ? { reason: 'the network did not answer' } : { publishedAt: new Date('2026-03-10T00:03:00Z'), remoteId: 'at://x/post/1', url: 'https://bsky.app/p/1' }),
    ...extra,
  });

  it('a failure is kept on its due day; the retry that publishes it moves it to its publish day', async () => {
    await stores.metrics.recordPublication(publication('failed'));
    expect((await bucket('2026-03-09'))?.failed?.['d-abc:v1:bluesky']).toMatchObject({ a: 'acc-1', n: 'bluesky' });
    await stores.metrics.recordPublication(publication('published'));
    expect((await bucket('2026-03-09'))?.failed ?? {}).toEqual({});
    expect(decodePost((await bucket('2026-03-10'))!.posts!['d-abc:v1:bluesky']!)).toMatchObject({ a: 'acc-1', u: 'https://bsky.app/p/1', x: 'Spring menu', d: new Date('2026-03-09T23:58:00Z'), t: new Date('2026-03-10T00:03:00Z') });
    expect((await stores.metrics.publication('d-abc:v1:bluesky'))?.reason).toBeUndefined();
  });

  it('snapshots update the bucket; a late 1 h snapshot never replaces the 24 h counters', async () => {
    const published = publication('published');
    await stores.metrics.recordSnapshot(published, '24h', { remoteId: 'at://x/post/1', likes: 9, reposts: 2, replies: 1, quotes: 1 });
    await stores.metrics.recordSnapshot(published, '1h', { remoteId: 'at://x/post/1', likes: 3, reposts: 0, replies: 0 });
    expect(decodePost((await bucket('2026-03-10'))!.posts!['d-abc:v1:bluesky']!)).toMatchObject({ e: 13, i: 0 });
    expect(await stores.metrics.publication('d-abc:v1:bluesky')).toMatchObject({ stage: '24h', engagement: 13, metrics: { likes: 9, reposts: 2, replies: 1, quotes: 1 } });
    // Both raw snapshots are kept (until retention).
    expect(await database.db.collection('metric_snapshots').countDocuments({ publicationId: 'd-abc:v1:bluesky' })).toBe(2);
  });

  it('keeps the day’s last follower reading per account, in the day’s document', async () => {
    await stores.metrics.recordFollowers({ workspace, accountId: 'acc-1', network: 'bluesky', followers: 100 });
    now = new Date('2026-03-10T18:05:00Z');
    await stores.metrics.recordFollowers({ workspace, accountId: 'acc-1', network: 'bluesky', followers: 104 });
    await stores.metrics.recordFollowers({ workspace, accountId: 'acc-2', network: 'mastodon', followers: 7 });
    expect((await stores.metrics.followerDays(workspace, ['2026-03-10', '2026-03-11'])).map((d) => [d.day, d.counts])).toEqual([['2026-03-10', { 'acc-1': 104, 'acc-2': 7 }]]);
  });
});
