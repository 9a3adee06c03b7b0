import { createChatAdapters, createChatDirectory, type ChatDirectory } from './chat/adapters.ts';
import { createDispatcher, type ChatRoutes } from './chat/dispatcher.ts';
import type { ChatAdapter } from './chat/port.ts';
import { createCommandRegistry, type Command } from './chat/registry.ts';
import { createAssistant } from './ai/assistant.ts';
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
import { parseEncryptionKey } from './store/crypto.ts';
import { createStores, type Stores } from './store/stores.ts';

export interface HeraldOptions {
  config: Config;
  log: Logger;
  /** The MongoDB connection string: MONGODB_URI, or the embedded server's. */
  mongoUri: string;
  flows: readonly Flow[];
  /** Chat commands (commands/); registered on every configured platform. */
  commands?: readonly Command[];
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
  readonly chat: ChatDirectory;
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
    const stores = await createStores(mongo.db, clock, config.HERALD_ENCRYPTION_KEY ? { encryptionKey: parseEncryptionKey(config.HERALD_ENCRYPTION_KEY) } : {});
    await stores.accounts.checkKey();
    const scheduler = createScheduler({
      db: mongo.db,
      log,
      metrics,
      pollMs: config.SCHEDULER_POLL_MS,
      maxConcurrency: config.SCHEDULER_MAX_CONCURRENCY,
      horizonMs: config.SCHEDULER_HORIZON_MS,
    });
    const adapterList: ChatAdapter[] = [];
    const chat = createChatDirectory(adapterList);
    const assistant = createAssistant({
      ...(config.OPENAI_MODEL ? { model: config.OPENAI_MODEL } : {}),
      ...(config.OPENAI_BASE_URL ? { baseUrl: config.OPENAI_BASE_URL } : {}),
      ...(config.OPENAI_API_KEY ? { apiKey: config.OPENAI_API_KEY } : {}),
      timeoutMs: config.OPENAI_TIMEOUT_MS,
      log: log.child({ component: 'assistant' }),
    });
    const context: FlowContext = { config, db: mongo.db, stores, scheduler, clock, log, chat, assistant };
    for (const flow of options.flows) for (const job of flow.jobs?.(context) ?? []) scheduler.define(job);
    const registry = createCommandRegistry(options.commands ?? []);
    const routes = mergeRoutes(registry, options.flows.map((flow) => flow.chat?.(context) ?? {}));

    readiness.register('shutdown', () => {
      if (stopping) throw new Error('shutting down');
    });
    readiness.register('mongodb', () => mongo.ping());
    readiness.register('scheduler', () => {
      if (!scheduler.isRunning()) throw new Error('not running');
    });
    const http = await startHttpServer({ host: config.HTTP_HOST, port: config.HTTP_PORT, log, metrics, readiness });
    cleanups.push(() => http.close());

    adapterList.push(...createChatAdapters(config, { log, metrics, mount: (prefix, handler) => http.mount(prefix, handler) }));
    const dispatch = createDispatcher(routes, { log, app: context });
    for (const adapter of adapterList) {
      readiness.register(`chat:${adapter.platform}`, () => {
        if (!adapter.isReady()) throw new Error('not connected');
      });
      cleanups.push(() => adapter.stop());
      // Connecting may take a while when the platform is down; readiness says so meanwhile.
      connectAdapter(adapter, routes, dispatch, log);
    }

    await scheduler.start();
    for (const flow of options.flows) await flow.start?.(context);

    let stopped: Promise<void> | undefined;
    const stop = async (): Promise<void> => {
      stopping = true;
      const started = Date.now();
      for (const flow of options.flows) await flow.stop?.(context).catch((error: unknown) => log.warn({ flow: flow.name, err: errorMessage(error) }, 'flow stop failed'));
      const drained = await scheduler.drain(config.SHUTDOWN_TIMEOUT_MS);
      await closeAll(); // chat adapters, then HTTP, then MongoDB
      log.info({ ms: Date.now() - started, jobsLeftRunning: drained.running }, 'herald stopped');
    };
    log.info({ url: http.url, flows: options.flows.map((f) => f.name), assistant: assistant.mode, chat: adapterList.map((a) => a.platform) }, 'herald started');
    return {
      config,
      http,
      mongo,
      scheduler,
      stores,
      readiness,
      metrics,
      context,
      chat,
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

function connectAdapter(adapter: ChatAdapter, routes: ChatRoutes, dispatch: ReturnType<typeof createDispatcher>, log: Logger): void {
  const { registry, shortcuts = [] } = routes;
  adapter
    .start(dispatch(adapter))
    .then(() => adapter.registerCommands(registry.declarations(), shortcuts.map((s) => s.declaration)))
    .then(() => log.info({ platform: adapter.platform, commands: registry.commands.length }, 'chat platform connected'))
    .catch((error: unknown) => log.error({ platform: adapter.platform, err: error }, 'chat platform failed to connect'));
}

/** Every flow's buttons, forms, shortcuts and listeners in one table; a clash is a start-up error. */
function mergeRoutes(registry: ChatRoutes['registry'], parts: readonly Omit<ChatRoutes, 'registry'>[]): ChatRoutes {
  const actions: NonNullable<ChatRoutes['actions']> = {};
  const forms: NonNullable<ChatRoutes['forms']> = {};
  const shortcuts: NonNullable<ChatRoutes['shortcuts']>[number][] = [];
  const listeners: NonNullable<ChatRoutes['listeners']>[number][] = [];
  for (const part of parts) {
    for (const [flow, handler] of Object.entries(part.actions ?? {})) {
      if (actions[flow]) throw new Error(`two flows answer actions of "${flow}"`);
      actions[flow] = handler;
    }
    for (const [flow, handler] of Object.entries(part.forms ?? {})) {
      if (forms[flow]) throw new Error(`two flows answer forms of "${flow}"`);
      forms[flow] = handler;
    }
    shortcuts.push(...(part.shortcuts ?? []));
    listeners.push(...(part.listeners ?? []));
  }
  return { registry, actions, forms, shortcuts, listeners };
}
