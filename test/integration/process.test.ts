import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/store/embedded.ts';
import { createStores } from '../../src/store/stores.ts';
import { JOBS_COLLECTION } from '../../src/jobs/scheduler.ts';
import { JobNames } from '../../src/jobs/names.ts';
import { openTestDatabase, testMongoUri, type TestDatabase } from '../support/mongo.ts';
import { spawnHerald, type HeraldProcess } from '../support/process.ts';
import { eventually } from '../support/herald.ts';

/** Herald as a real operating-system process, started the way `npm start` starts it. */
describe('the Herald process', () => {
  let database: TestDatabase;
  const running: HeraldProcess[] = [];
  beforeEach(async () => {
    database = await openTestDatabase('proc');
  });
  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.child.exitCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
    await database.cleanup();
  });

  const start = (env: Record<string, string> = {}): HeraldProcess => {
    const p = spawnHerald({ MONGODB_URI: testMongoUri(), MONGODB_DB: database.name, HTTP_PORT: '0', SCHEDULER_POLL_MS: '200', ...env });
    running.push(p);
    return p;
  };

  it('refuses a bad configuration with exit code 2 and one message listing every problem, no stack trace', async () => {
    const p = start({ HTTP_PORT: 'eighty', LOG_LEVEL: 'chatty' });
    const { code } = await p.exited;
    expect(code).toBe(2);
    expect(p.stderr()).toContain('HTTP_PORT is "eighty"');
    expect(p.stderr()).toContain('LOG_LEVEL is "chatty"');
    expect(p.stderr()).toContain('2 problem(s)');
    expect(p.stderr()).not.toMatch(/\n\s+at /);
  });

  it('exits 0 on SIGTERM after draining, and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const p = start();
      await p.waitForLine((l) => l.msg === 'herald started');
      p.child.kill(signal);
      expect((await p.exited).code).toBe(0);
      expect(p.lines().some((l) => l.msg === 'herald stopped')).toBe(true);
    }
  });

  it('a SIGTERM while it is still starting lets the start finish, then stops cleanly (exit 0)', async () => {
    const p = start({ LOG_LEVEL: 'info' });
    await p.waitForLine((l) => l.msg === 'connecting to MongoDB');
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    const messages = p.lines().map((l) => l.msg);
    expect(messages.indexOf('herald started')).toBeGreaterThan(-1);
    expect(messages.indexOf('herald stopped')).toBeGreaterThan(messages.indexOf('herald started'));
  });

  it('a job scheduled while one process runs is done by the next process after a restart, once', async () => {
    const first = start();
    await first.waitForLine((l) => l.msg === 'herald started');
    // An old finished side effect that the retention job must delete.
    const stores = await createStores(database.db, { now: () => new Date('2020-01-01T00:00:00Z') });
    await stores.ledger.begin('old-entry', 'publish');
    await stores.ledger.complete('old-entry', {});
    const due = new Date(Date.now() + 2_500);
    const { insertedId } = await database.db.collection(JOBS_COLLECTION).insertOne({
      name: JobNames.ledgerPurge,
      data: { retentionDays: 30 },
      type: 'normal',
      priority: 0,
      nextRunAt: due,
      lastModifiedBy: null,
    });
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    expect(await stores.ledger.get('old-entry')).not.toBeNull();

    const second = start();
    const done = await second.waitForLine((l) => l.msg === 'job done' && l.jobId === String(insertedId));
    expect(done.job).toBe(JobNames.ledgerPurge);
    expect(await stores.ledger.get('old-entry')).toBeNull();
    await new Promise((r) => setTimeout(r, 800));
    expect(second.lines().filter((l) => l.msg === 'job done' && l.jobId === String(insertedId))).toHaveLength(1);
    expect(first.lines().some((l) => l.jobId === String(insertedId))).toBe(false);
    const job = await database.db.collection(JOBS_COLLECTION).findOne({ _id: insertedId });
    expect(job?.lastFinishedAt).toBeInstanceOf(Date);
  });

  it('without MONGODB_URI it starts an embedded database, says which, and stops it on exit', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'herald-embedded-'));
    try {
      const p = spawnHerald({ HTTP_PORT: '0', HERALD_DATA_DIR: dataDir });
      running.push(p);
      const line = await p.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('MONGODB_URI is not set'));
      const expected = (await findOnPath('mongod')) ? 'mongod' : (await findOnPath('ferretdb')) ? 'ferretdb' : 'mongodb-memory-server';
      expect(line.kind).toBe(expected);
      expect(line.dataDir).toBe(path.join(dataDir, expected));
      const started = await p.waitForLine((l) => l.msg === 'herald started');
      const ready = await eventually(async () => (await fetch(`${String(started.url)}/readyz`)).status === 200);
      expect(ready).toBe(true);
      p.child.kill('SIGTERM');
      expect((await p.exited).code).toBe(0);
      const { port } = new URL(String(line.uri));
      const stillListening = await new Promise<boolean>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      expect(stillListening).toBe(false);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
