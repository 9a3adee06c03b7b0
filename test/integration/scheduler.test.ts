import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Herald } from '../../src/app.ts';
import { defineFlow, type Flow } from '../../src/flow.ts';
import { ObjectId } from 'mongodb';
import { defineJob, JOBS_COLLECTION, LATER_COLLECTION, lockLimitFor, PermanentJobError } from '../../src/jobs/scheduler.ts';
import { captureLogger, eventually, startTestHerald } from '../support/herald.ts';
import { scheduledJobs } from '../support/jobs.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/** A flow whose jobs record every run in the database, so tests count runs from MongoDB. */
function recordingFlow(behaviour: { failTimes?: number; permanent?: boolean; countLocked?: boolean } = {}): Flow {
  return defineFlow({
    name: 'recording',
    jobs: ({ db }) => [
      defineJob({
        name: 'test.record',
        schema: z.object({ tag: z.string().min(1) }),
        retry: { maxRetries: 3, delayMs: 200 },
        async handler({ tag }, { attempt, jobId }) {
          const locked = behaviour.countLocked ? await db.collection(JOBS_COLLECTION).countDocuments({ name: 'test.record', lockedAt: { $ne: null } }) : undefined;
          await db.collection('runs').insertOne({ tag, attempt, jobId, at: new Date(), ...(locked === undefined ? {} : { locked }) });
          if (attempt <= (behaviour.failTimes ?? 0)) {
            throw behaviour.permanent ? new PermanentJobError('refused for good') : new Error('network hiccup');
          }
        },
      }),
    ],
  });
}

