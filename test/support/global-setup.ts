import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../src/store/embedded.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    mongoKind: string;
  }
}

/**
 * One real MongoDB-compatible server for the whole run: MONGODB_URI when set, else mongod on PATH,
 * else FerretDB on PATH (SQLite in a temp folder), else mongodb-memory-server. Every test file then
 * works in a database of its own (test/support/mongo.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.MONGODB_URI;
  if (fromEnv) {
    project.provide('mongoUri', fromEnv);
    project.provide('mongoKind', 'MONGODB_URI');
    return async () => undefined;
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'herald-test-db-'));
  let server: EmbeddedMongo;
  try {
    server = await startEmbeddedMongo({ dataDir });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`The tests need a MongoDB-compatible server.\n${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  process.stderr.write(`test database: ${server.kind} at ${server.uri}\n`);
  project.provide('mongoUri', server.uri);
  project.provide('mongoKind', server.kind);
  return async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
