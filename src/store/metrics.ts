import type { Collection, Db } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import { engagementOf } from '../core/digest.ts';
import type { NetworkId } from '../core/networks.ts';
import type { PostMetrics } from '../networks/port.ts';
import type { Repository } from './indexes.ts';

/**
 * What the digest counts: every publication's outcome (one document per draft version and
 * network, with its latest counters), the raw metric snapshots taken 1 h, 24 h and 7 days after
 * publishing, and each account's followers per day. Buckets are natural ones: a snapshot is one
 * post at one stage, a follower count one account on one UTC day; each is written by a unique _id,
 * so a job that runs twice writes the same document twice.
 */

export const snapshotStages = ['1h', '24h', '7d'] as const;
export type SnapshotStage = (typeof snapshotStages)[number];
export const stageDelayMs: Record<SnapshotStage, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

export interface Counters {
  likes: number;
  reposts: number;
  replies: number;
  quotes: number;
  impressions?: number;
}

/** One network's side of one draft version, published or failed for good. */
export interface Publication {
  /** draftId:vN:network, the same as its publish ledger key without the prefix. */
  id: string;
  workspace: string;
  accountId: string;
  network: NetworkId;
  draftId: string;
  status: 'published' | 'failed';
  /** When it was due (its schedule, or the moment someone pressed publish now). */
  dueAt: Date;
  publishedAt?: Date;
  remoteId?: string;
  url?: string;
  /** The first words, for the digest's top and bottom posts. */
  excerpt: string;
  reason?: string;
  /** Latest counters and their total; absent until the first snapshot. */
  metrics?: Counters;
  engagement?: number;
  impressions?: number;
  metricsAt?: Date;
  stage?: SnapshotStage;
}

export interface Snapshot extends Counters {
  publicationId: string;
  workspace: string;
  accountId: string;
  network: NetworkId;
  stage: SnapshotStage;
  at: Date;
  publishedAt: Date;
  engagement: number;
}

export interface FollowerCount {
  workspace: string;
  accountId: string;
  network: NetworkId;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  at: Date;
  followers: number;
}

/** Per account, what its publications in a range add up to (computed by the database). */
export interface AccountTotals {
  accountId: string;
  network: NetworkId;
  posts: number;
  engagement: number;
  impressions: number;
}

type Doc<T extends { id: string }> = Omit<T, 'id'> & { _id: string };
const fromDoc = <T extends { id: string }>({ _id, ...rest }: Doc<T>): T => ({ id: _id, ...rest }) as unknown as T;

export interface MetricsStore {
  readonly repositories: readonly Repository[];
  /** Records a publication's outcome (again, when a retry changes it). */
  recordPublication(publication: Publication): Promise<void>;
  publication(id: string): Promise<Publication | null>;
  /** Stores a snapshot and makes it the publication's latest counters unless a later stage is there. */
  recordSnapshot(publication: Publication, stage: SnapshotStage, metrics: PostMetrics): Promise<void>;
  /** One account's follower count for a UTC day (the latest reading of the day wins). */
  recordFollowers(count: Omit<FollowerCount, 'day' | 'at'>): Promise<void>;
  /** Per account: publications published in [from, to), their engagement and impressions. */
  totals(workspace: string, from: Date, to: Date): Promise<AccountTotals[]>;
  /** Published in [from, to), oldest first, with what the digest shows of each. */
  published(workspace: string, from: Date, to: Date, accountId?: string): Promise<Publication[]>;
  /** Publications due in [from, to), published or failed (for on-time and failure figures). */
  due(workspace: string, from: Date, to: Date): Promise<Pick<Publication, 'id' | 'accountId' | 'network' | 'status' | 'dueAt' | 'publishedAt' | 'reason'>[]>;
  /** Each account's last follower count on or before a UTC day. */
  followersOn(workspace: string, day: string): Promise<Map<string, number>>;
  /** Publications with counters, for the best time to post: one account's, or the workspace's (newest first, bounded). */
  history(scope: { accountId: string } | { workspace: string }, limit: number): Promise<{ publishedAt: Date; engagement: number }[]>;
  /** Deletes raw snapshots taken before the cutoff (the publications keep their latest counters). */
  purgeSnapshotsBefore(cutoff: Date): Promise<number>;
}

const stageOrder = (stage: SnapshotStage | undefined): number => (stage ? snapshotStages.indexOf(stage) : -1);

