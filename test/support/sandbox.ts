import { MongoClient } from 'mongodb';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import { loadConfig } from '../../src/config.ts';
import type { Logger } from '../../src/log.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { testMongoUri, uniqueDbName } from './mongo.ts';

/** A whole sandbox in this process against the test server, its page on a free port. */
export async function startTestSandbox(log: Logger, env: Record<string, string> = {}): Promise<{ sandbox: Sandbox; stop(): Promise<void> }> {
  const dbName = uniqueDbName('sbx');
  const sandbox = await startSandbox({
    config: loadConfig({ NODE_ENV: 'test', MONGODB_DB: dbName, SCHEDULER_POLL_MS: '250', ...env }),
    log,
    mongoUri: testMongoUri(),
    flows: allFlows,
    commands: allCommands,
    port: 0,
  });
  return {
    sandbox,
    async stop() {
      await sandbox.stop();
      const client = await MongoClient.connect(testMongoUri());
      await client.db(`${dbName}_sandbox`).dropDatabase();
      await client.close();
    },
  };
}
