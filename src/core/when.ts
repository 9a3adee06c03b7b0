/**
 * Schedule input as people type it: "in 2h", "tomorrow 9:30", "monday 10:00", "2026-12-01 14:30",
 * ISO 8601, each optionally followed by a time zone ("Europe/Paris", "UTC"). Wall-clock times are
 * read in the given zone (the person's or the workspace's). French and Romanian words work too.
 */
export type WhenResult = { ok: true; date: Date } | { ok: false; reason: 'unreadable' | 'unknown_zone' };

const DAY_MS = 86_400_000;
const units: Record<string, number> = { m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hour: 3_600_000, hours: 3_600_000, heure: 3_600_000, heures: 3_600_000, ore: 3_600_000, ora: 3_600_000, d: DAY_MS, day: DAY_MS, days: DAY_MS, jour: DAY_MS, jours: DAY_MS, zi: DAY_MS, zile: DAY_MS };
const relativeDays: Record<string, number> = { today: 0, "aujourd'hui": 0, 'aujourd’hui': 0, azi: 0, astazi: 0, astăzi: 0, tomorrow: 1, demain: 1, maine: 1, mâine: 1 };
const weekdays: Record<string, number> = {
  sunday: 0, monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6,
  dimanche: 0, lundi: 1, mardi: 2, mercredi: 3, jeudi: 4, vendredi: 5, samedi: 6,
  duminica: 0, duminică: 0, luni: 1, marti: 2, marți: 2, miercuri: 3, joi: 4, vineri: 5, sambata: 6, sâmbătă: 6,
};

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock parts of an instant in a zone (weekday 0 = Sunday). */
/** One formatter per zone: making one costs far more than using it (reports call this per post). */
const formats = new Map<string, Intl.DateTimeFormat>();

export function partsIn(epochMs: number, zone: string): { y: number; m: number; d: number; hh: number; mm: number; weekday: number } {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    formats.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(epochMs)).map((p) => [p.type, p.value]));
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday ?? '');
  return { y: Number(parts.year), m: Number(parts.month), d: Number(parts.day), hh: Number(parts.hour), mm: Number(parts.minute), weekday };
}

/** The instant at which the wall clock in `zone` shows the given date and time (DST-aware). */
export function zonedTime(y: number, m: number, d: number, hh: number, mm: number, zone: string): Date {
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  const offsetAt = (epoch: number): number => {
    const p = partsIn(epoch, zone);
    return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm) - Math.floor(epoch / 60_000) * 60_000;
  };
  const first = guess - offsetAt(guess);
  return new Date(guess - offsetAt(first));
}

export function parseWhenText(raw: string, now: Date, defaultZone = 'UTC'): WhenResult {
  let text = raw.trim().replace(/\s+/g, ' ');
  let zone = defaultZone;
  const zoned = /^(.*\S)\s+([A-Za-z_]+(?:\/[A-Za-z_+-]+){0,2}|UTC|GMT)$/.exec(text);
  if (zoned && /[/]|^UTC$|^GMT$/.test(zoned[2]!)) {
    if (!isTimeZone(zoned[2]!)) return { ok: false, reason: 'unknown_zone' };
    text = zoned[1]!;
    zone = zoned[2]!;
  }
  const lower = text.toLowerCase();

  const relative = /^(?:in|dans|peste) (\d+(?:\.\d+)?) ?([a-zăâîșț]+)$/.exec(lower);
  if (relative) {
    const unit = units[relative[2]!];
    return unit ? { ok: true, date: new Date(now.getTime() + Number(relative[1]) * unit) } : { ok: false, reason: 'unreadable' };
  }

  const dayAndTime = /^([a-zăâîșț'’]+)(?: (?:at|à|a|la))? (\d{1,2})(?:[:h.](\d{2}))?$/.exec(lower);
  if (dayAndTime) {
    const [, word, hour, minute] = dayAndTime;
    const hh = Number(hour);
    const mm = Number(minute ?? 0);
    if (hh > 23 || mm > 59) return { ok: false, reason: 'unreadable' };
    const today = partsIn(now.getTime(), zone);
    let offset: number | undefined = relativeDays[word!];
    if (offset === undefined && weekdays[word!] !== undefined) {
      offset = (weekdays[word!]! - today.weekday + 7) % 7;
      if (offset === 0 && zonedTime(today.y, today.m, today.d, hh, mm, zone) <= now) offset = 7;
    }
    if (offset === undefined) return { ok: false, reason: 'unreadable' };
    const day = new Date(Date.UTC(today.y, today.m - 1, today.d) + offset * DAY_MS);
    return { ok: true, date: zonedTime(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), hh, mm, zone) };
  }

  const wall = /^(\d{4})-(\d{2})-(\d{2})[ t](\d{1,2})[:h](\d{2})(?::\d{2})?$/i.exec(text);
  if (wall) {
    const [, y, m, d, hh, mm] = wall.map(Number) as [number, number, number, number, number, number];
    if (m < 1 || m > 12 || d < 1 || d > 31 || hh > 23 || mm > 59) return { ok: false, reason: 'unreadable' };
    return { ok: true, date: zonedTime(y, m, d, hh, mm, zone) };
  }

  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text)) {
    const date = new Date(text);
    return Number.isNaN(date.getTime()) ? { ok: false, reason: 'unreadable' } : { ok: true, date };
  }
  return { ok: false, reason: 'unreadable' };
}
