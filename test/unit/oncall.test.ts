import { describe, expect, it } from 'vitest';
import { isTimeOfDay, pagedAt, turnAt, type OnCallRotation } from '../../src/core/oncall.ts';

const weekly: Pick<OnCallRotation, 'handoverTime' | 'everyDays' | 'timeZone' | 'since'> = {
  handoverTime: '09:00',
  everyDays: 7,
  timeZone: 'Europe/Bucharest',
  // Monday 2 March 2026, 10:00 in Bucharest (UTC+2).
  since: new Date('2026-03-02T08:00:00Z'),
};
const team = ['U_ANA', 'U_BOGDAN', 'U_CLAIRE'];

describe('on-call rotation', () => {
  it('hands over weekly at the wall-clock time in the rotation’s zone', () => {
    expect(turnAt(weekly, team, new Date('2026-03-02T08:00:00Z'))?.user).toBe('U_ANA');
    // Next Monday 08:59 in Bucharest is still Ana's; 09:00 is Bogdan's.
    expect(turnAt(weekly, team, new Date('2026-03-09T06:59:00Z'))?.user).toBe('U_ANA');
    expect(turnAt(weekly, team, new Date('2026-03-09T07:00:00Z'))?.user).toBe('U_BOGDAN');
    expect(turnAt(weekly, team, new Date('2026-03-16T07:00:00Z'))?.user).toBe('U_CLAIRE');
    expect(turnAt(weekly, team, new Date('2026-03-23T07:00:00Z'))?.user).toBe('U_ANA');
    expect(turnAt(weekly, team, new Date('2026-03-09T06:59:00Z'))?.until).toEqual(new Date('2026-03-09T07:00:00Z'));
  });

  it('keeps the hand-over at 09:00 local across the DST change (EET → EEST on 29 March 2026)', () => {
    // 30 March is after the change: 09:00 in Bucharest is 06:00 UTC.
    const turn = turnAt(weekly, team, new Date('2026-03-30T05:59:00Z'));
    expect(turn?.user).toBe('U_ANA');
    expect(turn?.until).toEqual(new Date('2026-03-30T06:00:00Z'));
    expect(turnAt(weekly, team, new Date('2026-03-30T06:00:00Z'))?.user).toBe('U_BOGDAN');
  });

  it('daily rotations and a rotation that has not started yet', () => {
    const daily = { ...weekly, everyDays: 1 };
    expect(turnAt(daily, team, new Date('2026-03-03T07:00:00Z'))?.user).toBe('U_BOGDAN');
    expect(turnAt(daily, team, new Date('2026-03-04T07:00:00Z'))?.user).toBe('U_CLAIRE');
    expect(turnAt(daily, team, new Date('2026-03-01T07:00:00Z'))?.user).toBe('U_ANA');
    expect(turnAt(daily, [], new Date('2026-03-04T07:00:00Z'))).toBeUndefined();
  });

  it('pages the person on call first, then the next one with the escalation people, round and round', () => {
    const turn = turnAt(weekly, team, new Date('2026-03-10T10:00:00Z'));
    expect(turn?.user).toBe('U_BOGDAN');
    expect(pagedAt(0, turn, team, ['U_LEAD'])).toEqual(['U_BOGDAN']);
    expect(pagedAt(1, turn, team, ['U_LEAD'])).toEqual(['U_CLAIRE', 'U_LEAD']);
    expect(pagedAt(2, turn, team, ['U_LEAD'])).toEqual(['U_ANA', 'U_LEAD']);
    expect(pagedAt(3, turn, team, ['U_LEAD', 'U_BOGDAN'])).toEqual(['U_BOGDAN', 'U_LEAD']);
    expect(pagedAt(0, undefined, [], ['U_LEAD'])).toEqual(['U_LEAD']);
  });

  it('reads hand-over times', () => {
    expect(isTimeOfDay('09:00')).toBe(true);
    expect(isTimeOfDay('9:30')).toBe(true);
    expect(isTimeOfDay('24:00')).toBe(false);
    expect(isTimeOfDay('noon')).toBe(false);
  });
});
