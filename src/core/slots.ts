import { zonedTime } from './when.ts';

/**
 * Posting slots: the times an account publishes queued posts, e.g. "mon-fri 09:30, 13:00; sat 11:00".
 * A time without days means every day. Times are wall-clock times in the workspace's zone.
 */
export interface Slot {
  /** 0 = Sunday … 6 = Saturday. */
  days: number[];
  hour: number;
  minute: number;
}

const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const everyDay = [0, 1, 2, 3, 4, 5, 6];

function parseDays(spec: string): number[] | undefined {
  const days = new Set<number>();
  for (const part of spec.split(',')) {
    const [from, to] = part.trim().toLowerCase().split('-').map((d) => dayNames.indexOf(d.slice(0, 3)));
    if (from === undefined || from < 0 || (to !== undefined && to < 0)) return undefined;
    if (to === undefined) days.add(from);
    else for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  }
  return [...days].sort();
}

/** Returns the slots, or the first entry it could not read. */
export function parseSlots(text: string): { ok: true; slots: Slot[] } | { ok: false; bad: string } {
  const slots: Slot[] = [];
  for (const group of text.split(';').map((g) => g.trim()).filter(Boolean)) {
    const match = /^(?:([a-z,\- ]+?)\s+)?(\d{1,2}:\d{2}(?:\s*,\s*\d{1,2}:\d{2})*)$/i.exec(group);
    const days = match?.[1] ? parseDays(match[1].replace(/\s+/g, '')) : everyDay;
    if (!match || !days) return { ok: false, bad: group };
    for (const time of match[2]!.split(',')) {
      const [hour, minute] = time.trim().split(':').map(Number) as [number, number];
      if (hour > 23 || minute > 59) return { ok: false, bad: time.trim() };
      slots.push({ days, hour, minute });
    }
  }
  return slots.length ? { ok: true, slots } : { ok: false, bad: text };
}

export function describeSlots(slots: readonly Slot[]): string {
  return slots.map((s) => `${s.days.length === 7 ? 'daily' : s.days.map((d) => dayNames[d]).join(',')} ${String(s.hour).padStart(2, '0')}:${String(s.minute).padStart(2, '0')}`).join('; ');
}

/**
 * The first slot after `now` (plus a minute of lead) that no other post on the account occupies:
 * a slot is taken when a scheduled post is within `gapMs` of it. Looks four weeks ahead.
 */
export function nextFreeSlot(slots: readonly Slot[], now: Date, zone: string, taken: readonly Date[], gapMs: number): Date | undefined {
  const candidates: Date[] = [];
  const start = now.getTime() + 60_000;
  for (let day = 0; day < 28; day++) {
    const date = new Date(now.getTime() + day * 86_400_000);
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short' }).formatToParts(date);
    const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
    const weekday = dayNames.indexOf(get('weekday').toLowerCase().slice(0, 3));
    for (const slot of slots) {
      if (!slot.days.includes(weekday)) continue;
      const at = zonedTime(Number(get('year')), Number(get('month')), Number(get('day')), slot.hour, slot.minute, zone);
      if (at.getTime() >= start) candidates.push(at);
    }
  }
  candidates.sort((a, b) => a.getTime() - b.getTime());
  return candidates.find((at) => taken.every((t) => Math.abs(t.getTime() - at.getTime()) >= gapMs));
}
