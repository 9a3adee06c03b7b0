import type { Slot } from './slots.ts';
import { partsIn } from './when.ts';

/**
 * The best time to post, from history: mean engagement per hour of the week (in the workspace's
 * zone) for the account, shrunk toward the workspace's own mean for that hour — itself shrunk
 * toward the workspace's overall mean — so an hour with two lucky posts does not win over one with
 * forty steady ones, and an account with little history borrows the team's.
 */

export interface PostedAt {
  at: Date;
  engagement: number;
}

/** How many posts' worth of weight the prior carries. */
const PRIOR_WEIGHT = 5;
const HOURS = 168;

function byHour(posts: readonly PostedAt[], zone: string): { sum: number[]; n: number[] } {
  const sum = new Array<number>(HOURS).fill(0);
  const n = new Array<number>(HOURS).fill(0);
  for (const post of posts) {
    const p = partsIn(post.at.getTime(), zone);
    const hour = p.weekday * 24 + p.hh;
    sum[hour]! += post.engagement;
    n[hour]! += 1;
  }
  return { sum, n };
}

/** Expected engagement per hour of the week (index = weekday × 24 + hour, weekday 0 = Sunday). */
export function hourScores(own: readonly PostedAt[], team: readonly PostedAt[], zone: string): number[] | undefined {
  if (team.length === 0 && own.length === 0) return undefined;
  const everyone = team.length > 0 ? team : own;
  const overall = everyone.reduce((a, p) => a + p.engagement, 0) / everyone.length;
  const t = byHour(everyone, zone);
  const o = byHour(own, zone);
  return Array.from({ length: HOURS }, (_, h) => {
    const prior = (t.sum[h]! + PRIOR_WEIGHT * overall) / (t.n[h]! + PRIOR_WEIGHT);
    return (o.sum[h]! + PRIOR_WEIGHT * prior) / (o.n[h]! + PRIOR_WEIGHT);
  });
}

/**
 * The `count` best hours of the week as posting slots, at most one per day so the queue spreads
 * over the week, only in daytime (07:00–22:00) where people read. Undefined without any history.
 */
export function bestSlots(own: readonly PostedAt[], team: readonly PostedAt[], zone: string, count = 5): Slot[] | undefined {
  const scores = hourScores(own, team, zone);
  if (!scores) return undefined;
  const ranked = scores.map((score, hour) => ({ score, weekday: Math.floor(hour / 24), hour: hour % 24 })).filter((h) => h.hour >= 7 && h.hour < 22).sort((a, b) => b.score - a.score || a.weekday - b.weekday || a.hour - b.hour);
  const slots: Slot[] = [];
  const days = new Set<number>();
  for (const h of ranked) {
    if (days.has(h.weekday)) continue;
    days.add(h.weekday);
    slots.push({ days: [h.weekday], hour: h.hour, minute: 0 });
    if (slots.length === count) break;
  }
  return slots;
}
