import { startHerald, type Herald } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { Command } from '../../src/chat/registry.ts';
import type { Flow } from '../../src/flow.ts';
import { createLogger, type Logger } from '../../src/log.ts';
export { captureLogger } from './log.ts';
import { testMongoUri } from './mongo.ts';

export interface TestHeraldOptions {
  dbName: string;
  flows?: readonly Flow[];
  commands?: readonly Command[];
  env?: Record<string, string>;
  log?: Logger;
  clock?: Clock;
  mongoUri?: string;
}

/** Starts a whole Herald in this process against the test server, on a free port, polling fast. */
export async function startTestHerald(options: TestHeraldOptions): Promise<Herald> {
  const config = loadConfig({
    NODE_ENV: 'test',
    HTTP_PORT: '0',
    MONGODB_DB: options.dbName,
    // Agenda polls once per job name per interval (15 names: 60 lookups a second at 250 ms); the
    // suite's Heralds share one FerretDB, which a 100 ms poll saturates.
    SCHEDULER_POLL_MS: '250',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...options.env,
  });
  return startHerald({
    config,
    log: options.log ?? createLogger({ level: 'silent', format: 'json' }),
    mongoUri: options.mongoUri ?? testMongoUri(),
    flows: options.flows ?? [],
    commands: options.commands ?? [],
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

/** Polls until the check returns a truthy value or the time runs out. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
