import type { Db } from 'mongodb';
import type { Config } from './config.ts';
import type { Clock } from './core/clock.ts';
import type { JobDefinition, Scheduler } from './jobs/scheduler.ts';
import type { Logger } from './log.ts';
import type { Stores } from './store/stores.ts';

/** What every flow is given: the stores, the scheduler and the time, never a platform. */
export interface FlowContext {
  readonly config: Config;
  readonly db: Db;
  readonly stores: Stores;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * A workflow (approval, publishing, inbox, crisis, digest...). It owns its jobs and its state
 * transitions; everything it needs later is in MongoDB, so a restart loses nothing.
 */
export interface Flow {
  readonly name: string;
  jobs?(context: FlowContext): readonly JobDefinition[];
  /** Runs once the scheduler is up: schedule recurring jobs here (idempotent across restarts). */
  start?(context: FlowContext): Promise<void>;
}

export function defineFlow(flow: Flow): Flow {
  return flow;
}
