import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.ts';
import { checkDigests } from '../../flows/digest.ts';
import { digestMessage } from '../../flows/digest-card.ts';
import { computeReport, type DigestReport } from '../../flows/digest-report.ts';
import { allFlows } from '../../flows/index.ts';
import { bestSlots } from '../../src/core/best-time.ts';
import type { Herald } from '../../src/app.ts';
import type { Clock } from '../../src/core/clock.ts';
import { translator } from '../../src/i18n/catalogue.ts';
import { JobNames } from '../../src/jobs/names.ts';
import type { ObservedMessage } from '../support/chat-harness.ts';
import { createSlackHarness, type SlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { generateHistory, insertHistory, type History, type HistoryAccount } from '../support/history.ts';
import { captureLogger } from '../support/log.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';
import { decodePng, inkOf } from '../support/png.ts';

/**
 * The weekly digest against eight generated weeks of history. Every figure the digest computes is
 * checked against the test's own arithmetic over the generated rows (range membership by local
 * calendar date, its own median and p90), the charts are decoded, and the message shows the
 * figures. The week is the one that ends with the spring DST change in Bucharest (167 hours).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ZONE = 'Europe/Bucharest';
// Monday 30 March 2026, 09:00 in Bucharest (summer time began the day before: UTC+3).
const DUE = new Date('2026-03-30T06:00:00Z');
const WEEK_DAYS = ['2026-03-23', '2026-03-24', '2026-03-25', '2026-03-26', '2026-03-27', '2026-03-28', '2026-03-29'];
const PREVIOUS_DAYS = ['2026-03-16', '2026-03-17', '2026-03-18', '2026-03-19', '2026-03-20', '2026-03-21', '2026-03-22'];

function movableClock(start: Date): Clock & { set(at: Date): void } {
  let now = start;
  return { now: () => new Date(now), set: (at) => (now = at) };
}

const localDay = (at: Date): string => new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
const inWeek = (at: Date | undefined, days = WEEK_DAYS): boolean => at !== undefined && days.includes(localDay(at));
const total = (values: number[]): number => values.reduce((a, b) => a + b, 0);
/** The test's own order statistics: sorted copy, linear interpolation. */
function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const low = sorted[Math.floor(rank)]!;
  const high = sorted[Math.ceil(rank)]!;
  return low + (high - low) * (rank - Math.floor(rank));
}

