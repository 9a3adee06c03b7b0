import { allCommands } from '../commands/index.ts';
import { allFlows } from '../flows/index.ts';
import { startHerald } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger, redactUri, type Logger } from './log.ts';
import { startSandbox } from './sandbox/index.ts';
import { startEmbeddedMongo, type EmbeddedMongo } from './store/embedded.ts';

/** Wiring only: config → database → Herald (or the sandbox) → signals. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Without chat credentials there is nothing to talk to: the sandbox shows Herald in a browser.
  // Never by itself in production, where missing credentials are a mistake to report, not a demo.
  const sandbox =
    process.argv.includes('--sandbox') ||
    config.HERALD_SANDBOX === 'on' ||
    (config.HERALD_SANDBOX === 'auto' && config.NODE_ENV !== 'production' && !config.SLACK_BOT_TOKEN && !config.DISCORD_TOKEN);
  const log = createLogger({
    level: config.LOG_LEVEL ?? (sandbox ? 'warn' : 'info'),
    format: config.LOG_FORMAT ?? (config.NODE_ENV === 'development' ? 'pretty' : 'json'),
  });
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));

  let embedded: EmbeddedMongo | undefined;
  let mongoUri = config.MONGODB_URI;
  if (!mongoUri) {
    embedded = await startEmbeddedMongo({ dataDir: config.HERALD_DATA_DIR });
    mongoUri = embedded.uri;
    log.info({ kind: embedded.kind, uri: embedded.uri, dataDir: embedded.dataDir }, `MONGODB_URI is not set: using an embedded ${embedded.kind}`);
  } else {
    log.info({ uri: redactUri(mongoUri) }, 'connecting to MongoDB');
  }

  // Signals are heard from here on: one that arrives while Herald is still starting (a rolling
  // deploy) waits for the start to finish, then stops it as usual, instead of killing it mid-way.
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    log.info({ signal }, 'shutting down: no new work, draining running jobs');
    started
      .then((running) => running.stop())
      .then(() => embedded?.stop())
      .then(() => exitAfterFlush(log, 0))
      .catch((error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        exitAfterFlush(log, 1);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  const started: Promise<{ stop(): Promise<void> }> = (async () => {
    try {
      if (sandbox) {
        const running = await startSandbox({ config, log, mongoUri, flows: allFlows, commands: allCommands, port: config.SANDBOX_PORT });
        process.stdout.write(`Herald sandbox: open ${running.url}/ (no Slack or Discord credentials set; Ctrl+C stops it)\n`);
        return running;
      }
      if (!config.SLACK_BOT_TOKEN && !config.DISCORD_TOKEN) log.warn('no Slack or Discord credentials: Herald runs its jobs but no chat platform (see README: Slack app, Discord application)');
      return await startHerald({ config, log, mongoUri, flows: allFlows, commands: allCommands });
    } catch (error) {
      await embedded?.stop();
      throw error;
    }
  })();
  await started;
}

function exitAfterFlush(log: Logger, code: number): void {
  log.flush(() => process.exit(code));
}

main().catch((error: unknown) => {
  process.stderr.write(`Herald failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
