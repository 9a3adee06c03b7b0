import { partsIn, zonedTime } from './when.ts';

/**
 * The weekly digest's calendar and arithmetic. Pure: the digest flow reads the stores, hands the
 * rows here, and renders what comes back. Weeks are the workspace's local weeks, so a digest sent
 * on Monday 09:00 Europe/Bucharest covers Monday 00:00 to Monday 00:00 there, DST or not.
 */

const DAY_MS = 86_400_000;

export interface DigestSchedule {
  /** 0 = Sunday … 6 = Saturday (1, Monday, by default). */
  weekday: number;
  /** Local wall-clock time, HH:MM. */
  time: string;
  timeZone: string;
}

export const defaultDigestSchedule = (timeZone = 'UTC'): DigestSchedule => ({ weekday: 1, time: '09:00', timeZone });

/** A sent digest is "late" when it went out more than this after its time (Herald was down). */
export const LATE_AFTER_MS = 15 * 60_000;

export interface DigestRun {
  /** The local date of the scheduled day, YYYY-MM-DD: one digest per workspace and key. */
  key: string;
  /** When it is due. */
  at: Date;
  /** The week it covers, [from, to): the seven local days before the scheduled day. */
  from: Date;
  to: Date;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const localDate = (y: number, m: number, d: number): string => `${y}-${pad(m)}-${pad(d)}`;

/** The calendar date `days` after y-m-d (no time zone involved: pure date arithmetic). */
function addDays(y: number, m: number, d: number, days: number): { y: number; m: number; d: number } {
  const date = new Date(Date.UTC(y, m - 1, d + days));
  return { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate() };
}

/** The UTC day of an instant, YYYY-MM-DD: how metric buckets are keyed. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The local day an instant falls on in a zone, YYYY-MM-DD. */
export function dayIn(at: Date, zone: string): string {
  const p = partsIn(at.getTime(), zone);
  return localDate(p.y, p.m, p.d);
}

/** The run for the week whose scheduled day is the local date y-m-d. */
function runOn(date: { y: number; m: number; d: number }, schedule: DigestSchedule): DigestRun {
  const [hh, mm] = schedule.time.split(':').map(Number) as [number, number];
  const start = addDays(date.y, date.m, date.d, -7);
  return {
    key: localDate(date.y, date.m, date.d),
    at: zonedTime(date.y, date.m, date.d, hh, mm, schedule.timeZone),
    from: zonedTime(start.y, start.m, start.d, 0, 0, schedule.timeZone),
    to: zonedTime(date.y, date.m, date.d, 0, 0, schedule.timeZone),
  };
}

/**
 * The latest digest due at or before `now`: the scheduled weekday on or before today (local), or
 * the one a week earlier when today's time has not come yet. A missed run is this same run found
 * later (and sent late); an older one is never sent (the newer week replaces it).
 */
export function latestRun(now: Date, schedule: DigestSchedule): DigestRun {
  const today = partsIn(now.getTime(), schedule.timeZone);
  const back = (today.weekday - schedule.weekday + 7) % 7;
  const day = addDays(today.y, today.m, today.d, -back);
  const run = runOn(day, schedule);
  if (run.at.getTime() <= now.getTime()) return run;
  return runOn(addDays(day.y, day.m, day.d, -7), schedule);
}

/** The run after `run` (for "next digest" in settings). */
export function nextRun(now: Date, schedule: DigestSchedule): DigestRun {
  const last = latestRun(now, schedule);
  const [y, m, d] = last.key.split('-').map(Number) as [number, number, number];
  return runOn(addDays(y, m, d, 7), schedule);
}

/** The local days of [from, to) in a zone, in order. */
export function daysOf(from: Date, to: Date, zone: string): string[] {
  const days: string[] = [];
  // Noon steps never skip or repeat a day across a DST change.
  const first = partsIn(from.getTime(), zone);
  for (let date = { y: first.y, m: first.m, d: first.d }; ; date = addDays(date.y, date.m, date.d, 1)) {
    const start = zonedTime(date.y, date.m, date.d, 0, 0, zone);
    if (start.getTime() >= to.getTime()) break;
    days.push(localDate(date.y, date.m, date.d));
    if (days.length > 400) break;
  }
  return days;
}

/** A range the same length just before [from, to), for week-over-week change. */
export function previousRange(from: Date, to: Date): { from: Date; to: Date } {
  const length = to.getTime() - from.getTime();
  // Weeks are compared as weeks even when a DST change makes one an hour shorter.
  const shift = Math.round(length / DAY_MS) * DAY_MS || length;
  return { from: new Date(from.getTime() - shift), to: from };
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

/** The q-quantile (0..1) of the values, by linear interpolation between order statistics. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** Relative change from `before` to `now`; undefined when there was nothing before. */
export function change(now: number, before: number): number | undefined {
  if (before === 0) return now === 0 ? 0 : undefined;
  return (now - before) / before;
}

/** Likes, reposts, replies and quotes together: what the digest calls engagement. */
export function engagementOf(m: { likes: number; reposts: number; replies: number; quotes?: number }): number {
  return m.likes + m.reposts + m.replies + (m.quotes ?? 0);
}

/**
 * Engagement rate of an account's posts in a week: per impression where the network counts
 * impressions, otherwise per post and per follower (Bluesky and Mastodon give no impressions).
 */
export function engagementRate(figures: { engagement: number; posts: number; impressions: number; followers?: number }): number | undefined {
  if (figures.impressions > 0) return figures.engagement / figures.impressions;
  if (figures.posts === 0 || !figures.followers) return undefined;
  return figures.engagement / (figures.posts * figures.followers);
}

export const goalMetrics = ['posts', 'engagement', 'followers', 'response', 'sla'] as const;
export type GoalMetric = (typeof goalMetrics)[number];

/** A weekly target set with /herald goals. */
export interface Goal {
  metric: GoalMetric;
  target: number;
  /** An account id; the whole workspace when absent. */
  accountId?: string;
}

/**
 * How far a week got toward a goal, 0..∞ (1 = reached). Response time is a ceiling (minutes of
 * median first response): meeting it is reaching it, and the ratio says how much room is left.
 */
export function goalProgress(goal: Goal, actual: number | undefined): number | undefined {
  if (actual === undefined) return undefined;
  if (goal.metric === 'response') return actual <= 0 ? 1 : goal.target / actual;
  return goal.target <= 0 ? 1 : actual / goal.target;
}

export type RangeResult = { ok: true; from: Date; to: Date } | { ok: false };

/**
 * A report range as people type it, in a time zone: "last-week" (the default: the last full local
 * week, Monday to Monday), "week" (this week so far), "month", "last-month", "7d" / "30d" (the
 * last N days up to now), or "2026-11-01..2026-11-30" (whole local days, both ends included).
 */
export function parseRange(raw: string | undefined, now: Date, zone: string): RangeResult {
  const text = (raw ?? 'last-week').trim().toLowerCase();
  const today = partsIn(now.getTime(), zone);
  const midnight = (date: { y: number; m: number; d: number }): Date => zonedTime(date.y, date.m, date.d, 0, 0, zone);
  const monday = addDays(today.y, today.m, today.d, -((today.weekday + 6) % 7));
  if (text === 'week') return { ok: true, from: midnight(monday), to: now };
  if (text === 'last-week') return { ok: true, from: midnight(addDays(monday.y, monday.m, monday.d, -7)), to: midnight(monday) };
  if (text === 'month') return { ok: true, from: midnight({ y: today.y, m: today.m, d: 1 }), to: now };
  if (text === 'last-month') {
    const first = { y: today.y, m: today.m, d: 1 };
    const previous = today.m === 1 ? { y: today.y - 1, m: 12, d: 1 } : { y: today.y, m: today.m - 1, d: 1 };
    return { ok: true, from: midnight(previous), to: midnight(first) };
  }
  const days = /^(\d{1,3})d$/.exec(text);
  if (days) {
    const n = Number(days[1]);
    if (n < 1 || n > 366) return { ok: false };
    return { ok: true, from: new Date(now.getTime() - n * DAY_MS), to: now };
  }
  const span = /^(\d{4})-(\d{2})-(\d{2})\s*(?:\.\.|–|to)\s*(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (span) {
    const [a, b] = [span.slice(1, 4).map(Number), span.slice(4, 7).map(Number)] as [[number, number, number], [number, number, number]];
    const from = midnight({ y: a[0], m: a[1], d: a[2] });
    const end = addDays(b[0], b[1], b[2], 1);
    const to = midnight(end);
    if (Number.isNaN(from.getTime()) || to.getTime() <= from.getTime() || to.getTime() - from.getTime() > 366 * DAY_MS) return { ok: false };
    return { ok: true, from, to };
  }
  return { ok: false };
}

const weekdayNames: Record<string, number> = {
  sun: 0, sunday: 0, mon: 1, monday: 1, tue: 2, tuesday: 2, wed: 3, wednesday: 3, thu: 4, thursday: 4, fri: 5, friday: 5, sat: 6, saturday: 6,
  dimanche: 0, lundi: 1, mardi: 2, mercredi: 3, jeudi: 4, vendredi: 5, samedi: 6,
  duminica: 0, duminică: 0, luni: 1, marti: 2, marți: 2, miercuri: 3, joi: 4, vineri: 5, sambata: 6, sâmbătă: 6,
};

/** "monday", "lundi", "luni", "mon" → 1. */
export function parseWeekday(raw: string): number | undefined {
  return weekdayNames[raw.trim().toLowerCase()];
}