export function createMetricsStore(db: Db, clock: Clock): MetricsStore {
  const publications: Collection<Doc<Publication>> = db.collection('publications');
  const snapshots: Collection<Snapshot & { _id: string }> = db.collection('metric_snapshots');
  const followers: Collection<FollowerCount & { _id: string }> = db.collection('follower_days');

  return {
    repositories: [
      {
        collectionName: 'publications',
        indexes: [
          { key: { workspace: 1, publishedAt: 1 }, name: 'publications_workspace_published' },
          { key: { workspace: 1, dueAt: 1 }, name: 'publications_workspace_due' },
          { key: { accountId: 1, publishedAt: -1 }, name: 'publications_account_published' },
        ],
      },
      { collectionName: 'metric_snapshots', indexes: [{ key: { at: 1 }, name: 'metric_snapshots_at' }] },
      { collectionName: 'follower_days', indexes: [{ key: { workspace: 1, day: 1 }, name: 'follower_days_workspace_day' }] },
    ],

    async recordPublication(publication) {
      const { id, metrics: _m, engagement: _e, impressions: _i, metricsAt: _a, stage: _s, ...outcome } = publication;
      // Counters already taken stay; the outcome fields are what changes (a failed post retried).
      await publications.updateOne({ _id: id }, { $set: outcome, ...(outcome.reason ? {} : { $unset: { reason: '' } }) }, { upsert: true });
    },

    async publication(id) {
      const found = await publications.findOne({ _id: id });
      return found ? fromDoc<Publication>(found) : null;
    },

    async recordSnapshot(publication, stage, metrics) {
      const counters: Counters = { likes: metrics.likes, reposts: metrics.reposts, replies: metrics.replies, quotes: metrics.quotes ?? 0, ...(metrics.impressions !== undefined ? { impressions: metrics.impressions } : {}) };
      const engagement = engagementOf(counters);
      const at = clock.now();
      await snapshots.updateOne(
        { _id: `${publication.id}:${stage}` },
        { $set: { publicationId: publication.id, workspace: publication.workspace, accountId: publication.accountId, network: publication.network, stage, at, publishedAt: publication.publishedAt ?? at, engagement, ...counters } },
        { upsert: true },
      );
      // A late 1 h snapshot (a retried job) must not overwrite the 24 h counters.
      const current = await publications.findOne({ _id: publication.id }, { projection: { stage: 1 } });
      if (current && stageOrder(current.stage) > stageOrder(stage)) return;
      await publications.updateOne({ _id: publication.id }, { $set: { metrics: counters, engagement, impressions: counters.impressions ?? 0, metricsAt: at, stage } });
    },

    async recordFollowers(count) {
      const at = clock.now();
      const day = at.toISOString().slice(0, 10);
      await followers.updateOne({ _id: `${count.accountId}:${day}` }, { $set: { ...count, day, at } }, { upsert: true });
    },

    async totals(workspace, from, to) {
      const match = { $match: { workspace, status: 'published', publishedAt: { $gte: from, $lt: to } } };
      const key = { accountId: '$accountId', network: '$network' };
      // One accumulator per $group: FerretDB 1.24 fills only the first accumulator of a $group (the
      // others come back 0), so each sum is its own aggregation, run side by side.
      const sums = await Promise.all(
        (['posts', 'engagement', 'impressions'] as const).map(async (field) => {
          const rows = await publications.aggregate<{ _id: { accountId: string; network: NetworkId }; value: number }>([match, { $group: { _id: key, value: { $sum: field === 'posts' ? 1 : `$${field}` } } }]).toArray();
          return { field, rows };
        }),
      );
      const byAccount = new Map<string, AccountTotals>();
      for (const { field, rows } of sums) {
        for (const row of rows) {
          const id = `${row._id.accountId}\n${row._id.network}`;
          const totals = byAccount.get(id) ?? { accountId: row._id.accountId, network: row._id.network, posts: 0, engagement: 0, impressions: 0 };
          totals[field] = row.value ?? 0;
          byAccount.set(id, totals);
        }
      }
      return [...byAccount.values()];
    },

    async published(workspace, from, to, accountId) {
      const found = await publications
        .find({ workspace, status: 'published', publishedAt: { $gte: from, $lt: to }, ...(accountId ? { accountId } : {}) })
        .sort({ publishedAt: 1 })
        .toArray();
      return found.map((doc) => fromDoc<Publication>(doc));
    },

    async due(workspace, from, to) {
      const found = await publications
        .find({ workspace, dueAt: { $gte: from, $lt: to } }, { projection: { accountId: 1, network: 1, status: 1, dueAt: 1, publishedAt: 1, reason: 1 } })
        .toArray();
      return found.map((doc) => fromDoc<Publication>(doc));
    },

    async followersOn(workspace, day) {
      // Newest first per account: the first row seen of each is its count on that day (or before).
      // A month back at most: an account not read for a month has no count worth showing.
      const since = new Date(Date.parse(`${day}T00:00:00Z`) - 31 * 86_400_000).toISOString().slice(0, 10);
      const found = await followers.find({ workspace, day: { $gte: since, $lte: day } }, { projection: { accountId: 1, followers: 1, day: 1 } }).sort({ day: -1 }).toArray();
      const counts = new Map<string, number>();
      for (const row of found) if (!counts.has(row.accountId)) counts.set(row.accountId, row.followers);
      return counts;
    },

    async history(scope, limit) {
      const found = await publications
        .find({ ...scope, status: 'published', engagement: { $exists: true } }, { projection: { publishedAt: 1, engagement: 1 } })
        .sort({ publishedAt: -1 })
        .limit(limit)
        .toArray();
      return found.filter((doc) => doc.publishedAt && doc.engagement !== undefined).map((doc) => ({ publishedAt: doc.publishedAt!, engagement: doc.engagement! }));
    },

    async purgeSnapshotsBefore(cutoff) {
      return (await snapshots.deleteMany({ at: { $lt: cutoff } })).deletedCount;
    },
  };
}
