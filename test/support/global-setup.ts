import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../src/store/embedded.ts';
import { startBlueskyNetwork, type BlueskyNetworkUrls, type RunningBlueskyNetwork } from './bluesky-network.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    mongoKind: string;
    /** The local Bluesky network's URLs, or why it is not there (test/support/bluesky-network.ts). */
    blueskyNetwork: ({ ok: true } & BlueskyNetworkUrls) | { ok: false; error: string };
  }
}

/**
 * One real MongoDB-compatible server for the whole run: MONGODB_URI when set, else mongod on PATH,
 * else FerretDB on PATH (SQLite in a temp folder), else mongodb-memory-server. Every test file then
 * works in a database of its own (test/support/mongo.ts).
 *
 * The local Bluesky network (6–10 s, ~500 MiB) starts alongside, once, and only when a test file of
 * this run injects `blueskyNetwork`. HERALD_BLUESKY_NETWORK=always|never overrides that choice.
 * When it cannot start, the run goes on and the Bluesky tests fail with the reason.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [mongo, bluesky] = await Promise.all([setupMongo(project), setupBluesky(project)]);
  return async () => {
    await Promise.all([mongo(), bluesky()]);
  };
}

async function setupMongo(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.MONGODB_URI;
  if (fromEnv) {
    project.provide('mongoUri', fromEnv);
    project.provide('mongoKind', 'MONGODB_URI');
    return async () => undefined;
  }
  // In memory where the machine has a tmpfs: the test database is thrown away anyway, and SQLite's
  // syncs to disk would otherwise dominate every write FerretDB makes.
  const base = (await access('/dev/shm', constants.W_OK).then(() => true, () => false)) ? '/dev/shm' : tmpdir();
  const dataDir = await mkdtemp(path.join(base, 'herald-test-db-'));
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

/** Whether a test file selected for this run uses the Bluesky network. */
async function runNeedsBluesky(project: TestProject): Promise<boolean> {
  const choice = process.env.HERALD_BLUESKY_NETWORK;
  if (choice === 'always') return true;
  if (choice === 'never') return false;
  // The CLI's file filters (`vitest run test/unit`); vitest keeps them on its (internal) field.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  const { testFiles } = await project.globTestFiles(filters);
  for (const file of testFiles) {
    if ((await readFile(file, 'utf8').catch(() => '')).includes('blueskyNetwork')) return true;
  }
  return false;
}

async function setupBluesky(project: TestProject): Promise<() => Promise<void>> {
  if (!(await runNeedsBluesky(project))) {
    project.provide('blueskyNetwork', { ok: false, error: 'The local Bluesky network was not started for this run (no selected test file uses it; HERALD_BLUESKY_NETWORK=always starts it).' });
    return async () => undefined;
  }
  let network: RunningBlueskyNetwork;
  try {
    network = await startBlueskyNetwork();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`bluesky network: not started: ${message}\n`);
    project.provide('blueskyNetwork', { ok: false, error: message });
    return async () => undefined;
  }
  process.stderr.write(`bluesky network: PDS ${network.pds}, AppView ${network.appview} (pid ${network.pid}, ready in ${network.startMs} ms)\n`);
  const { pds, appview, plc, control } = network;
  project.provide('blueskyNetwork', { ok: true, pds, appview, plc, control });
  return () => network.stop();
}
