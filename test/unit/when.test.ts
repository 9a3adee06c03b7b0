import { describe, expect, it } from 'vitest';
import { parseWhenText, zonedTime } from '../../src/core/when.ts';

const now = new Date('2026-11-23T10:15:00Z'); // a Monday
const at = (raw: string, zone?: string) => {
  const result = parseWhenText(raw, now, zone);
  return result.ok ? result.date.toISOString() : result.reason;
};

describe('schedule input', () => {
  it('reads relative times in English, French and Romanian', () => {
    expect(at('in 2h')).toBe('2026-11-23T12:15:00.000Z');
    expect(at('in 90 minutes')).toBe('2026-11-23T11:45:00.000Z');
    expect(at('dans 1 jour')).toBe('2026-11-24T10:15:00.000Z');
    expect(at('peste 3 ore')).toBe('2026-11-23T13:15:00.000Z');
  });

  it('reads "tomorrow 9:30" on the wall clock of the zone', () => {
    expect(at('tomorrow 9:30')).toBe('2026-11-24T09:30:00.000Z');
    expect(at('tomorrow at 9:30', 'Europe/Paris')).toBe('2026-11-24T08:30:00.000Z');
    expect(at('demain 9h30', 'Europe/Paris')).toBe('2026-11-24T08:30:00.000Z');
    expect(at('mâine 9:30', 'Europe/Bucharest')).toBe('2026-11-24T07:30:00.000Z');
    expect(at('today 17:00 Europe/Bucharest')).toBe('2026-11-23T15:00:00.000Z');
  });

  it('reads weekdays as the next such day (a week ahead when today’s time has passed)', () => {
    expect(at('friday 10:00')).toBe('2026-11-27T10:00:00.000Z');
    expect(at('monday 9:00')).toBe('2026-11-30T09:00:00.000Z');
    expect(at('monday 11:00')).toBe('2026-11-23T11:00:00.000Z');
  });

  it('reads dates with a time in a zone, and ISO instants as they are', () => {
    expect(at('2026-12-01 14:30')).toBe('2026-12-01T14:30:00.000Z');
    expect(at('2026-12-01 14:30 Europe/Paris')).toBe('2026-12-01T13:30:00.000Z');
    expect(at('2026-07-01 14:30 Europe/Paris')).toBe('2026-07-01T12:30:00.000Z');
    expect(at('2026-12-01T14:30:00+02:00')).toBe('2026-12-01T12:30:00.000Z');
  });

  it('handles the daylight-saving change', () => {
    expect(zonedTime(2026, 3, 29, 3, 30, 'Europe/Paris').toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(zonedTime(2026, 10, 25, 12, 0, 'Europe/Bucharest').toISOString()).toBe('2026-10-25T10:00:00.000Z');
  });

  it('says what it could not read', () => {
    expect(at('next blue moon')).toBe('unreadable');
    expect(at('tomorrow 25:00')).toBe('unreadable');
    expect(at('tomorrow 9:30 Mars/Olympus')).toBe('unknown_zone');
    expect(at('in 2 fortnights')).toBe('unreadable');
  });
});
