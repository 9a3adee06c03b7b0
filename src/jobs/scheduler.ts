import { Agenda, backoffStrategies } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { ObjectId, type Db } from 'mongodb';
import type { z } from 'zod';
import { AppError, errorMessage } from '../core/errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { isDuplicateKeyError } from '../store/indexes.ts';
import type { JobName } from './names.ts';

/** What a handler knows about the run it is in. */
export interface JobContext {
  readonly jobId: string;
  /** 1 on the first run, 2 on the first retry, and so on. */
  readonly attempt: number;
  readonly log: Logger;
}

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  readonly name: JobName;
  readonly schema: S;
  readonly handler: (data: z.output<S>, context: JobContext) => Promise<void>;
  /** Retries for transient failures; a PermanentJobError is never retried. None when absent. */
  readonly retry?: { maxRetries: number; delayMs: number; maxDelayMs?: number };
  readonly concurrency?: number;
  /** How long a run may hold its lock before another replica may take the job over. */
  readonly lockLifetimeMs?: number;
  /** Deletes a one-off job's document once it succeeded (jobs created often, e.g. per fetch). */
  readonly removeOnComplete?: boolean;
}

/** Keeps the payload type of a definition while letting a list of them have one type. */
export function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  return definition;
}

/** A failure that another attempt cannot fix (bad payload, revoked credentials, refused content). */
export class PermanentJobError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('job_permanent_failure', message, options);
    this.name = 'PermanentJobError';
  }
}

export interface Scheduler {
  define<S extends z.ZodType>(definition: JobDefinition<S>): void;
  /** Runs the job once at `when`; returns the job id. */
  at(when: Date, name: JobName, data: unknown): Promise<string>;
  /** Runs the job now (as soon as a worker is free); returns the job id. */
  now(name: JobName, data: unknown): Promise<string>;
  /** One recurring job per name, replaced when called again. Interval: cron or "5 minutes". */
  every(interval: string, name: JobName, data: unknown, options?: { timezone?: string }): Promise<string>;
  /**
   * One recurring job per name and payload (an account's inbox fetch, say), created or updated in
   * place; the first run is due at once. The payload must be flat: it is the job's identity.
   */
  everyFor(interval: string, name: JobName, data: Record<string, string | number | boolean>): Promise<string>;
  /** Removes scheduled jobs by name, and by payload fields when given. */
  cancel(name: JobName, data?: Record<string, unknown>): Promise<number>;
  /**
   * Moves the jobs of `jobs_later` due within the horizon (from `at`, now by default) into Agenda's
   * queue; runs by itself every third of the horizon. Returns how many moved.
   */
  release(at?: Date): Promise<number>;
  start(): Promise<void>;
  /** Stops taking new jobs and waits up to timeoutMs for running ones. */
  drain(timeoutMs: number): Promise<{ timedOut: boolean; running: number }>;
  isRunning(): boolean;
}

export interface SchedulerOptions {
  db: Db;
  log: Logger;
  metrics: Metrics;
  pollMs: number;
  maxConcurrency: number;
  /** Identifies this replica in job documents (lastModifiedBy). */
  name?: string;
  /** One-off jobs due further ahead than this wait in jobs_later (default 30 s). */
  horizonMs?: number;
}

/** A one-off job due beyond the horizon: Agenda's shape, until it moves into Agenda's collection. */
interface LaterJob {
  _id: ObjectId;
  name: string;
  data: unknown;
  runAt: Date;
}

export const JOBS_COLLECTION = 'jobs';
/**
 * One-off jobs due beyond the horizon. Agenda polls once per job name and interval and locks with
 * a query over its whole collection; tomorrow's posts and next week's metric snapshots would make
 * every poll pay for them (on FerretDB, which has no indexes but _id, 120 posts in 30 s stopped
 * keeping time once their 360 snapshot jobs were queued). They wait here, and move in shortly before.
 */
export const LATER_COLLECTION = 'jobs_later';
/** Runs of one job name at once when its definition does not say. */
const DEFAULT_CONCURRENCY = 5;
/** How many jobs of one name a process holds locked (running or about to): twice what may run. */
export const lockLimitFor = (definition: Pick<JobDefinition, 'concurrency'>): number => 2 * (definition.concurrency ?? DEFAULT_CONCURRENCY);
const DEFAULT_LOCK_LIFETIME_MS = 120_000;

/**
 * Agenda starts a poll every interval even while the previous one is still locking jobs (it sets
 * `isJobQueueFilling` but never reads it). When a lock query takes longer than the interval (FerretDB
 * scans the collection for each), polls pile up, each one's queries slow the others, and past a few
 * posts a second nothing runs any more. Here a poll starts only once the previous one has finished.
 */
