import { partsIn, zonedTime } from './when.ts';

/**
 * On-call: who is paged for an incident now, and who next when nobody acknowledges. Pure rules;
 * flows/crisis.ts stores the rotation in the workspace settings and runs every page as a job.
 */
export interface OnCallRotation {
  /** Who takes turns, in order (user ids). Empty when `group` names them. */
  people: string[];
  /** A Slack user group or Discord role whose members take turns, in the order the platform lists them. */
  group?: string;
  /** Turns change at this wall-clock time ("HH:MM") in `timeZone`, every `everyDays` days from `since`. */
  handoverTime: string;
  everyDays: number;
  timeZone: string;
  /** When the rotation was set: the first person's turn starts here. */
  since: Date;
  /** Paged with the next person whenever an incident goes unacknowledged for `ackMinutes`. */
  escalationPeople: string[];
  escalationGroup?: string;
  ackMinutes: number;
}

export interface Turn {
  /** Index in the member list of the person on call. */
  index: number;
  user: string;
  /** When the next hand-over happens. */
  until: Date;
}

const DAY_MS = 86_400_000;

function handoverMinutes(time: string): number {
  const match = /^(\d{1,2}):(\d{2})$/.exec(time.trim());
  if (!match) throw new Error(`not a time of day: ${time}`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  if (Number(match[1]) > 23 || Number(match[2]) > 59) throw new Error(`not a time of day: ${time}`);
  return minutes;
}

export function isTimeOfDay(text: string): boolean {
  try {
    handoverMinutes(text);
    return true;
  } catch {
    return false;
  }
}

/** Days between two wall-clock dates, whatever the offsets in between (DST). */
const dayNumber = (p: { y: number; m: number; d: number }): number => Math.round(Date.UTC(p.y, p.m - 1, p.d) / DAY_MS);

/**
 * Whose turn it is at `at`: hand-overs happen at `handoverTime` on every `everyDays`-th day after the
 * day the rotation started (wall clock in its zone, so a DST change moves no hand-over).
 */
export function turnAt(rotation: Pick<OnCallRotation, 'handoverTime' | 'everyDays' | 'timeZone' | 'since'>, members: readonly string[], at: Date): Turn | undefined {
  if (members.length === 0) return undefined;
  const minutes = handoverMinutes(rotation.handoverTime);
  const start = partsIn(rotation.since.getTime(), rotation.timeZone);
  const now = partsIn(at.getTime(), rotation.timeZone);
  const days = dayNumber(now) - dayNumber(start);
  let turns = days < rotation.everyDays ? 0 : Math.floor(days / rotation.everyDays);
  if (turns > 0 && days % rotation.everyDays === 0 && now.hh * 60 + now.mm < minutes) turns -= 1;
  if (at.getTime() < rotation.since.getTime()) turns = 0;
  const nextDay = new Date((dayNumber(start) + (turns + 1) * rotation.everyDays) * DAY_MS);
  const until = zonedTime(nextDay.getUTCFullYear(), nextDay.getUTCMonth() + 1, nextDay.getUTCDate(), Math.floor(minutes / 60), minutes % 60, rotation.timeZone);
  const index = turns % members.length;
  return { index, user: members[index]!, until };
}

/**
 * Who is paged at escalation step `step` (0: the first page): the person on call, then at each
 * step the next person in the rotation together with the escalation people, round and round until
 * someone acknowledges. Nobody is listed twice.
 */
export function pagedAt(step: number, turn: Turn | undefined, members: readonly string[], escalation: readonly string[]): string[] {
  if (!turn) return [...new Set(escalation)];
  if (step === 0) return [turn.user];
  const next = members[(turn.index + step) % members.length]!;
  return [...new Set([next, ...escalation])];
}