describe('scheduler (Agenda 6 on MongoDB)', () => {
  let database: TestDatabase;
  let herald: Herald | undefined;

  beforeEach(async () => {
    database = await openTestDatabase('sched');
  });
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    await database.cleanup();
  });

  it('runs a job scheduled one second ahead exactly once, not before its time', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()] });
    const due = new Date(Date.now() + 1_000);
    await herald.scheduler.at(due, 'test.record', { tag: 'once' });
    await eventually(() => database.db.collection('runs').findOne({ tag: 'once' }), 8_000);
    const run = await database.db.collection('runs').findOne({ tag: 'once' });
    expect((run?.at as Date).getTime()).toBeGreaterThanOrEqual(due.getTime() - 50);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await database.db.collection('runs').countDocuments({ tag: 'once' })).toBe(1);
    const metrics = await herald.metrics.registry.getSingleMetricAsString('herald_jobs_run_total');
    expect(metrics).toContain('herald_jobs_run_total{job="test.record"} 1');
  });

  it('starts running due jobs after locking a few of them, not after locking every one that is due', async () => {
    // Agenda alone locks every due job of a name, one query each, before it runs any: when jobs fall
    // due faster than the database answers, nothing ever runs. The lock limit bounds that.
    const due = new Date(Date.now() - 1_000);
    const jobs = Array.from({ length: 150 }, (_, i) => ({ name: 'test.record', data: { tag: `t${i}` }, type: 'normal', priority: 0, nextRunAt: due, lastModifiedBy: null }));
    await database.db.collection(JOBS_COLLECTION).insertMany(jobs);
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow({ countLocked: true })] });
    const runs = database.db.collection<{ tag: string; at: Date; locked: number }>('runs');
    await eventually(async () => (await runs.distinct('tag')).length === 150 || undefined, 60_000);
    const first = (await runs.find({}).sort({ at: 1 }).limit(1).toArray())[0]!;
    expect(first.locked).toBeLessThanOrEqual(lockLimitFor({}));
    expect(Math.max(...(await runs.find({}).toArray()).map((r) => r.locked))).toBeLessThanOrEqual(lockLimitFor({}));
  }, 90_000);

  it('starts a poll only once the previous one has finished locking', async () => {
    // Agenda alone starts a poll every interval even while the last one is still locking: when a
    // lock query takes longer than the interval, polls pile up and slow each other until nothing runs.
    const due = new Date(Date.now() - 1_000);
    const jobs = Array.from({ length: 150 }, (_, i) => ({ name: 'test.record', data: { tag: `p${i}` }, type: 'normal', priority: 0, nextRunAt: due, lastModifiedBy: null }));
    await database.db.collection(JOBS_COLLECTION).insertMany(jobs);
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()], env: { SCHEDULER_POLL_MS: '20' } });
    // Lock queries of test.record in flight at once, seen from the driver.
    const inFlight = new Set<number>();
    let most = 0;
    herald.mongo.client.on('commandStarted', (event) => {
      const command = event.command as { findAndModify?: string; query?: { name?: unknown } };
      if (command.findAndModify !== JOBS_COLLECTION || command.query?.name !== 'test.record') return;
      inFlight.add(event.requestId);
      most = Math.max(most, inFlight.size);
    });
    const finished = (event: { requestId: number }): void => {
      inFlight.delete(event.requestId);
    };
    herald.mongo.client.on('commandSucceeded', finished);
    herald.mongo.client.on('commandFailed', finished);
    const runs = database.db.collection('runs');
    await eventually(async () => (await runs.distinct('tag')).length === 150 || undefined, 60_000);
    expect(most).toBe(1);
  }, 90_000);

  it('keeps a job due beyond the horizon out of Agenda’s queue until shortly before its time, then runs it once; cancel finds it anywhere', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()], env: { SCHEDULER_HORIZON_MS: '3000' } });
    const queued = database.db.collection(JOBS_COLLECTION);
    const due = new Date(Date.now() + 6_000);
    await herald.scheduler.at(due, 'test.record', { tag: 'later' });
    await herald.scheduler.at(new Date(Date.now() + 60_000), 'test.record', { tag: 'cancelled' });
    await herald.scheduler.at(new Date(Date.now() + 1_000), 'test.record', { tag: 'soon' });
    expect((await scheduledJobs(database.db, { name: 'test.record' })).map((j) => [j.data.tag, j.queue])).toEqual([['soon', 'agenda'], ['later', 'later'], ['cancelled', 'later']]);
    // Moved in (every horizon/3) once within the horizon, and run at its time, once.
    const moved = await eventually(() => queued.findOne({ 'data.tag': 'later' }), 8_000);
    expect((moved.nextRunAt as Date).toISOString()).toBe(due.toISOString());
    expect(due.getTime() - Date.now()).toBeGreaterThan(0);
    const run = await eventually(() => database.db.collection('runs').findOne({ tag: 'later' }), 10_000);
    expect((run.at as Date).getTime()).toBeGreaterThanOrEqual(due.getTime() - 50);
    expect(await herald.scheduler.cancel('test.record', { tag: 'cancelled' })).toBe(1);
    expect(await scheduledJobs(database.db, { 'data.tag': 'cancelled' })).toHaveLength(0);

    // Two replicas moving the same job at once: one copy in the queue.
    await herald.scheduler.at(new Date(Date.now() + 60_000), 'test.record', { tag: 'twice' });
    const ahead = new Date(Date.now() + 60_000);
    await Promise.all([herald.scheduler.release(ahead), herald.scheduler.release(ahead), herald.scheduler.release(ahead)]);
    expect((await scheduledJobs(database.db, { 'data.tag': 'twice' })).map((j) => j.queue)).toEqual(['agenda']);
    await new Promise((r) => setTimeout(r, 500));
    expect(await database.db.collection('runs').countDocuments({ tag: 'later' })).toBe(1);
  }, 30_000);

  it('moves upcoming jobs one move at a time, each job once, even when a move outlasts the interval', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()], env: { SCHEDULER_HORIZON_MS: '3000' } });
    // Inserts into Agenda's queue, seen from the driver: a second move overlapping the first would
    // insert (and be refused) every job the first had not yet deleted from jobs_later.
    let inserts = 0;
    herald.mongo.client.on('commandStarted', (event) => {
      const command = event.command as { insert?: string; documents?: { name?: string }[] };
      if (command.insert === JOBS_COLLECTION) inserts += (command.documents ?? []).filter((d) => d.name === 'test.idle').length;
    });
    // A job name no flow defines, so nothing runs them: only moving is measured. 2,000 jobs take
    // a few seconds to move, well over the 1 s interval.
    const runAt = new Date(Date.now() + 2_000);
    const waiting = Array.from({ length: 2_000 }, (_, i) => ({ _id: new ObjectId(), name: 'test.idle', data: { tag: `m${i}` }, runAt }));
    await database.db.collection(LATER_COLLECTION).insertMany(waiting);
    await eventually(async () => ((await database.db.collection(LATER_COLLECTION).countDocuments({ name: 'test.idle' })) === 0 ? true : undefined), 60_000);
    expect(await database.db.collection(JOBS_COLLECTION).countDocuments({ name: 'test.idle' })).toBe(2_000);
    expect(inserts).toBe(2_000);
  }, 90_000);

  it('refuses to schedule a payload that does not match the job schema', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()] });
    await expect(herald.scheduler.now('test.record', { tag: '' })).rejects.toThrow(/payload for test.record is invalid/);
    await expect(herald.scheduler.now('test.unknown', {})).rejects.toThrow(/no job is defined/);
    expect(await database.db.collection(JOBS_COLLECTION).countDocuments({ name: 'test.record' })).toBe(0);
  });

  it('fails a stored job with an invalid payload loudly, once, and disables it', async () => {
    const capture = captureLogger();
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()], log: capture.log });
    // A job document written by an older version, with a payload this version no longer accepts.
    const { insertedId } = await database.db.collection(JOBS_COLLECTION).insertOne({
      name: 'test.record',
      data: { label: 42 },
      type: 'normal',
      priority: 0,
      nextRunAt: new Date(),
      lastModifiedBy: null,
    });
    const failed = await eventually(() => database.db.collection(JOBS_COLLECTION).findOne({ _id: insertedId, failCount: 1 }));
    expect(failed.failReason).toMatch(/invalid payload: tag/);
    expect(failed.disabled).toBe(true);
    await new Promise((r) => setTimeout(r, 1_200));
    const after = await database.db.collection(JOBS_COLLECTION).findOne({ _id: insertedId });
    expect(after?.failCount).toBe(1);
    expect(await database.db.collection('runs').countDocuments()).toBe(0);
    const line = capture.lines().find((l) => l.msg === 'job payload is invalid: the job is disabled and will not run again');
    expect(line).toMatchObject({ level: 'error', job: 'test.record', jobId: String(insertedId) });
  });

  it('retries a transient failure with backoff and then succeeds', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow({ failTimes: 2 })] });
    await herald.scheduler.now('test.record', { tag: 'flaky' });
    await eventually(async () => (await database.db.collection('runs').countDocuments({ tag: 'flaky' })) === 3, 10_000);
    const attempts = await database.db.collection('runs').find({ tag: 'flaky' }).sort({ at: 1 }).toArray();
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    const gap = (attempts[1]?.at as Date).getTime() - (attempts[0]?.at as Date).getTime();
    expect(gap).toBeGreaterThanOrEqual(150);
  });

  it('does not retry a permanent failure', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow({ failTimes: 5, permanent: true })] });
    await herald.scheduler.now('test.record', { tag: 'refused' });
    await eventually(() => database.db.collection(JOBS_COLLECTION).findOne({ name: 'test.record', failCount: 1 }));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await database.db.collection('runs').countDocuments({ tag: 'refused' })).toBe(1);
  });

  it('cancels scheduled jobs by name and payload', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()] });
    const later = new Date(Date.now() + 60_000);
    await herald.scheduler.at(later, 'test.record', { tag: 'keep' });
    await herald.scheduler.at(later, 'test.record', { tag: 'drop' });
    expect(await herald.scheduler.cancel('test.record', { tag: 'drop' })).toBe(1);
    await herald.scheduler.at(new Date(Date.now() + 1_000), 'test.record', { tag: 'drop-soon' });
    expect(await herald.scheduler.cancel('test.record', { tag: 'drop-soon' })).toBe(1);
    const left = await scheduledJobs(database.db, { name: 'test.record' });
    expect(left.map((j) => j.data.tag)).toEqual(['keep']);
  });

  it('keeps one recurring job per payload: asked again, it changes its interval in place', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()] });
    await herald.scheduler.everyFor('10 minutes', 'test.record', { tag: 'acc-1' });
    await herald.scheduler.everyFor('10 minutes', 'test.record', { tag: 'acc-2' });
    await herald.scheduler.everyFor('20 minutes', 'test.record', { tag: 'acc-1' });
    const jobs = await database.db.collection(JOBS_COLLECTION).find({ name: 'test.record' }).toArray();
    expect(jobs.map((j) => [(j.data as { tag: string }).tag, j.repeatInterval]).sort()).toEqual([
      ['acc-1', '20 minutes'],
      ['acc-2', '10 minutes'],
    ]);
    // The first run is due at once, and it runs.
    await eventually(async () => (await database.db.collection('runs').countDocuments({ tag: 'acc-2' })) === 1, 10_000);
  });

  it('a job scheduled before a restart runs after it, once', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()] });
    await herald.scheduler.at(new Date(Date.now() + 1_500), 'test.record', { tag: 'survivor' });
    await herald.stop();
    expect(await database.db.collection('runs').countDocuments({ tag: 'survivor' })).toBe(0);
    herald = await startTestHerald({ dbName: database.name, flows: [recordingFlow()] });
    await eventually(() => database.db.collection('runs').findOne({ tag: 'survivor' }), 8_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(await database.db.collection('runs').countDocuments({ tag: 'survivor' })).toBe(1);
  });
});
