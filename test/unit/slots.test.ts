import { describe, expect, it } from 'vitest';
import { describeSlots, nextFreeSlot, parseSlots } from '../../src/core/slots.ts';

describe('posting slots', () => {
  it('reads days, ranges and daily times', () => {
    const parsed = parseSlots('mon-fri 09:30, 13:00; sat 11:00; 18:45');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(describeSlots(parsed.slots)).toBe('mon,tue,wed,thu,fri 09:30; mon,tue,wed,thu,fri 13:00; sat 11:00; daily 18:45');
    const wrapped = parseSlots('fri-mon 08:00');
    expect(wrapped.ok && describeSlots(wrapped.slots)).toBe('sun,mon,fri,sat 08:00');
  });

  it('names what it cannot read', () => {
    expect(parseSlots('someday 09:00')).toEqual({ ok: false, bad: 'someday 09:00' });
    expect(parseSlots('mon 25:00')).toEqual({ ok: false, bad: '25:00' });
    expect(parseSlots('')).toMatchObject({ ok: false });
  });

  it('takes the next slot no other post occupies, in the zone', () => {
    const parsed = parseSlots('mon-fri 09:30, 13:00');
    if (!parsed.ok) throw new Error('unreadable');
    const now = new Date('2026-11-23T10:15:00Z'); // Monday 11:15 in Paris
    const zone = 'Europe/Paris';
    expect(nextFreeSlot(parsed.slots, now, zone, [], 30 * 60_000)?.toISOString()).toBe('2026-11-23T12:00:00.000Z');
    const taken = [new Date('2026-11-23T12:10:00Z')];
    expect(nextFreeSlot(parsed.slots, now, zone, taken, 30 * 60_000)?.toISOString()).toBe('2026-11-24T08:30:00.000Z');
    const friday = new Date('2026-11-27T13:00:00Z'); // Friday 14:00 in Paris: next is Monday
    expect(nextFreeSlot(parsed.slots, friday, zone, [], 30 * 60_000)?.toISOString()).toBe('2026-11-30T08:30:00.000Z');
  });
});