describe('weekly digest', () => {
  let harness: SlackHarness;
  let database: TestDatabase;
  let herald: Herald;
  let history: History;
  let accounts: HistoryAccount[];
  const clock = movableClock(new Date(DUE.getTime() - 60 * 24 * HOUR));
  const captured = captureLogger('info');
  const encryptionKey = randomBytes(32).toString('hex');
  let workspace: string;

  const boot = (): Promise<Herald> =>
    startTestHerald({ dbName: database.name, flows: allFlows, commands: allCommands, clock, log: captured.log, env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: encryptionKey, CHAT_MESSAGES_PER_SECOND: '20', DIGEST_CHECK_SECONDS: '3600' } });
  const digests = (): ObservedMessage[] => harness.messagesIn(harness.channel).filter((m) => m.text.startsWith('Weekly digest'));

  beforeAll(async () => {
    [harness, database] = await Promise.all([createSlackHarness(), openTestDatabase('digest')]);
    herald = await boot();
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    workspace = `slack:${harness.channel.workspace}`;
    const connected = await Promise.all([
      herald.stores.accounts.connect({ workspace, network: 'bluesky', handle: 'brand.bsky.social', connectedBy: harness.users.admin.user, credentials: { identifier: 'x', password: 'x' } }),
      herald.stores.accounts.connect({ workspace, network: 'mastodon', handle: 'brand@social.example', connectedBy: harness.users.admin.user, credentials: { accessToken: 'x' } }),
    ]);
    accounts = connected.map((a) => ({ id: a.id, network: a.network, handle: a.handle }));
    history = generateHistory({ workspace, accounts, end: new Date('2026-03-30T00:00:00Z'), days: 56, seed: 20260330 });
    await insertHistory(database.db, history);
    // Switched on during the week: the week before it is not owed.
    clock.set(new Date(DUE.getTime() - 3 * 24 * HOUR));
    await harness.runCommand(harness.users.admin, 'herald digest', { channel: 'here', timezone: ZONE });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('weekly digest goes to')), 10_000);
    await harness.runCommand(harness.users.admin, 'herald goals', { metric: 'posts', target: '20' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Posts (all accounts): 20')), 10_000);
    await harness.runCommand(harness.users.admin, 'herald goals', { metric: 'response', target: '45' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Median first response')), 10_000);
  }, 120_000);

  afterAll(async () => {
    await herald?.stop();
    await harness?.close();
    await database?.cleanup();
  });

  let report: DigestReport;

  it('computes every figure of the week as the test does from the raw history', async () => {
    // Just before the digest is due (the recurring check must not send it yet); every SLA deadline of the week has passed.
    clock.set(new Date(DUE.getTime() - 2 * MINUTE));
    report = await computeReport(herald.context, await herald.stores.settings.get(workspace), { from: new Date('2026-03-22T22:00:00Z'), to: new Date('2026-03-29T21:00:00Z') });
    expect(report.days).toEqual(WEEK_DAYS);

    const published = history.publications.filter((p) => p.status === 'published');
    for (const account of accounts) {
      const mine = published.filter((p) => p.accountId === account.id && inWeek(p.publishedAt));
      const before = published.filter((p) => p.accountId === account.id && inWeek(p.publishedAt, PREVIOUS_DAYS));
      const reading = (day: string): number => history.followers.filter((f) => f.accountId === account.id && f.day <= day).at(-1)!.followers;
      const figures = report.accounts.find((a) => a.accountId === account.id)!;
      expect(figures.posts).toBe(mine.length);
      expect(figures.engagement).toBe(total(mine.map((p) => p.engagement!)));
      expect(figures.previous.posts).toBe(before.length);
      expect(figures.previous.engagement).toBe(total(before.map((p) => p.engagement!)));
      // Growth over the week: the last reading before it ends minus the last before it starts (UTC days).
      expect(figures.growth).toBe(reading('2026-03-29') - reading('2026-03-22'));
      expect(figures.followers).toBe(reading('2026-03-29'));
      expect(figures.rate).toBeCloseTo(total(mine.map((p) => p.engagement!)) / (mine.length * reading('2026-03-29')), 10);
    }
    const week = published.filter((p) => inWeek(p.publishedAt));
    expect(report.totals.posts).toBe(week.length);
    expect(report.totals.engagement).toBe(total(week.map((p) => p.engagement!)));

    // Top and bottom three by engagement, ties to the earlier post.
    const ranked = [...week].sort((a, b) => b.engagement! - a.engagement! || a.publishedAt!.getTime() - b.publishedAt!.getTime());
    expect(report.top.map((p) => p.id)).toEqual(ranked.slice(0, 3).map((p) => p._id));
    expect(report.bottom.map((p) => p.id)).toEqual(ranked.slice(-3).reverse().map((p) => p._id));

    for (const row of report.engagementByDay) {
      expect(row.engagement).toBe(total(week.filter((p) => p.network === row.network && localDay(p.publishedAt!) === row.day).map((p) => p.engagement!)));
    }
    expect(total(report.engagementByDay.map((r) => r.engagement))).toBe(report.totals.engagement);

    // The team's own figures.
    const w = report.workflow;
    const approved = history.drafts.filter((d) => inWeek(d.decidedAt) && d.status !== 'rejected');
    expect(w.approvals).toBe(approved.length);
    expect(w.approvalMedianMs).toBe(percentile(approved.map((d) => d.decidedAt.getTime() - d.createdAt.getTime()), 0.5));
    const due = history.publications.filter((p) => inWeek(p.dueAt));
    expect(w.due).toBe(due.length);
    expect(w.onTime).toBe(due.filter((p) => p.status === 'published' && p.publishedAt!.getTime() - p.dueAt.getTime() <= 5 * MINUTE).length);
    expect(w.failed).toBe(due.filter((p) => p.status === 'failed').length);
    expect(w.failed).toBeGreaterThan(0);
    expect(w.onTime).toBeLessThan(w.due - w.failed);

    const items = history.items.filter((i) => inWeek(i.receivedAt));
    expect(w.inbox).toEqual({ total: items.length, negative: items.filter((i) => i.labels.sentiment === 'negative').length, neutral: items.filter((i) => i.labels.sentiment === 'neutral').length, positive: items.filter((i) => i.labels.sentiment === 'positive').length });
    for (const row of report.sentimentByDay) {
      const day = items.filter((i) => localDay(i.receivedAt) === row.day);
      expect([row.negative, row.neutral, row.positive]).toEqual(['negative', 'neutral', 'positive'].map((s) => day.filter((i) => i.labels.sentiment === s).length));
    }

    const started = history.conversations.filter((c) => inWeek(c.createdAt));
    const times = started.filter((c) => c.firstResponseAt).map((c) => c.firstResponseAt!.getTime() - c.createdAt.getTime());
    expect(w.conversations).toBe(started.length);
    expect(w.answered).toBe(times.length);
    expect(w.responseMedianMs).toBeCloseTo(percentile(times, 0.5)!, 6);
    expect(w.responseP90Ms).toBeCloseTo(percentile(times, 0.9)!, 6);
    // Every deadline of the week has passed by Monday: each conversation counts, answered in time or not.
    expect(w.slaDue).toBe(started.length);
    expect(w.slaMet).toBe(started.filter((c) => c.firstResponseAt && c.firstResponseAt <= c.slaDueAt).length);
    expect(w.open).toBe(history.conversations.filter((c) => c.status === 'open').length);

    const incidents = history.incidents.filter((i) => inWeek(i.openedAt));
    expect(w.incidents.map((i) => [i.id, i.timeToAcknowledgeMs, i.timeToResolveMs])).toEqual(incidents.map((i) => [i._id, i.acknowledgedAt!.getTime() - i.openedAt.getTime(), i.resolvedAt ? i.resolvedAt.getTime() - i.openedAt.getTime() : undefined]));

    expect(report.goals.map((g) => [g.goal.metric, g.actual])).toEqual([
      ['posts', week.length],
      ['response', percentile(times, 0.5)! / MINUTE],
    ]);
    expect(report.goals[0]!.progress).toBeCloseTo(week.length / 20, 10);
  });

  it('sends the digest at its time once, with both charts and the per-account details in its thread', async () => {
    clock.set(new Date(DUE.getTime() - MINUTE));
    await checkDigests(herald.context, captured.log);
    expect(digests()).toHaveLength(0);
    clock.set(new Date(DUE.getTime() + 2 * MINUTE));
    await checkDigests(herald.context, captured.log);
    await checkDigests(herald.context, captured.log);
    const digest = await harness.waitFor(() => digests()[0]);
    expect(digests()).toHaveLength(1);
    expect(digest.text).toContain('Weekly digest · 23 Mar 2026 – 29 Mar 2026');
    expect(digest.text).not.toContain('late');
    const w = report.workflow;
    const bluesky = report.accounts.find((a) => a.network === 'bluesky')!;
    expect(digest.text).toContain(`Bluesky: ${bluesky.posts} posts`);
    expect(digest.text).toContain(`${w.inbox.total.toLocaleString('en-GB')} items`);
    expect(digest.text).toContain(`on time ${Math.round((w.onTime / w.due) * 1000) / 10}% (${w.onTime}/${w.due})`);
    expect(digest.text).toContain(report.top[0]!.url);
    expect(digest.text).toMatch(/✅|⏳/);

    const charts = await harness.waitFor(() => {
      const images = harness.messagesIn(harness.channel).flatMap((m) => m.images);
      return images.length >= 2 && images;
    }, 15_000);
    expect(charts.map((c) => c.filename)).toEqual(['engagement-per-day.png', 'inbound-sentiment-per-day.png']);
    expect(charts[0]!.alt).toContain(`Bluesky ${report.engagementByDay.filter((r) => r.network === 'bluesky').reduce((a, r) => a + r.engagement, 0).toLocaleString('en-GB')}`);
    expect(charts[1]!.alt).toContain(`${w.inbox.total.toLocaleString('en-GB')} in all, ${w.inbox.negative} negative`);
    for (const [chart, colour] of [[charts[0]!, [0x11, 0x85, 0xfe]], [charts[1]!, [0xd6, 0x45, 0x45]]] as const) {
      const png = decodePng(chart.data!);
      expect([png.width, png.height]).toEqual([1280, 600]);
      const { ink, matching } = inkOf(png, [...colour]);
      expect(ink).toBeGreaterThan(0.03);
      expect(matching).toBeGreaterThan(2_000);
    }

    const thread = await harness.waitFor(() => harness.threadOf(digest.ref).length > 0 && harness.threadOf(digest.ref));
    expect(thread.map((m) => m.text).join('\n')).toContain('brand@social.example');
    expect(thread.map((m) => m.text).join('\n')).toContain('brand.bsky.social');
  });

  it('exports the week as two CSV files in a direct message: posts with metrics, inbox items with response times', async () => {
    await harness.runCommand(harness.users.admin, 'herald export', { range: '2026-03-23..2026-03-29' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.startsWith('Export ready')), 15_000);
    const files = await harness.waitFor(() => {
      const found = harness.dmsTo(harness.users.admin).flatMap((m) => m.images).filter((f) => f.filename?.endsWith('.csv'));
      return found.length >= 2 && found;
    }, 15_000);
    const rows = (name: string): string[][] => {
      const text = files.find((f) => f.filename?.startsWith(name))!.data!.toString('utf8');
      return text.trim().split('\r\n').map((line) => line.split(','));
    };
    const posts = rows('herald-posts_2026-03-23_2026-03-29');
    expect(posts[0]!.slice(0, 5)).toEqual(['published_at', 'due_at', 'network', 'account', 'status']);
    const published = history.publications.filter((p) => p.status === 'published' && inWeek(p.publishedAt));
    const failed = history.publications.filter((p) => p.status === 'failed' && inWeek(p.dueAt));
    expect(posts.slice(1).filter((r) => r[4] === 'published')).toHaveLength(published.length);
    expect(posts.slice(1).filter((r) => r[4] === 'failed')).toHaveLength(failed.length);
    expect(total(posts.slice(1).filter((r) => r[4] === 'published').map((r) => Number(r[12])))).toBe(total(published.map((p) => p.engagement!)));
    const items = rows('herald-inbox_2026-03-23_2026-03-29');
    expect(items.slice(1)).toHaveLength(history.items.filter((i) => inWeek(i.receivedAt)).length);
    // Nobody's words or name leave Herald in an export.
    expect(items[0]).not.toContain('author');
    expect(items[0]).not.toContain('text');
  });

  const titled = (range: string): ObservedMessage[] => digests().filter((m) => m.text.startsWith(`Weekly digest · ${range}`));

  it('a digest missed while Herald was down goes out when it is back, marked late, and never twice', async () => {
    // Herald is down over Monday 6 April 09:00 and comes back at 14:10.
    await herald.stop();
    clock.set(new Date('2026-04-06T11:10:00Z'));
    herald = await boot();
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    await checkDigests(herald.context, captured.log);
    const late = await harness.waitFor(() => titled('30 Mar 2026 – 5 Apr 2026')[0]);
    expect(late.text).toContain('late');
    expect(late.text).toContain('Herald was not running at the scheduled time');
    expect(captured.lines().some((l) => l.msg === 'digest sent late (Herald was not running at its time)')).toBe(true);
    for (const at of ['2026-04-06T11:15:00Z', '2026-04-08T09:00:00Z', '2026-04-13T05:59:00Z']) {
      clock.set(new Date(at));
      await checkDigests(herald.context, captured.log);
    }
    expect(titled('30 Mar 2026 – 5 Apr 2026')).toHaveLength(1);
  });

  it('two Herald processes against one database send one digest', async () => {
    const second = await boot();
    try {
      await eventually(() => second.chat.all().every((a) => a.isReady()), 15_000);
      clock.set(new Date('2026-04-13T06:00:00Z'));
      const before = harness.messagesIn(harness.channel).flatMap((m) => m.images).length;
      const sent = await Promise.all([checkDigests(herald.context, captured.log), checkDigests(second.context, captured.log), checkDigests(herald.context, captured.log)]);
      // At least one call posted; what people see is checked below: one message, two charts, one thread.
      expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
      const digest = await harness.waitFor(() => titled('6 Apr 2026 – 12 Apr 2026')[0]);
      expect(digest.text).not.toContain('late');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(titled('6 Apr 2026 – 12 Apr 2026')).toHaveLength(1);
      expect(harness.messagesIn(harness.channel).flatMap((m) => m.images).length - before).toBe(2);
      expect(harness.threadOf(digest.ref)).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it('keeps Monday 09:00 local across the autumn DST change: one digest a week, on time, none repeated', async () => {
    // The week before is settled first (it is owed: sent late), then the clock walks in 15-minute steps.
    clock.set(new Date('2026-10-18T12:00:00Z'));
    await checkDigests(herald.context, captured.log);
    await harness.waitFor(() => titled('5 Oct 2026 – 11 Oct 2026')[0]);
    const before = digests().length;
    for (let at = Date.parse('2026-10-18T21:00:00Z'); at <= Date.parse('2026-10-26T09:00:00Z'); at += 15 * MINUTE) {
      clock.set(new Date(at));
      await checkDigests(herald.context, captured.log);
    }
    await harness.waitFor(() => digests().length >= before + 2 && true);
    expect(digests().length).toBe(before + 2);
    // Summer time on 19 October (09:00 = 06:00 UTC), winter time on 26 October (09:00 = 07:00 UTC).
    const sentAt = async (week: string): Promise<string | undefined> => (await database.db.collection('ledger').findOne({ key: `digest:${workspace}:${week}:message` }))?.createdAt?.toISOString();
    expect(await sentAt('2026-10-19')).toBe('2026-10-19T06:00:00.000Z');
    expect(await sentAt('2026-10-26')).toBe('2026-10-26T07:00:00.000Z');
    expect(titled('12 Oct 2026 – 18 Oct 2026')[0]!.text).not.toContain('late');
    expect(titled('19 Oct 2026 – 25 Oct 2026')[0]!.text).not.toContain('late');
  }, 120_000);

  it('with no posting slots, "Add to queue" takes the account’s best hour of the week from its engagement history', async () => {
    const text = `Queued by engagement ${Date.now()}`;
    await harness.runCommand(harness.users.member, 'draft new', { text, networks: 'bluesky' });
    const doc = await eventually(() => database.db.collection('drafts').findOne({ text, card: { $exists: true } }), 15_000);
    const card = (await import('../../src/chat/port.ts')).parseRef(String(doc.card))!;
    const more = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.ref.message === card.message)?.selects[0]);
    await harness.selectOption(harness.users.member, card, more.actionId, 'queue');
    const scheduled = await eventually(() => database.db.collection('drafts').findOne({ _id: doc._id, scheduledAt: { $exists: true } }), 15_000);
    const bluesky = accounts.find((a) => a.network === 'bluesky')!;
    const posts = history.publications.filter((p) => p.status === 'published').map((p) => ({ at: p.publishedAt!, engagement: p.engagement!, accountId: p.accountId }));
    const best = bestSlots(posts.filter((p) => p.accountId === bluesky.id), posts, 'UTC')!;
    const at = scheduled.scheduledAt as Date;
    expect(best.some((slot) => slot.days.includes(at.getUTCDay()) && slot.hour === at.getUTCHours() && at.getUTCMinutes() === 0)).toBe(true);
    expect(at.getTime()).toBeGreaterThan(clock.now().getTime());
    // The schedule form names those hours.
    const schedule = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.ref.message === card.message)?.buttons.find((b) => b.label.startsWith('Schedule')), 10_000);
    await harness.clickButton(harness.users.member, card, schedule.actionId);
    await harness.waitFor(() => harness.openFormTitle(harness.users.member), 10_000);
    const form = JSON.stringify(harness.emulator.openViews(harness.users.member.user).at(-1)!.blocks);
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    expect(form).toContain(`best times from engagement: ${best.map((slot) => `${day[slot.days[0]!]} ${String(slot.hour).padStart(2, '0')}:00`).join('; ')} (UTC)`);
  });

  it('keeps raw snapshots for the configured period; the posts keep their latest counters', async () => {
    const now = clock.now().getTime();
    const snapshot = (id: string, daysAgo: number) => ({ _id: `${id}:7d`, publicationId: id, workspace, stage: '7d', at: new Date(now - daysAgo * 24 * HOUR), likes: 1, reposts: 0, replies: 0, quotes: 0, engagement: 1 });
    await database.db.collection('metric_snapshots').insertMany([snapshot('old-post', 401), snapshot('kept-post', 399)] as never[]);
    await herald.scheduler.now(JobNames.metricsPurge, { retentionDays: 400 });
    await eventually(async () => !(await database.db.collection('metric_snapshots').findOne({ _id: 'old-post:7d' as never })), 15_000);
    expect(await database.db.collection('metric_snapshots').findOne({ _id: 'kept-post:7d' as never })).not.toBeNull();
    expect(await database.db.collection('publications').countDocuments({ engagement: { $exists: true } })).toBe(history.publications.filter((p) => p.engagement !== undefined).length);
  });

  it('writes numbers, dates and words the workspace’s way in French and Romanian', () => {
    const fr = digestMessage(report, translator('fr'), 'fr');
    const ro = digestMessage(report, translator('ro'), 'ro');
    expect(fr.card!.title).toBe('Bilan de la semaine · 23 mars 2026 – 29 mars 2026');
    expect(ro.card!.title).toBe('Rezumatul săptămânii · 23 mar. 2026 – 29 mar. 2026');
    expect(fr.card!.body).toContain(`${new Intl.NumberFormat('fr-FR').format(report.workflow.inbox.total)} éléments`);
    expect(ro.card!.body).toContain('interacțiuni');
    expect(ro.card!.fields!.map((f) => f.label)).toContain('Interacțiuni');
    const percent = new Intl.NumberFormat('fr-FR', { style: 'percent', maximumFractionDigits: 1 }).format(report.workflow.onTime / report.workflow.due);
    expect(fr.card!.body).toContain(`à l’heure ${percent}`);
  });
});
