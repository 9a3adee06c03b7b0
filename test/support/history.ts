import type { Db } from 'mongodb';
import type { Sentiment } from '../../src/core/inbox.ts';
import type { NetworkId } from '../../src/core/networks.ts';
import { bucketsOf, monthlyCollection, type Publication } from '../../src/store/metrics.ts';
import { poisson, seededRandom } from './random.ts';

/**
 * A generated history of a workspace, written straight into the collections the digest reads:
 * publications with their latest counters (and a raw snapshot each), daily follower counts,
 * decided drafts, inbox items, conversations with response times and incidents. The same seed
 * gives the same history; the rows are returned too, so a test can compute the expected figures
 * on its own.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface HistoryAccount {
  id: string;
  network: NetworkId;
  handle: string;
}

/** A publication as stored (the digest reads these). */
export type GenPublication = Omit<Publication, 'id'> & { _id: string };

export interface History {
  publications: GenPublication[];
  followers: { _id: string; workspace: string; accountId: string; network: NetworkId; day: string; at: Date; followers: number }[];
  drafts: { _id: string; workspace: string; createdAt: Date; decidedAt: Date; status: string }[];
  items: { _id: string; workspace: string; accountId: string; network: NetworkId; remoteId: string; receivedAt: Date; labels: { sentiment: Sentiment } }[];
  conversations: { _id: string; workspace: string; accountId: string; createdAt: Date; slaDueAt: Date; firstResponseAt?: Date; status: 'open' | 'resolved' }[];
  incidents: { _id: string; workspace: string; status: string; openedAt: Date; accounts: string[]; acknowledgedAt?: Date; resolvedAt?: Date; summary?: { timeToAcknowledgeMs?: number; timeToResolveMs: number; items: number; negative: number; pages: number; actions: string[]; cause: string } }[];
}

export interface HistoryOptions {
  workspace: string;
  accounts: readonly HistoryAccount[];
  /** The history covers [end - days, end). */
  end: Date;
  days: number;
  seed: number;
  /** Posts per account per day (mean). */
  postsPerDay?: number;
  /** Inbox items per day for the workspace (mean). */
  itemsPerDay?: number;
  /** Skip the inbox, drafts and incidents (a benchmark of post metrics only). */
  postsOnly?: boolean;
}

