import { MongoClient, type Db } from 'mongodb';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

export interface MongoConnection {
  readonly client: MongoClient;
  readonly db: Db;
  /** Resolves when the server answers a ping within timeoutMs; rejects with the reason otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface MongoOptions {
  uri: string;
  dbName: string;
  log: Logger;
  metrics: Metrics;
  serverSelectionTimeoutMs?: number;
}

export async function connectMongo(options: MongoOptions): Promise<MongoConnection> {
  const client = new MongoClient(options.uri, {
    appName: 'herald',
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 10_000,
    monitorCommands: true,
  });
  // Every failed command and lost heartbeat is counted, so a flapping database shows on /metrics
  // before it shows as failed jobs.
  client.on('commandFailed', (event) => {
    options.metrics.mongoErrors.inc({ kind: 'command' });
    options.log.debug({ command: event.commandName, failure: String(event.failure) }, 'mongodb command failed');
  });
  client.on('serverHeartbeatFailed', () => options.metrics.mongoErrors.inc({ kind: 'heartbeat' }));
  await client.connect();
  const db = client.db(options.dbName);
  return {
    client,
    db,
    async ping(timeoutMs = 2_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([db.command({ ping: 1 }), timeout]);
      } catch (error) {
        options.metrics.mongoErrors.inc({ kind: 'ping' });
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => client.close(),
  };
}
