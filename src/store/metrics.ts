import type { Collection, Db } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import { engagementOf, utcDay } from '../core/digest.ts';
import type { NetworkId } from '../core/networks.ts';
import type { PostMetrics } from '../networks/port.ts';
import type { Repository } from './indexes.ts';

/**
 * What the digest counts. Every publication's outcome is a document of its own (one per draft
 * version and network, with its latest counters): the record the snapshot jobs, the export and the
 * best time to post read. The raw snapshots taken 1 h, 24 h and 7 days after publishing are kept
 * for METRICS_RETENTION_DAYS. And what the digest reads is bucketed by day: one document per
 * workspace and UTC day holds the day's published posts with their latest counters and due times,
 * and the publications due that day that failed; another the day's follower counts. A week's
 * digest is then a few dozen primary-key reads, whatever the history's size (and on FerretDB,
 * which scans a collection for any other query, the only fast read there is). Every write is by a
 * unique _id and sets values (never increments), so a job that runs twice writes the same thing.
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
  followers: number;
}


/** A published post as its day's bucket holds it. */
export interface BucketPost {
  /** Account, network, published at, URL, excerpt. */
  a: string;
  n: NetworkId;
  t: Date;
  u: string;
  x: string;
  /** When it was due (on-time figures). */
  d: Date;
  /** Engagement and impressions, from the latest snapshot. */
  e?: number;
  i?: number;
}

/** A publication due that day that failed for good (until a retry publishes it). */
export interface BucketFailure {
  a: string;
  n: NetworkId;
  d: Date;
}

/**
 * One workspace's UTC day: posts published that day, publications due that day that failed. Map
 * keys are publication ids (never containing dots).
 */
export interface DayBucket {
  _id: string;
  workspace: string;
  day: string;
  /** Each post as one string (encodePost); buckets written before that hold BucketPost objects. */
  posts?: Record<string, string | BucketPost>;
  failed?: Record<string, BucketFailure>;
}

/** Each account's follower count on one UTC day (the day's last reading), keyed by account id. */
export interface FollowerDay {
  _id: string;
  workspace: string;
  day: string;
  counts: Record<string, number>;
}

export const bucketId = (workspace: string, day: string): string => `${workspace}|${day}`;
/**
 * Day buckets live in one collection per month (metric_days_2026_11, follower_days_2026_11): a
 * digest reads at most two months' collections, and on FerretDB, whose lookups by _id read through
 * a whole collection, a month's collection is what such a read costs, not the whole history.
 */
export const monthlyCollection = (base: 'metric_days' | 'follower_days', day: string): string => `${base}_${day.slice(0, 7).replace('-', '_')}`;

/**
 * The day buckets that rows of publications and follower counts make: how a history written in
 * bulk (an import, a benchmark, a test) gets the same buckets the store keeps one write at a time.
 */
export function bucketsOf(publications: readonly (Omit<Publication, 'id'> & { _id: string })[], followers: readonly { workspace: string; accountId: string; day: string; followers: number }[]): { days: DayBucket[]; followers: FollowerDay[] } {
  const buckets = new Map<string, DayBucket>();
  const bucket = (workspace: string, day: string): DayBucket => {
    const id = bucketId(workspace, day);
    const found = buckets.get(id) ?? { _id: id, workspace, day };
    buckets.set(id, found);
    return found;
  };
  for (const p of publications) {
    if (p.status === 'failed') {
      const day = bucket(p.workspace, utcDay(p.dueAt));
      day.failed = { ...day.failed, [p._id]: failureEntry(p) };
    }
    if (p.status === 'published' && p.publishedAt) {
      const day = bucket(p.workspace, utcDay(p.publishedAt));
      (day.posts ??= {})[p._id] = encodePost(postEntry(p));
    }
  }
  const counts = new Map<string, FollowerDay>();
  for (const f of followers) {
    const id = bucketId(f.workspace, f.day);
    const day = counts.get(id) ?? { _id: id, workspace: f.workspace, day: f.day, counts: {} };
    day.counts[f.accountId] = f.followers;
    counts.set(id, day);
  }
  return { days: [...buckets.values()], followers: [...counts.values()] };
}

function failureEntry(p: Pick<Publication, 'accountId' | 'network' | 'dueAt'>): BucketFailure {
  return { a: p.accountId, n: p.network, d: p.dueAt };
}

function postEntry(p: Pick<Publication, 'accountId' | 'network' | 'publishedAt' | 'url' | 'excerpt' | 'dueAt' | 'engagement' | 'impressions'>): BucketPost {
  return { a: p.accountId, n: p.network, t: p.publishedAt!, u: p.url ?? '', x: p.excerpt, d: p.dueAt, ...(p.engagement !== undefined ? { e: p.engagement, i: p.impressions ?? 0 } : {}) };
}

/**
 * A bucket's post as one string: a week's report reads tens of thousands of them, and a database
 * decodes one string far faster than a sub-document of eight fields (FerretDB: ~60 µs each).
 * Fields are separated by U+001F, which the text fields never keep.
 */
const SEP = '\u001f';
export function encodePost(p: BucketPost): string {
  const clean = (text: string): string => text.replaceAll(SEP, ' ');
  return [clean(p.a), p.n, p.t.getTime(), p.d.getTime(), p.e ?? '', p.i ?? '', clean(p.u), clean(p.x)].join(SEP);
}

