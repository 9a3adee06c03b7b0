import { describe, expect, it } from 'vitest';
import { change, daysOf, engagementRate, goalProgress, latestRun, nextRun, parseRange, parseWeekday, previousRange, quantile } from '../../src/core/digest.ts';

const bucharest = { weekday: 1, time: '09:00', timeZone: 'Europe/Bucharest' };
const HOUR = 3_600_000;

describe('digest calendar', () => {
  it('is due at the local time on the local weekday, and covers the seven local days before it', () => {
    // Monday 1 December 2025, 09:00 in Bucharest is 07:00 UTC (winter, UTC+2).
    const run = latestRun(new Date('2025-12-01T07:00:00Z'), bucharest);
    expect(run.key).toBe('2025-12-01');
    expect(run.at.toISOString()).toBe('2025-12-01T07:00:00.000Z');
    expect(run.from.toISOString()).toBe('2025-11-23T22:00:00.000Z');
    expect(run.to.toISOString()).toBe('2025-11-30T22:00:00.000Z');
    // A minute before, the latest run is the previous week's.
    expect(latestRun(new Date('2025-12-01T06:59:00Z'), bucharest).key).toBe('2025-11-24');
    // Any time during the week points at the same run.
    expect(latestRun(new Date('2025-12-06T23:00:00Z'), bucharest).key).toBe('2025-12-01');
    expect(nextRun(new Date('2025-12-01T07:00:00Z'), bucharest).key).toBe('2025-12-08');
  });

  it('keeps 09:00 local across daylight-saving changes; the week of a change is 169 or 167 hours', () => {
    // Summer time ends on Sunday 26 October 2025 in Bucharest (UTC+3 → UTC+2).
    const before = latestRun(new Date('2025-10-20T12:00:00Z'), bucharest);
    const after = latestRun(new Date('2025-10-27T12:00:00Z'), bucharest);
    expect(before.at.toISOString()).toBe('2025-10-20T06:00:00.000Z');
    expect(after.at.toISOString()).toBe('2025-10-27T07:00:00.000Z');
    expect(after.to.getTime() - after.from.getTime()).toBe(169 * HOUR);
    // Summer time starts on Sunday 29 March 2026 (UTC+2 → UTC+3).
    const spring = latestRun(new Date('2026-03-30T12:00:00Z'), bucharest);
    expect(spring.at.toISOString()).toBe('2026-03-30T06:00:00.000Z');
    expect(spring.to.getTime() - spring.from.getTime()).toBe(167 * HOUR);
    expect(daysOf(after.from, after.to, 'Europe/Bucharest')).toEqual(['2025-10-20', '2025-10-21', '2025-10-22', '2025-10-23', '2025-10-24', '2025-10-25', '2025-10-26']);
    expect(daysOf(spring.from, spring.to, 'Europe/Bucharest')).toHaveLength(7);
  });

  it('a digest set at an hour that does not exist on the change day still happens once that day', () => {
    // 03:30 on Sunday 29 March 2026 does not exist in Bucharest (clocks jump 03:00 → 04:00).
    const schedule = { weekday: 0, time: '03:30', timeZone: 'Europe/Bucharest' };
    const keys = new Set<string>();
    for (let at = Date.parse('2026-03-28T00:00:00Z'); at < Date.parse('2026-03-30T00:00:00Z'); at += 5 * 60_000) keys.add(latestRun(new Date(at), schedule).key);
    expect([...keys]).toEqual(['2026-03-22', '2026-03-29']);
  });

  it('reads report ranges in the workspace time zone', () => {
    const now = new Date('2025-12-03T10:00:00Z'); // a Wednesday
    const last = parseRange(undefined, now, 'Europe/Paris');
    expect(last).toEqual({ ok: true, from: new Date('2025-11-23T23:00:00Z'), to: new Date('2025-11-30T23:00:00Z') });
    expect(parseRange('week', now, 'UTC')).toEqual({ ok: true, from: new Date('2025-12-01T00:00:00Z'), to: now });
    expect(parseRange('last-month', now, 'UTC')).toEqual({ ok: true, from: new Date('2025-11-01T00:00:00Z'), to: new Date('2025-12-01T00:00:00Z') });
    expect(parseRange('30d', now, 'UTC')).toEqual({ ok: true, from: new Date(now.getTime() - 30 * 24 * HOUR), to: now });
    expect(parseRange('2025-11-01..2025-11-30', now, 'UTC')).toEqual({ ok: true, from: new Date('2025-11-01T00:00:00Z'), to: new Date('2025-12-01T00:00:00Z') });
    for (const bad of ['yesterday-ish', '0d', '2025-11-30..2025-11-01', '999d']) expect(parseRange(bad, now, 'UTC')).toEqual({ ok: false });
    expect(previousRange(new Date('2025-10-26T21:00:00Z'), new Date('2025-11-02T22:00:00Z')).from.toISOString()).toBe('2025-10-19T21:00:00.000Z');
  });

  it('reads weekdays in English, French and Romanian', () => {
    expect([parseWeekday('Monday'), parseWeekday('lundi'), parseWeekday('luni'), parseWeekday('vineri'), parseWeekday('dimanche')]).toEqual([1, 1, 1, 5, 0]);
    expect(parseWeekday('someday')).toBeUndefined();
  });
});

describe('digest arithmetic', () => {
  it('quantiles interpolate between order statistics', () => {
    expect(quantile([], 0.5)).toBeUndefined();
    expect(quantile([5], 0.9)).toBe(5);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1);
  });

  it('week-over-week change, engagement rate and goal progress', () => {
    expect(change(12, 10)).toBeCloseTo(0.2);
    expect(change(0, 0)).toBe(0);
    expect(change(3, 0)).toBeUndefined();
    expect(engagementRate({ engagement: 50, posts: 5, impressions: 1_000 })).toBeCloseTo(0.05);
    expect(engagementRate({ engagement: 50, posts: 5, impressions: 0, followers: 200 })).toBeCloseTo(0.05);
    expect(engagementRate({ engagement: 50, posts: 0, impressions: 0, followers: 200 })).toBeUndefined();
    expect(goalProgress({ metric: 'posts', target: 20 }, 15)).toBeCloseTo(0.75);
    // Response time is a ceiling: 30 minutes against a 60-minute goal is met twice over.
    expect(goalProgress({ metric: 'response', target: 60 }, 30)).toBe(2);
    expect(goalProgress({ metric: 'sla', target: 90 }, undefined)).toBeUndefined();
  });
});
