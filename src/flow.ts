import type { Db } from 'mongodb';
import type { Assistant } from './ai/assistant.ts';
import type { ChatDirectory } from './chat/adapters.ts';
import type { ChatRoutes } from './chat/dispatcher.ts';
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
  /** The connected chat platforms (empty until they are configured). */
  readonly chat: ChatDirectory;
  readonly assistant: Assistant;
}

/**
 * A workflow (approval, publishing, inbox, crisis, digest...). It owns its jobs and its state
 * transitions; everything it needs later is in MongoDB, so a restart loses nothing.
 */
export interface Flow {
  readonly name: string;
  jobs?(context: FlowContext): readonly JobDefinition[];
  /** The buttons, forms, shortcuts and conversation events this flow answers. */
  chat?(context: FlowContext): Omit<ChatRoutes, 'registry'>;
  /** Runs once the scheduler is up: schedule recurring jobs here (idempotent across restarts). */
  start?(context: FlowContext): Promise<void>;
  /** Runs when Herald stops, before the jobs drain: close what start() or the jobs opened (sockets, timers). */
  stop?(context: FlowContext): Promise<void>;
}

export function defineFlow(flow: Flow): Flow {
  return flow;
}
