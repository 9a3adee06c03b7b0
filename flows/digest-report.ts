import { dayIn, daysOf, engagementRate, goalProgress, previousRange, quantile, utcDay, type Goal } from '../src/core/digest.ts';
import type { Sentiment } from '../src/core/inbox.ts';
import type { NetworkId } from '../src/core/networks.ts';
import type { FlowContext } from '../src/flow.ts';
import type { Account } from '../src/store/accounts.ts';
import { decodePost, type DayBucket, type FollowerDay } from '../src/store/metrics.ts';
import type { WorkspaceSettings } from '../src/store/settings.ts';

/**
 * Everything the weekly digest (and /herald report) says about a range, computed from the stores:
 * posts, engagement and followers from the day buckets of the range and the one before it, the
 * team's figures from the range's drafts, inbox and incidents. Plain data: the
 * digest card and the charts render it, the tests check it against their own arithmetic.
 */

/** Published within this long after its time counts as on time. */
export const ON_TIME_MS = 5 * 60_000;
const TOP_POSTS = 3;

export interface Week {
  posts: number;
  engagement: number;
  impressions: number;
  /** Followers gained in the range (lost when negative); unknown without readings at both ends. */
  growth?: number;
  rate?: number;
}

export interface AccountFigures extends Week {
  accountId: string;
  network: NetworkId;
  handle: string;
  /** Followers at the end of the range. */
  followers?: number;
  previous: Week;
}

export interface PostLine {
  id: string;
  network: NetworkId;
  handle: string;
  url: string;
  excerpt: string;
  engagement: number;
}

export interface IncidentLine {
  id: string;
  openedAt: Date;
  status: string;
  cause?: string;
  timeToAcknowledgeMs?: number;
  timeToResolveMs?: number;
}

export interface WorkflowFigures {
  /** Drafts approved in the range, and the median time from creation to approval. */
  approvals: number;
  approvalMedianMs?: number;
  /** Publications due in the range: how many, published on time, failed for good. */
  due: number;
  onTime: number;
  onTimeRate?: number;
  failed: number;
  inbox: Record<Sentiment, number> & { total: number };
  /** Conversations started in the range, answered, and the first-response time (median, p90). */
  conversations: number;
  answered: number;
  responseMedianMs?: number;
  responseP90Ms?: number;
  /** Conversations whose first-response deadline passed: how many were answered in time. */
  slaDue: number;
  slaMet: number;
  slaRate?: number;
  /** Open conversations now. */
  open: number;
  incidents: IncidentLine[];
}

export interface GoalLine {
  goal: Goal;
  actual?: number;
  progress?: number;
}

export interface DigestReport {
  workspace: string;
  from: Date;
  to: Date;
  timeZone: string;
  /** The local days of the range. */
  days: string[];
  accounts: AccountFigures[];
  totals: Week & { previous: Week };
  top: PostLine[];
  bottom: PostLine[];
  engagementByDay: { day: string; network: NetworkId; engagement: number }[];
  sentimentByDay: ({ day: string } & Record<Sentiment, number>)[];
  workflow: WorkflowFigures;
  goals: GoalLine[];
}

const approvedStatuses = new Set(['approved', 'scheduled', 'publishing', 'published', 'failed']);
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** What an account's published posts in a range add up to. */
interface Totals {
  posts: number;
  engagement: number;
  impressions: number;
}

function week(totals: Totals | undefined, growth: number | undefined, followers: number | undefined): Week {
  const { posts, engagement, impressions } = totals ?? { posts: 0, engagement: 0, impressions: 0 };
  const rate = engagementRate({ posts, engagement, impressions, ...(followers !== undefined ? { followers } : {}) });
  return { posts, engagement, impressions, ...(growth !== undefined ? { growth } : {}), ...(rate !== undefined ? { rate } : {}) };
}

/**
 * The workspace's week from its accounts': sums, growth when any account has it, and the rate
 * weighted like each account's (engagement per impression, else per post and per follower).
 */
