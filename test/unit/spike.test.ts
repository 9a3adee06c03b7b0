import { describe, expect, it } from 'vitest';
import { detectSpike, poissonUpperTail, type Slot } from '../../src/core/spike.ts';
import { poisson, seededRandom } from '../support/random.ts';

const MINUTE = 60_000;
const SLOT = 10 * MINUTE;
const DAY = 86_400_000;


/** Per hour of the day (UTC) and weekday: busy days, quiet nights, a weekend dip. */
function rhythm(at: number): { negative: number; neutral: number; positive: number } {
  const date = new Date(at);
  const hour = date.getUTCHours();
  const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
  const level = (hour >= 8 && hour < 20 ? 1 : hour >= 6 && hour < 23 ? 0.4 : 0.08) * (weekend ? 0.5 : 1);
  return { negative: 3 * level, neutral: 14 * level, positive: 8 * level };
}

function generate(from: number, to: number, seed: number, rate = rhythm): Slot[] {
  const random = seededRandom(seed);
  const slots: Slot[] = [];
  for (let at = from; at < to; at += SLOT) {
    const perHour = rate(at);
    slots.push({ start: new Date(at), negative: poisson(random, perHour.negative / 6), neutral: poisson(random, perHour.neutral / 6), positive: poisson(random, perHour.positive / 6) });
  }
  return slots;
}

// Monday 2 March 2026, 00:00 UTC: four weeks of history before it, then the week under test.
const weekStart = Date.UTC(2026, 2, 2);
const since = new Date(weekStart - 28 * DAY);

describe('spike detection', () => {
  it('computes Poisson tails that match known values and stay finite for thousands of items', () => {
    expect(poissonUpperTail(10, 2)).toBeCloseTo(4.65e-5, 6);
    expect(poissonUpperTail(0, 5)).toBe(1);
    expect(poissonUpperTail(1, 0)).toBe(0);
    expect(poissonUpperTail(2000, 2000)).toBeGreaterThan(0.49);
    expect(poissonUpperTail(2000, 2000)).toBeLessThan(0.51);
    const far = poissonUpperTail(3000, 2000);
    expect(far).toBeGreaterThan(0);
    expect(far).toBeLessThan(1e-50);
  });

  it('a week with the usual daily swings, checked every five minutes, is never a crisis', () => {
    for (const seed of [1, 2, 3]) {
      const slots = generate(since.getTime(), weekStart + 7 * DAY, seed);
      let crises = 0;
      for (let now = weekStart; now < weekStart + 7 * DAY; now += 5 * MINUTE) {
        if (detectSpike({ now: new Date(now), slots, slotMinutes: 10, since, sensitivity: 'medium' }).kind === 'crisis') crises += 1;
      }
      expect(crises, `seed ${seed}`).toBe(0);
    }
  });

  it('a sudden burst of negatives is a crisis within two five-minute polls; the same burst of positives only trending', () => {
    const onset = weekStart + 2 * DAY + 14 * 60 * MINUTE; // Wednesday 14:00
    const burst = (sentiment: 'negative' | 'positive') => (at: number) => {
      const base = rhythm(at);
      return at >= onset ? { ...base, [sentiment]: base[sentiment] * 10 + 60 } : base;
    };
    for (const sentiment of ['negative', 'positive'] as const) {
      const slots = generate(since.getTime(), onset + 3 * 60 * MINUTE, 7, burst(sentiment));
      const first = [5, 10].map((m) => detectSpike({ now: new Date(onset + m * MINUTE), slots, slotMinutes: 10, since, sensitivity: 'medium' }));
      if (sentiment === 'negative') expect(first.some((r) => r.kind === 'crisis')).toBe(true);
      else {
        expect(first.some((r) => r.kind === 'trending')).toBe(true);
        expect(first.every((r) => r.kind !== 'crisis')).toBe(true);
      }
    }
  });

  it('a viral post that brings more of everything, negatives at their usual share, is trending and never a crisis', () => {
    const onset = weekStart + 3 * DAY + 11 * 60 * MINUTE;
    const viral = (at: number) => {
      const base = rhythm(at);
      return at >= onset ? { negative: base.negative * 20, neutral: base.neutral * 20, positive: base.positive * 20 } : base;
    };
    const slots = generate(since.getTime(), onset + 4 * 60 * MINUTE, 11, viral);
    const results = Array.from({ length: 48 }, (_, i) => detectSpike({ now: new Date(onset + (i + 1) * 5 * MINUTE), slots, slotMinutes: 10, since, sensitivity: 'medium' }));
    expect(results.some((r) => r.kind === 'crisis')).toBe(false);
    expect(results.some((r) => r.kind === 'trending')).toBe(true);
  });

  it('on a quiet account three negatives in an hour are noise, twenty-five are a crisis; a new account needs a clearly abnormal count', () => {
    const quiet = () => ({ negative: 0.05, neutral: 0.1, positive: 0.05 });
    const now = weekStart + 3 * DAY + 15 * 60 * MINUTE;
    const slots = generate(since.getTime(), now - 60 * MINUTE, 5, quiet);
    const withRecent = (count: number): Slot[] => [...slots, ...Array.from({ length: 6 }, (_, i) => ({ start: new Date(now - (50 - i * 10) * MINUTE), negative: i < count % 6 ? Math.ceil(count / 6) : Math.floor(count / 6), neutral: 0, positive: 0 }))];
    expect(detectSpike({ now: new Date(now), slots: withRecent(3), slotMinutes: 10, since, sensitivity: 'medium' }).kind).toBe('none');
    expect(detectSpike({ now: new Date(now), slots: withRecent(25), slotMinutes: 10, since, sensitivity: 'medium' }).kind).toBe('crisis');

    const brandNew = new Date(now - 2 * 60 * MINUTE);
    const recentOnly = (count: number): Slot[] => [{ start: new Date(now - 5 * MINUTE), negative: count, neutral: 1, positive: 0 }];
    expect(detectSpike({ now: new Date(now), slots: recentOnly(4), slotMinutes: 10, since: brandNew, sensitivity: 'medium' }).kind).toBe('none');
    expect(detectSpike({ now: new Date(now), slots: recentOnly(30), slotMinutes: 10, since: brandNew, sensitivity: 'medium' }).kind).toBe('crisis');
  });

  it('leaves out what came before the last handled episode, and the sensitivity moves the bar', () => {
    const now = weekStart + 2 * DAY + 16 * 60 * MINUTE;
    const slots = [...generate(since.getTime(), now - 30 * MINUTE, 3), { start: new Date(now - 25 * MINUTE), negative: 40, neutral: 2, positive: 1 }];
    expect(detectSpike({ now: new Date(now), slots, slotMinutes: 10, since, sensitivity: 'medium' }).kind).toBe('crisis');
    expect(detectSpike({ now: new Date(now), slots, slotMinutes: 10, since, sensitivity: 'medium', handledUntil: new Date(now - 20 * MINUTE) }).kind).toBe('none');
    const modest = [...generate(since.getTime(), now - 30 * MINUTE, 3), { start: new Date(now - 5 * MINUTE), negative: 9, neutral: 2, positive: 1 }];
    const kinds = (['low', 'medium', 'high'] as const).map((sensitivity) => detectSpike({ now: new Date(now), slots: modest, slotMinutes: 10, since, sensitivity }).kind);
    expect(kinds[0]).toBe('none');
    expect(kinds[2]).toBe('crisis');
  });
});
