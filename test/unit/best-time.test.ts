import { describe, expect, it } from 'vitest';
import { bestSlots, hourScores, type PostedAt } from '../../src/core/best-time.ts';
import { seededRandom } from '../support/random.ts';

const HOUR = 3_600_000;
/** Posts every day at each hour 07–21 UTC for `weeks` weeks, engagement from `value(weekday, hour)`. */
function history(weeks: number, value: (weekday: number, hour: number) => number, seed = 1): PostedAt[] {
  const random = seededRandom(seed);
  const posts: PostedAt[] = [];
  const start = Date.parse('2026-01-05T00:00:00Z'); // a Monday
  for (let day = 0; day < weeks * 7; day++) {
    for (let hour = 7; hour < 22; hour += 2) {
      const at = new Date(start + day * 24 * HOUR + hour * HOUR);
      posts.push({ at, engagement: Math.max(0, value(at.getUTCDay(), hour) + Math.round((random() - 0.5) * 4)) });
    }
  }
  return posts;
}

describe('best time to post', () => {
  it('finds the hours an account’s audience answers most, one per day', () => {
    const own = history(6, (weekday, hour) => (weekday === 2 && hour === 11 ? 60 : weekday === 4 && hour === 17 ? 45 : 10));
    const slots = bestSlots(own, own, 'UTC', 3)!;
    expect(slots[0]).toEqual({ days: [2], hour: 11, minute: 0 });
    expect(slots[1]).toEqual({ days: [4], hour: 17, minute: 0 });
    expect(new Set(slots.map((s) => s.days[0])).size).toBe(3);
  });

  it('an account with two lucky posts borrows the team’s pattern instead of trusting them', () => {
    const team = history(8, (weekday, hour) => (weekday === 1 && hour === 9 ? 40 : 8), 2);
    const own: PostedAt[] = [
      { at: new Date('2026-03-07T15:00:00Z'), engagement: 90 },
      { at: new Date('2026-03-14T15:00:00Z'), engagement: 70 },
    ];
    const scores = hourScores(own, team, 'UTC')!;
    // Saturday 15:00 moves up from the team's 8 but stays an estimate, not 80.
    expect(scores[6 * 24 + 15]!).toBeGreaterThan(20);
    expect(scores[6 * 24 + 15]!).toBeLessThan(45);
    // The team's Monday 09:00 (8 posts of 40) stands well above the team's ordinary hours for an
    // account that never posted then, shrunk toward the team's overall mean as its own 8 posts allow.
    expect(scores[1 * 24 + 9]!).toBeGreaterThan(2.5 * scores[1 * 24 + 11]!);
  });

  it('reads hours in the workspace’s zone, and has nothing to say without history', () => {
    const own = history(4, (weekday, hour) => (weekday === 3 && hour === 13 ? 50 : 5));
    // 13:00 UTC on a Wednesday is 15:00 in Bucharest in winter.
    expect(bestSlots(own, own, 'Europe/Bucharest', 1)).toEqual([{ days: [3], hour: 15, minute: 0 }]);
    expect(bestSlots([], [], 'UTC')).toBeUndefined();
  });
});