export function generateHistory(options: HistoryOptions): History {
  const random = seededRandom(options.seed);
  const between = (a: number, b: number): number => a + random() * (b - a);
  const { workspace, accounts, days } = options;
  const start = options.end.getTime() - days * DAY;
  const history: History = { publications: [], followers: [], drafts: [], items: [], conversations: [], incidents: [] };
  let serial = 0;
  const id = (prefix: string): string => `${prefix}-${(serial += 1).toString(36)}`;

  for (const account of accounts) {
    let followers = Math.round(between(200, 5_000));
    const appeal = between(0.5, 3);
    for (let day = 0; day < days; day++) {
      const dayStart = start + day * DAY;
      followers = Math.max(0, followers + Math.round(between(-4, 12)));
      const at = new Date(dayStart + 18 * HOUR);
      const utcDay = at.toISOString().slice(0, 10);
      history.followers.push({ _id: `${account.id}:${utcDay}`, workspace, accountId: account.id, network: account.network, day: utcDay, at, followers });
      for (let n = poisson(random, options.postsPerDay ?? 1.5); n > 0; n--) {
        const publishedAt = new Date(dayStart + Math.floor(random() * DAY));
        // Most go out within a minute of their time; some are late (a retry, a pause).
        const dueAt = new Date(publishedAt.getTime() - (random() < 0.85 ? Math.floor(random() * MINUTE) : Math.floor(between(5, 90) * MINUTE)));
        const draftId = id('d');
        const excerpt = `Post ${draftId} on ${account.handle}`;
        if (random() < 0.06) {
          history.publications.push({ _id: `${draftId}:v1:${account.network}`, workspace, accountId: account.id, network: account.network, draftId, status: 'failed', dueAt, excerpt, reason: 'the network refused the post' });
          continue;
        }
        const metrics = { likes: poisson(random, 8 * appeal), reposts: poisson(random, 2 * appeal), replies: poisson(random, 1.5 * appeal), quotes: poisson(random, 0.3 * appeal) };
        const engagement = metrics.likes + metrics.reposts + metrics.replies + metrics.quotes;
        history.publications.push({
          _id: `${draftId}:v1:${account.network}`, workspace, accountId: account.id, network: account.network, draftId, status: 'published', dueAt, publishedAt,
          remoteId: `remote-${draftId}`, url: `https://${account.network}.example/${account.handle}/${draftId}`, excerpt, metrics, engagement, impressions: 0, metricsAt: new Date(publishedAt.getTime() + 7 * DAY), stage: '7d',
        });
      }
    }
  }
  if (options.postsOnly) return history;

  const sentiments: Sentiment[] = ['negative', 'neutral', 'positive'];
  for (let day = 0; day < days; day++) {
    const dayStart = start + day * DAY;
    for (let n = poisson(random, 1.2); n > 0; n--) {
      const createdAt = new Date(dayStart + Math.floor(random() * DAY));
      const decidedAt = new Date(createdAt.getTime() + Math.floor(between(5, 20 * 60) * MINUTE));
      const status = ['published', 'published', 'scheduled', 'failed', 'rejected'][Math.floor(random() * 5)]!;
      history.drafts.push({ _id: id('d'), workspace, createdAt, decidedAt, status });
    }
    for (let n = poisson(random, options.itemsPerDay ?? 14); n > 0; n--) {
      const account = accounts[Math.floor(random() * accounts.length)]!;
      const roll = random();
      const itemId = id('i');
      history.items.push({ _id: itemId, workspace, accountId: account.id, network: account.network, remoteId: itemId, receivedAt: new Date(dayStart + Math.floor(random() * DAY)), labels: { sentiment: sentiments[roll < 0.2 ? 0 : roll < 0.75 ? 1 : 2]! } });
    }
    for (let n = poisson(random, 5); n > 0; n--) {
      const account = accounts[Math.floor(random() * accounts.length)]!;
      const createdAt = new Date(dayStart + Math.floor(random() * DAY));
      const answered = random() < 0.85;
      const firstResponseAt = answered ? new Date(createdAt.getTime() + Math.floor(-Math.log(random() || 1e-9) * 40 * MINUTE)) : undefined;
      history.conversations.push({ _id: id('c'), workspace, accountId: account.id, createdAt, slaDueAt: new Date(createdAt.getTime() + HOUR), ...(firstResponseAt ? { firstResponseAt } : {}), status: answered && random() < 0.9 ? 'resolved' : 'open' });
    }
  }
  // An incident every ten days or so, the last one still open.
  for (let day = 3; day < days; day += 10) {
    const openedAt = new Date(start + day * DAY + Math.floor(random() * DAY));
    const ack = Math.floor(between(2, 25) * MINUTE);
    const last = day + 10 >= days;
    const resolve = Math.floor(between(1, 8) * HOUR);
    history.incidents.push({
      _id: id('inc'), workspace, openedAt, accounts: [accounts[0]!.id], acknowledgedAt: new Date(openedAt.getTime() + ack),
      ...(last ? { status: 'acknowledged' } : { status: 'resolved', resolvedAt: new Date(openedAt.getTime() + resolve), summary: { timeToAcknowledgeMs: ack, timeToResolveMs: resolve, items: 40, negative: 30, pages: 2, actions: [], cause: `Cause of incident ${day}` } }),
    });
  }
  return history;
}

/** Writes a generated history into the database, in batches. */
export async function insertHistory(db: Db, history: History, batch = 1_000): Promise<void> {
  const write = async (name: string, rows: readonly object[]): Promise<void> => {
    for (let i = 0; i < rows.length; i += batch) await db.collection(name).insertMany(rows.slice(i, i + batch) as never[], { ordered: false });
  };
  await write('publications', history.publications);
  // The day buckets the digest reads, as the store keeps them.
  const buckets = bucketsOf(history.publications, history.followers);
  for (const bucket of [...buckets.days, ...buckets.followers]) {
    await db.collection(monthlyCollection('counts' in bucket ? 'follower_days' : 'metric_days', bucket.day)).insertOne(bucket as never);
  }
  await write('drafts', history.drafts);
  await write('inbox_items', history.items);
  await write('inbox_conversations', history.conversations);
  await write('incidents', history.incidents);
}