function combined(accounts: readonly (Week & { followers?: number })[]): Week {
  const posts = sum(accounts.map((a) => a.posts));
  const engagement = sum(accounts.map((a) => a.engagement));
  const impressions = sum(accounts.map((a) => a.impressions));
  const withGrowth = accounts.filter((a) => a.growth !== undefined);
  const reach = accounts.filter((a) => a.followers !== undefined && a.posts > 0);
  const rate = impressions > 0 ? engagement / impressions : reach.length > 0 ? sum(reach.map((a) => a.engagement)) / sum(reach.map((a) => a.posts * a.followers!)) : undefined;
  return { posts, engagement, impressions, ...(withGrowth.length > 0 ? { growth: sum(withGrowth.map((a) => a.growth!)) } : {}), ...(rate !== undefined && Number.isFinite(rate) ? { rate } : {}) };
}

/** A published post read from its day's bucket. */
interface Posted {
  id: string;
  accountId: string;
  network: NetworkId;
  publishedAt: Date;
  dueAt: Date;
  url: string;
  excerpt: string;
  engagement?: number;
  impressions: number;
}

/** What the day buckets hold: the posts published in them, and the failures due in them. */
function readBuckets(buckets: readonly DayBucket[]) {
  const posts: Posted[] = [];
  for (const bucket of buckets) {
    for (const [id, stored] of Object.entries(bucket.posts ?? {})) {
      const p = decodePost(stored);
      posts.push({ id, accountId: p.a, network: p.n, publishedAt: p.t, dueAt: p.d, url: p.u, excerpt: p.x, ...(p.e !== undefined ? { engagement: p.e } : {}), impressions: p.i ?? 0 });
    }
  }
  return {
    postedIn: (from: Date, to: Date): Posted[] => posts.filter((p) => p.publishedAt >= from && p.publishedAt < to),
    /** Publications due in [from, to): the published ones (with when) and the failed ones. */
    dueIn: (from: Date, to: Date): DueRow[] => [
      ...posts.filter((p) => p.dueAt >= from && p.dueAt < to).map((p) => ({ accountId: p.accountId, status: 'published' as const, dueAt: p.dueAt, publishedAt: p.publishedAt })),
      ...buckets.flatMap((b) => Object.values(b.failed ?? {})).filter((f) => f.d >= from && f.d < to).map((f) => ({ accountId: f.a, status: 'failed' as const, dueAt: f.d })),
    ],
  };
}

interface DueRow {
  accountId: string;
  status: 'published' | 'failed';
  dueAt: Date;
  publishedAt?: Date;
}

/** Days looked back for a follower count when a reading is missing (Herald down that day). */
const FOLLOWER_LOOKBACK_DAYS = 2;
const DAY_MS = 86_400_000;

/** Each account's last follower count on or before the UTC day before `at` (at most a few days back). */
function followersBefore(days: readonly FollowerDay[], at: Date): Map<string, number> {
  const last = utcDay(new Date(at.getTime() - 1));
  const first = utcDay(new Date(at.getTime() - 1 - FOLLOWER_LOOKBACK_DAYS * DAY_MS));
  const counts = new Map<string, number>();
  for (const day of [...days].sort((a, b) => (a.day < b.day ? -1 : 1))) {
    if (day.day < first || day.day > last) continue;
    for (const [account, n] of Object.entries(day.counts)) counts.set(account, n);
  }
  return counts;
}

/** The follower days those readings need. */
function followerDaysFor(instants: readonly Date[]): string[] {
  return instants.flatMap((at) => Array.from({ length: FOLLOWER_LOOKBACK_DAYS + 1 }, (_, back) => utcDay(new Date(at.getTime() - 1 - back * DAY_MS))));
}

function totalsOf(posts: readonly Posted[]): Map<string, Totals> {
  const byAccount = new Map<string, Totals>();
  for (const p of posts) {
    const t = byAccount.get(p.accountId) ?? { posts: 0, engagement: 0, impressions: 0 };
    t.posts += 1;
    t.engagement += p.engagement ?? 0;
    t.impressions += p.impressions;
    byAccount.set(p.accountId, t);
  }
  return byAccount;
}

