import type { Config } from './config.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { errorMessage } from './core/errors.ts';
import type { Flow, FlowContext } from './flow.ts';
import { createReadiness, type Readiness } from './http/readiness.ts';
import { startHttpServer, type HttpServer } from './http/server.ts';
import { createScheduler, type Scheduler } from './jobs/scheduler.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { connectMongo, type MongoConnection } from './store/mongo.ts';
import { createStores, type Stores } from './store/stores.ts';

export interface HeraldOptions {
  config: Config;
  log: Logger;
  /** The MongoDB connection string: MONGODB_URI, or the embedded server's. */
  mongoUri: string;
  flows: readonly Flow[];
  clock?: Clock;
  metrics?: Metrics;
}

/** A running Herald: what tests and main.ts hold on to. */
export interface Herald {
  readonly config: Config;
  readonly http: HttpServer;
  readonly mongo: MongoConnection;
  readonly scheduler: Scheduler;
  readonly stores: Stores;
  readonly readiness: Readiness;
  readonly metrics: Metrics;
  readonly context: FlowContext;
  /** Stops taking work, drains jobs within SHUTDOWN_TIMEOUT_MS, closes everything. Idempotent. */
  stop(): Promise<void>;
}

export async function startHerald(options: HeraldOptions): Promise<Herald> {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? createMetrics();
  const readiness = createReadiness();
  let stopping = false;

  const mongo = await connectMongo({ uri: options.mongoUri, dbName: config.MONGODB_DB, log, metrics });
  const cleanups: (() => Promise<void>)[] = [() => mongo.close()];
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'cleanup failed'));
  };
  try {
    const stores = await createStores(mongo.db, clock);
    const scheduler = createScheduler({
      db: mongo.db,
      log,
      metrics,
      pollMs: config.SCHEDULER_POLL_MS,
      maxConcurrency: config.SCHEDULER_MAX_CONCURRENCY,
    });
    const context: FlowContext = { config, db: mongo.db, stores, scheduler, clock, log };
    for (const flow of options.flows) for (const job of flow.jobs?.(context) ?? []) scheduler.define(job);

    readiness.register('shutdown', () => {
      if (stopping) throw new Error('shutting down');
    });
    readiness.register('mongodb', () => mongo.ping());
    readiness.register('scheduler', () => {
      if (!scheduler.isRunning()) throw new Error('not running');
    });
    const http = await startHttpServer({ host: config.HTTP_HOST, port: config.HTTP_PORT, log, metrics, readiness });
    cleanups.push(() => http.close());

    await scheduler.start();
    for (const flow of options.flows) await flow.start?.(context);

    let stopped: Promise<void> | undefined;
    const stop = async (): Promise<void> => {
      stopping = true;
      const started = Date.now();
      const drained = await scheduler.drain(config.SHUTDOWN_TIMEOUT_MS);
      await closeAll();
      log.info({ ms: Date.now() - started, jobsLeftRunning: drained.running }, 'herald stopped');
    };
    log.info({ url: http.url, flows: options.flows.map((f) => f.name) }, 'herald started');
    return {
      config,
      http,
      mongo,
      scheduler,
      stores,
      readiness,
      metrics,
      context,
      stop() {
        stopped ??= stop();
        return stopped;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
