import type { Db } from 'mongodb';
import { createAssistant, type Assistant } from '../../src/ai/assistant.ts';
import { createChatDirectory } from '../../src/chat/adapters.ts';
import type { ChatAdapter } from '../../src/chat/port.ts';
import { loadConfig } from '../../src/config.ts';
import { systemClock, type Clock } from '../../src/core/clock.ts';
import type { FlowContext } from '../../src/flow.ts';
import { createScheduler } from '../../src/jobs/scheduler.ts';
import type { Logger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createStores } from '../../src/store/stores.ts';

/** A real FlowContext on a test database, for tests that drive one layer without a whole Herald. */
export async function testFlowContext(db: Db, options: { log: Logger; adapters?: ChatAdapter[]; assistant?: Assistant; clock?: Clock }): Promise<FlowContext> {
  const clock = options.clock ?? systemClock;
  return {
    config: loadConfig({ NODE_ENV: 'test' }),
    db,
    stores: await createStores(db, clock),
    scheduler: createScheduler({ db, log: options.log, metrics: createMetrics({ defaultMetrics: false }), pollMs: 100, maxConcurrency: 5 }),
    clock,
    log: options.log,
    chat: createChatDirectory(options.adapters ?? []),
    assistant: options.assistant ?? createAssistant({ log: options.log }),
  };
}