export async function computeReport(app: FlowContext, settings: WorkspaceSettings, range: { from: Date; to: Date; accountId?: string }): Promise<DigestReport> {
  const { workspace } = settings;
  const timeZone = settings.digest?.timeZone ?? settings.timezone ?? 'UTC';
  const { from, to } = range;
  const before = previousRange(from, to);
  const accounts = (await app.stores.accounts.list(workspace)).filter((a) => !range.accountId || a.id === range.accountId);
  const ids = new Set(accounts.map((a) => a.id));
  const wanted = (accountId: string): boolean => ids.has(accountId);

  // The day buckets of both ranges (a day more: a post due in the range may go out just after it)
  // and the follower readings at their ends: a few dozen primary-key reads, whatever the history.
  const [dayBuckets, followerDays] = await Promise.all([
    app.stores.metrics.days(workspace, utcDay(before.from), utcDay(new Date(to.getTime() + DAY_MS))),
    app.stores.metrics.followerDays(workspace, followerDaysFor([before.from, from, to])),
  ]);
  const buckets = readBuckets(dayBuckets);
  const published = buckets.postedIn(from, to).filter((p) => wanted(p.accountId)).sort((a, b) => a.publishedAt.getTime() - b.publishedAt.getTime());
  const current = totalsOf(published);
  const previous = totalsOf(buckets.postedIn(before.from, before.to));
  const startCounts = followersBefore(followerDays, from);
  const endCounts = followersBefore(followerDays, to);
  const prevStartCounts = followersBefore(followerDays, before.from);

  const growthOf = (accountId: string, start: Map<string, number>, end: Map<string, number>): number | undefined => {
    const a = start.get(accountId);
    const b = end.get(accountId);
    return a !== undefined && b !== undefined ? b - a : undefined;
  };
  const figures: AccountFigures[] = accounts.map((account: Account) => {
    const mine = current.get(account.id);
    const theirs = previous.get(account.id);
    const followers = endCounts.get(account.id);
    return {
      accountId: account.id,
      network: account.network,
      handle: account.handle,
      ...(followers !== undefined ? { followers } : {}),
      ...week(mine, growthOf(account.id, startCounts, endCounts), followers),
      previous: week(theirs, growthOf(account.id, prevStartCounts, startCounts), startCounts.get(account.id)),
    };
  });
  const totals = { ...combined(figures), previous: combined(figures.map((f) => ({ ...f.previous, ...(startCounts.has(f.accountId) ? { followers: startCounts.get(f.accountId)! } : {}) }))) };

  // Top and bottom posts: those with counters, by engagement (ties: the earlier post first).
  const handles = new Map(accounts.map((a) => [a.id, a.handle]));
  const line = (p: Posted): PostLine => ({ id: p.id, network: p.network, handle: handles.get(p.accountId) ?? p.accountId, url: p.url, excerpt: p.excerpt, engagement: p.engagement ?? 0 });
  const measured = published.filter((p) => p.engagement !== undefined);
  const ranked = [...measured].sort((a, b) => (b.engagement ?? 0) - (a.engagement ?? 0) || a.publishedAt.getTime() - b.publishedAt.getTime());
  const top = ranked.slice(0, TOP_POSTS).map(line);
  const bottom = ranked.length > TOP_POSTS ? ranked.slice(-Math.min(TOP_POSTS, ranked.length - TOP_POSTS)).reverse().map(line) : [];

  const days = daysOf(from, to, timeZone);
  const networksSeen = [...new Set(accounts.map((a) => a.network))].sort();
  // Each post's local day once, then one pass (a report may hold thousands of posts).
  const perDay = new Map<string, number>();
  for (const p of published) {
    const key = `${dayIn(p.publishedAt, timeZone)}|${p.network}`;
    perDay.set(key, (perDay.get(key) ?? 0) + (p.engagement ?? 0));
  }
  const engagementByDay = days.flatMap((day) => networksSeen.map((network) => ({ day, network, engagement: perDay.get(`${day}|${network}`) ?? 0 })));

  const workflow = await workflowFigures(app, workspace, from, to, buckets.dueIn(from, to), range.accountId);
  const sentimentByDay = days.map((day) => ({ day, negative: 0, neutral: 0, positive: 0 }));
  for (const item of workflow.items) {
    const local = dayIn(item.receivedAt, timeZone);
    const row = sentimentByDay.find((d) => d.day === local);
    if (row) row[item.labels.sentiment] += 1;
  }

  const goals = settings.goals
    .filter((goal) => !range.accountId || !goal.accountId || goal.accountId === range.accountId)
    .map((goal): GoalLine => {
      const scope = goal.accountId ? figures.find((f) => f.accountId === goal.accountId) : undefined;
      const base = goal.accountId ? scope : totals;
      const actual =
        goal.metric === 'posts' ? base?.posts
        : goal.metric === 'engagement' ? base?.engagement
        : goal.metric === 'followers' ? base?.growth
        : goal.metric === 'response' ? (workflow.figures.responseMedianMs !== undefined ? workflow.figures.responseMedianMs / 60_000 : undefined)
        : workflow.figures.slaRate !== undefined ? workflow.figures.slaRate * 100 : undefined;
      const progress = goalProgress(goal, actual);
      return { goal, ...(actual !== undefined ? { actual } : {}), ...(progress !== undefined ? { progress } : {}) };
    });

  return { workspace, from, to, timeZone, days, accounts: figures, totals, top, bottom, engagementByDay, sentimentByDay, workflow: workflow.figures, goals };
}