/** A bucket's post, from its string or from an object of a bucket written before strings. */
export function decodePost(stored: string | BucketPost): BucketPost {
  if (typeof stored !== 'string') return stored;
  const [a = '', n = '', t = '0', d = '0', e = '', i = '', u = '', x = ''] = stored.split(SEP);
  return { a, n: n as NetworkId, t: new Date(Number(t)), d: new Date(Number(d)), u, x, ...(e !== '' ? { e: Number(e), i: Number(i || 0) } : {}) };
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
  recordFollowers(count: FollowerCount): Promise<void>;
  /** The workspace's day buckets from one UTC day to another, both included (primary-key reads). */
  days(workspace: string, fromDay: string, toDay: string): Promise<DayBucket[]>;
  /** Follower counts of the given UTC days (primary-key reads). */
  followerDays(workspace: string, days: readonly string[]): Promise<FollowerDay[]>;
  /** Published in [from, to), oldest first, with what the digest shows of each. */
  published(workspace: string, from: Date, to: Date, accountId?: string): Promise<Publication[]>;
  /** Publications due in [from, to), published or failed (for on-time and failure figures). */
  due(workspace: string, from: Date, to: Date): Promise<Pick<Publication, 'id' | 'accountId' | 'network' | 'status' | 'dueAt' | 'publishedAt' | 'reason'>[]>;
  /** Publications with counters, for the best time to post: one account's, or the workspace's (newest first, bounded). */
  history(scope: { accountId: string } | { workspace: string }, limit: number): Promise<{ publishedAt: Date; engagement: number }[]>;
  /** Deletes raw snapshots taken before the cutoff (the publications keep their latest counters). */
  purgeSnapshotsBefore(cutoff: Date): Promise<number>;
}

const stageOrder = (stage: SnapshotStage | undefined): number => (stage ? snapshotStages.indexOf(stage) : -1);

export function createMetricsStore(db: Db, clock: Clock): MetricsStore {
  const publications: Collection<Doc<Publication>> = db.collection('publications');
  const snapshots: Collection<Snapshot & { _id: string }> = db.collection('metric_snapshots');
  const days = (day: string): Collection<DayBucket> => db.collection(monthlyCollection('metric_days', day));
  const followerDays = (day: string): Collection<FollowerDay> => db.collection(monthlyCollection('follower_days', day));
  const setInBucket = (workspace: string, day: string, fields: Record<string, unknown>) =>
    days(day).updateOne({ _id: bucketId(workspace, day) }, { $set: fields, $setOnInsert: { workspace, day } }, { upsert: true });

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

    ],

    async recordPublication(publication) {
      const { id, metrics: _m, engagement: _e, impressions: _i, metricsAt: _a, stage: _s, ...outcome } = publication;
      // Counters already taken stay; the outcome fields are what changes (a failed post retried).
      // The previous status says whether a failure has to leave its bucket (no projection:
      // FerretDB's findAndModify takes none).
      const before = await publications.findOneAndUpdate({ _id: id }, { $set: outcome, ...(outcome.reason ? {} : { $unset: { reason: '' } }) }, { upsert: true, returnDocument: 'before' });
      const dueDay = utcDay(publication.dueAt);
      if (publication.status === 'failed') await setInBucket(publication.workspace, dueDay, { [`failed.${id}`]: failureEntry(publication) });
      // A retry that published what had failed: it is a failure no more.
      else if (before?.status === 'failed') await days(dueDay).updateOne({ _id: bucketId(publication.workspace, dueDay) }, { $unset: { [`failed.${id}`]: '' } });
      if (publication.status === 'published' && publication.publishedAt) {
        // Counters a snapshot already took stay in the entry.
        const counters = before?.engagement !== undefined ? { engagement: before.engagement, impressions: before.impressions ?? 0 } : {};
        await setInBucket(publication.workspace, utcDay(publication.publishedAt), { [`posts.${id}`]: encodePost(postEntry({ ...outcome, ...counters })) });
      }
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
      if (publication.publishedAt) {
        const entry = postEntry({ ...publication, engagement, impressions: counters.impressions ?? 0 });
        await setInBucket(publication.workspace, utcDay(publication.publishedAt), { [`posts.${publication.id}`]: encodePost(entry) });
      }
    },

    async recordFollowers(count) {
      const day = utcDay(clock.now());
      await followerDays(day).updateOne({ _id: bucketId(count.workspace, day) }, { $set: { [`counts.${count.accountId}`]: count.followers }, $setOnInsert: { workspace: count.workspace, day } }, { upsert: true });
    },

    async followerDays(workspace, wanted) {
      const found = await Promise.all([...new Set(wanted)].map((day) => followerDays(day).findOne({ _id: bucketId(workspace, day) })));
      return found.filter((day): day is FollowerDay => day !== null);
    },

    async days(workspace, fromDay, toDay) {
      const wanted: string[] = [];
      for (let at = Date.parse(`${fromDay}T00:00:00Z`); at <= Date.parse(`${toDay}T00:00:00Z`) && wanted.length < 400; at += 86_400_000) wanted.push(new Date(at).toISOString().slice(0, 10));
      // One primary-key read per day, side by side (a `$in` on _id makes FerretDB read the
      // collection once per value).
      const found = await Promise.all(wanted.map((day) => days(day).findOne({ _id: bucketId(workspace, day) })));
      return found.filter((bucket): bucket is DayBucket => bucket !== null);
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
