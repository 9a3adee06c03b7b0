import type { Db, Filter, Document } from 'mongodb';
import type { Herald } from '../../src/app.ts';
import { JOBS_COLLECTION, LATER_COLLECTION } from '../../src/jobs/scheduler.ts';

/** A scheduled job wherever it waits: Agenda's queue, or jobs_later when it is due beyond the horizon. */
export interface ScheduledJob {
  _id: unknown;
  name: string;
  data: Record<string, unknown>;
  nextRunAt: Date;
  /** Where it waits now. */
  queue: 'agenda' | 'later';
  lockedAt?: Date | null;
  lastFinishedAt?: Date | null;
}

/** The jobs matching a filter (name, 'data.field': value), in both places, soonest first. */
export async function scheduledJobs(db: Db, filter: Filter<Document>): Promise<ScheduledJob[]> {
  const [queued, waiting] = await Promise.all([db.collection(JOBS_COLLECTION).find(filter).toArray(), db.collection(LATER_COLLECTION).find(filter).toArray()]);
  return [
    ...queued.map((job) => ({ ...job, queue: 'agenda' as const }) as unknown as ScheduledJob),
    ...waiting.map(({ runAt, ...job }) => ({ ...job, nextRunAt: runAt as Date, queue: 'later' as const }) as unknown as ScheduledJob),
  ].sort((a, b) => (a.nextRunAt?.getTime() ?? 0) - (b.nextRunAt?.getTime() ?? 0));
}

/** Time arrives for the matching jobs: each becomes due now, as it would when the clock got there. Returns how many. */
export async function makeDue(herald: Herald, db: Db, filter: Filter<Document>): Promise<number> {
  const now = new Date();
  const queued = await db.collection(JOBS_COLLECTION).updateMany(filter, { $set: { nextRunAt: now } });
  const waiting = await db.collection(LATER_COLLECTION).updateMany(filter, { $set: { runAt: now } });
  if (waiting.matchedCount > 0) await herald.scheduler.release();
  return queued.matchedCount + waiting.matchedCount;
}