async function workflowFigures(app: FlowContext, workspace: string, from: Date, to: Date, due: readonly DueRow[], accountId: string | undefined) {
  const now = app.clock.now();
  const [decided, items, conversations, open, incidents] = await Promise.all([
    app.stores.drafts.decidedBetween(workspace, from, to),
    app.stores.inbox.receivedBetween(workspace, from, to),
    app.stores.inbox.conversationsBetween(workspace, from, to),
    app.stores.inbox.openCount(workspace),
    app.stores.crisis.openedBetween(workspace, from, to),
  ]);
  const forAccount = <T extends { accountId: string }>(rows: readonly T[]): readonly T[] => (accountId ? rows.filter((r) => r.accountId === accountId) : rows);

  const approved = decided.filter((d) => d.decidedAt && approvedStatuses.has(d.status));
  const approvalMedianMs = quantile(approved.map((d) => d.decidedAt!.getTime() - d.createdAt.getTime()), 0.5);

  const dueRows = forAccount(due);
  const onTime = dueRows.filter((p) => p.status === 'published' && p.publishedAt && p.publishedAt.getTime() - p.dueAt.getTime() <= ON_TIME_MS).length;
  const failed = dueRows.filter((p) => p.status === 'failed').length;

  const received = forAccount(items);
  const inbox = { total: received.length, negative: 0, neutral: 0, positive: 0 };
  for (const item of received) inbox[item.labels.sentiment] += 1;

  const started = forAccount(conversations);
  const answered = started.filter((c) => c.firstResponseAt);
  const responses = answered.map((c) => c.firstResponseAt!.getTime() - c.createdAt.getTime());
  const responseMedianMs = quantile(responses, 0.5);
  const responseP90Ms = quantile(responses, 0.9);
  const slaDue = started.filter((c) => c.slaDueAt && (c.slaDueAt.getTime() <= now.getTime() || c.firstResponseAt));
  const slaMet = slaDue.filter((c) => c.firstResponseAt && c.firstResponseAt.getTime() <= c.slaDueAt!.getTime()).length;

  const figures: WorkflowFigures = {
    approvals: approved.length,
    ...(approvalMedianMs !== undefined ? { approvalMedianMs } : {}),
    due: dueRows.length,
    onTime,
    ...(dueRows.length > 0 ? { onTimeRate: onTime / dueRows.length } : {}),
    failed,
    inbox,
    conversations: started.length,
    answered: answered.length,
    ...(responseMedianMs !== undefined ? { responseMedianMs } : {}),
    ...(responseP90Ms !== undefined ? { responseP90Ms } : {}),
    slaDue: slaDue.length,
    slaMet,
    ...(slaDue.length > 0 ? { slaRate: slaMet / slaDue.length } : {}),
    open,
    incidents: incidents
      .filter((incident) => !accountId || incident.accounts.includes(accountId))
      .map((incident) => {
        const ack = incident.summary?.timeToAcknowledgeMs ?? (incident.acknowledgedAt ? incident.acknowledgedAt.getTime() - incident.openedAt.getTime() : undefined);
        const resolve = incident.summary?.timeToResolveMs ?? (incident.resolvedAt ? incident.resolvedAt.getTime() - incident.openedAt.getTime() : undefined);
        return {
          id: incident.id,
          openedAt: incident.openedAt,
          status: incident.status,
          ...(incident.summary?.cause ? { cause: incident.summary.cause } : {}),
          ...(ack !== undefined ? { timeToAcknowledgeMs: ack } : {}),
          ...(resolve !== undefined ? { timeToResolveMs: resolve } : {}),
        };
      }),
  };
  return { figures, items: received };
}