function onePollAtATime(agenda: Agenda): void {
  const processor = (agenda as unknown as { jobProcessor?: { process?: () => Promise<void>; isJobQueueFilling?: unknown } }).jobProcessor;
  const poll = processor?.process;
  const filling = processor?.isJobQueueFilling;
  if (!processor || typeof poll !== 'function' || !(filling instanceof Map)) throw new Error('Agenda’s job processor has changed shape: its polls can no longer be kept to one at a time');
  let polling: Promise<void> | undefined;
  processor.process = () => {
    // `filling` also covers the poll Agenda started itself, before this took over.
    if (polling || filling.size > 0) return polling ?? Promise.resolve();
    polling = poll.call(processor).finally(() => {
      polling = undefined;
    });
    return polling;
  };
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { log, metrics } = options;
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: options.db, collection: JOBS_COLLECTION }),
    name: options.name ?? `herald-${process.pid}`,
    processEvery: options.pollMs,
    maxConcurrency: options.maxConcurrency,
    defaultConcurrency: DEFAULT_CONCURRENCY,
    // A lock whose holder died (or that a non-atomic findAndModify stranded) frees up after this;
    // running handlers renew theirs.
    defaultLockLifetime: DEFAULT_LOCK_LIFETIME_MS,
  });
  const definitions = new Map<string, JobDefinition>();
  let running = false;
  const horizonMs = options.horizonMs ?? 30_000;
  const later = options.db.collection<LaterJob>(LATER_COLLECTION);
  const jobs = options.db.collection<{ _id: ObjectId }>(JOBS_COLLECTION);
  let releasing: NodeJS.Timeout | undefined;

  /** Into Agenda's collection under the same _id: a second mover (another replica) is refused by it. */
  async function release(at = new Date()): Promise<number> {
    const due = await later.find({ runAt: { $lte: new Date(at.getTime() + horizonMs) } }).sort({ runAt: 1 }).limit(1_000).toArray();
    let moved = 0;
    for (const job of due) {
      try {
        await jobs.insertOne({ _id: job._id, name: job.name, data: job.data, type: 'normal', priority: 0, nextRunAt: job.runAt, lastModifiedBy: null } as never);
        moved += 1;
      } catch (error) {
        // Moved already (another replica, or a run that stopped before its delete below).
        if (!isDuplicateKeyError(error)) throw error;
      }
      // Only once it is in Agenda's queue: a job is never in neither place. (A cancel landing
      // between the read and the insert lets the job through: handlers check the state they act
      // on, and publishing.due the time it was scheduled for.)
      await later.deleteOne({ _id: job._id });
    }
    return moved;
  }
  // One move at a time: on a slow database a move can outlast the interval, and a second one
  // would insert (and be refused) and delete every job the first is still moving.
  let moving: Promise<unknown> | undefined;
  const releaseQuietly = (): void => {
    moving ??= release()
      .catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'could not move upcoming jobs into the scheduler’s queue; trying again'))
      .finally(() => {
        moving = undefined;
      });
  };

  agenda.on('error', (error: Error) => log.error({ err: error }, 'scheduler error'));

  const validated = (name: JobName, data: unknown): unknown => {
    const definition = definitions.get(name);
    if (!definition) throw new AppError('unknown_job', `no job is defined under the name ${name}`);
    const parsed = definition.schema.safeParse(data);
    if (!parsed.success) {
      throw new AppError('invalid_job_payload', `payload for ${name} is invalid: ${parsed.error.message}`);
    }
    return parsed.data;
  };

  return {
    define(definition) {
      definitions.set(definition.name, definition as unknown as JobDefinition);
      const retry = definition.retry;
      agenda.define(
        definition.name,
        async (job) => {
          const jobId = String(job.attrs._id);
          const attempt = (job.attrs.failCount ?? 0) + 1;
          const jobLog = log.child({ job: definition.name, jobId, attempt });
          const parsed = definition.schema.safeParse(job.attrs.data);
          if (!parsed.success) {
            metrics.jobsFailed.inc({ job: definition.name, reason: 'invalid_payload' });
            jobLog.error({ issues: parsed.error.issues }, 'job payload is invalid: the job is disabled and will not run again');
            await agenda.disable({ id: jobId });
            throw new PermanentJobError(`invalid payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`);
          }
          const started = performance.now();
          // A live run keeps renewing its lock, so a short lock lifetime only frees the jobs of a
          // replica that died (it is how a crashed publish gets reconciled quickly).
          const lifetime = definition.lockLifetimeMs ?? DEFAULT_LOCK_LIFETIME_MS;
          const keepAlive = setInterval(() => {
            job.touch().catch((error: unknown) => jobLog.warn({ err: errorMessage(error) }, 'could not renew the job lock'));
          }, Math.max(1_000, Math.floor(lifetime / 3)));
          try {
            await definition.handler(parsed.data, { jobId, attempt, log: jobLog });
            metrics.jobsRun.inc({ job: definition.name });
            jobLog.info({ ms: Math.round(performance.now() - started) }, 'job done');
          } catch (error) {
            metrics.jobsFailed.inc({ job: definition.name, reason: 'error' });
            const permanent = error instanceof PermanentJobError || !retry || attempt > retry.maxRetries;
            jobLog.error({ err: error, permanent }, permanent ? 'job failed' : 'job failed, will retry');
            throw error;
          } finally {
            clearInterval(keepAlive);
          }
        },
        {
          concurrency: definition.concurrency ?? DEFAULT_CONCURRENCY,
          // Agenda runs nothing until its poll has locked every job of a name due before the next
          // poll, one query each; when jobs fall due faster than the database answers such a query
          // that never ends and nothing runs at all. Locking at most twice what may run bounds it.
          lockLimit: lockLimitFor(definition),
          lockLifetime: definition.lockLifetimeMs ?? DEFAULT_LOCK_LIFETIME_MS,
          ...(definition.removeOnComplete ? { removeOnComplete: true } : {}),
          ...(retry
            ? {
                backoff: backoffStrategies.when(
                  (context) => !(context.error instanceof PermanentJobError),
                  backoffStrategies.exponential({ delay: retry.delayMs, maxRetries: retry.maxRetries, maxDelay: retry.maxDelayMs ?? 3_600_000, jitter: 0.1 }),
                ),
              }
            : {}),
        },
      );
    },
    async at(when, name, data) {
      const payload = validated(name, data);
      if (when.getTime() - Date.now() > horizonMs) {
        const _id = new ObjectId();
        await later.insertOne({ _id, name, data: payload, runAt: when });
        return String(_id);
      }
      const job = await agenda.schedule(when, name, payload);
      return String(job.attrs._id);
    },
    async now(name, data) {
      const job = await agenda.now(name, validated(name, data));
      return String(job.attrs._id);
    },
    async every(interval, name, data, everyOptions) {
      const job = await agenda.every(interval, name, validated(name, data), {
        ...(everyOptions?.timezone ? { timezone: everyOptions.timezone } : {}),
        skipImmediate: true,
      });
      return String(job.attrs._id);
    },
    async everyFor(interval, name, data) {
      const payload = validated(name, data) as Record<string, unknown>;
      // The whole payload as one sub-document (never dotted keys: FerretDB refuses them in documents).
      const job = agenda.create(name, payload).unique({ data: payload }).repeatEvery(interval, { skipImmediate: false });
      await job.save();
      return String(job.attrs._id);
    },
    async cancel(name, data) {
      // By payload fields, as Agenda matches them: data.<field> for each one given.
      const waiting = await later.deleteMany({ name, ...Object.fromEntries(Object.entries(data ?? {}).map(([key, value]) => [`data.${key}`, value])) });
      return waiting.deletedCount + (await agenda.cancel(data ? { name, data } : { name }));
    },
    release,
    async start() {
      await later.createIndex({ runAt: 1 }, { name: 'jobs_later_run_at' });
      await agenda.start();
      onePollAtATime(agenda);
      running = true;
      releaseQuietly();
      releasing = setInterval(releaseQuietly, Math.max(1_000, Math.floor(horizonMs / 3)));
      releasing.unref();
    },
    async drain(timeoutMs) {
      clearInterval(releasing);
      if (!running) {
        await moving;
        return { timedOut: false, running: 0 };
      }
      running = false;
      try {
        // Agenda stops polling first; a move in flight is waited for after (the database closes next).
        const result = await agenda.drain(timeoutMs);
        if (result.timedOut) log.warn({ running: result.running }, 'shutdown deadline reached with jobs still running; their locks expire and another replica takes them over');
        return { timedOut: result.timedOut, running: result.running };
      } catch (error) {
        log.error({ err: errorMessage(error) }, 'scheduler drain failed');
        return { timedOut: true, running: -1 };
      } finally {
        await moving;
      }
    },
    isRunning: () => running,
  };
}
