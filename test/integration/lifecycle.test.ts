import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Herald } from '../../src/app.ts';
import { defineFlow } from '../../src/flow.ts';
import { defineJob } from '../../src/jobs/scheduler.ts';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../src/store/embedded.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

const slowFlow = defineFlow({
  name: 'slow',
  jobs: ({ db }) => [
    defineJob({
      name: 'test.slow',
      schema: z.object({ ms: z.number().int().positive(), tag: z.string() }),
      async handler({ ms, tag }) {
        await db.collection('slow').insertOne({ tag, phase: 'started', at: new Date() });
        await new Promise((r) => setTimeout(r, ms));
        await db.collection('slow').insertOne({ tag, phase: 'finished', at: new Date() });
      },
    }),
  ],
});

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

describe('lifecycle', () => {
  let database: TestDatabase;
  let herald: Herald | undefined;
  beforeEach(async () => {
    database = await openTestDatabase('life');
  });
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    await database.cleanup();
  });

  it('graceful shutdown waits for a running job to finish, then closes', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [slowFlow] });
    await herald.scheduler.now('test.slow', { ms: 1_200, tag: 'drain' });
    await eventually(() => database.db.collection('slow').findOne({ tag: 'drain', phase: 'started' }));
    const started = Date.now();
    await herald.stop();
    herald = undefined;
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(await database.db.collection('slow').findOne({ tag: 'drain', phase: 'finished' })).not.toBeNull();
  });

  it('shutdown is bounded: a job longer than SHUTDOWN_TIMEOUT_MS does not hold the process', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [slowFlow], env: { SHUTDOWN_TIMEOUT_MS: '500' } });
    await herald.scheduler.now('test.slow', { ms: 5_000, tag: 'long' });
    await eventually(() => database.db.collection('slow').findOne({ tag: 'long', phase: 'started' }));
    const started = Date.now();
    await herald.stop();
    herald = undefined;
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await database.db.collection('slow').findOne({ tag: 'long', phase: 'finished' })).toBeNull();
  });

  it('stops taking new work once shutdown begins and answers 503 on /readyz meanwhile', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [slowFlow] });
    const url = herald.http.url;
    await herald.scheduler.now('test.slow', { ms: 1_000, tag: 'first' });
    await eventually(() => database.db.collection('slow').findOne({ tag: 'first', phase: 'started' }));
    const stopping = herald.stop();
    await herald.scheduler.now('test.slow', { ms: 10, tag: 'late' }).catch(() => undefined);
    const during = await get(`${url}/readyz`);
    expect(during.status).toBe(503);
    expect(during.body).toContain('shutting down');
    await stopping;
    herald = undefined;
    expect(await database.db.collection('slow').findOne({ tag: 'late' })).toBeNull();
  });

  it('serves /healthz, /metrics and 404s', async () => {
    herald = await startTestHerald({ dbName: database.name, flows: [slowFlow] });
    await herald.scheduler.now('test.slow', { ms: 1, tag: 'm' });
    await eventually(() => database.db.collection('slow').findOne({ tag: 'm', phase: 'finished' }));
    expect(await get(`${herald.http.url}/healthz`)).toEqual({ status: 200, body: '{"status":"ok"}' });
    const metrics = await eventually(async () => {
      const m = await get(`${herald?.http.url}/metrics`);
      return m.body.includes('herald_jobs_run_total{job="test.slow"} 1') ? m : undefined;
    });
    expect(metrics.body).toContain('# TYPE herald_jobs_failed_total counter');
    expect(metrics.body).toContain('# TYPE herald_event_handling_seconds histogram');
    expect(metrics.body).toContain('# TYPE herald_mongodb_errors_total counter');
    expect((await get(`${herald.http.url}/nope`)).status).toBe(404);
  });
});

describe('readiness follows MongoDB', () => {
  let server: EmbeddedMongo | undefined;
  let dataDir: string;
  let herald: Herald | undefined;
  afterEach(async () => {
    await herald?.stop();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('turns 503 naming mongodb when the database stops, and 200 again when it is back', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'herald-ready-'));
    server = await startEmbeddedMongo({ dataDir, only: 'ferretdb' });
    const port = server.port;
    herald = await startTestHerald({ dbName: 'ready', mongoUri: server.uri });
    const url = `${herald.http.url}/readyz`;
    expect((await get(url)).status).toBe(200);

    await server.stop();
    const down = await eventually(async () => {
      const r = await get(url);
      return r.status === 503 ? r : undefined;
    });
    const report = JSON.parse(down.body) as { checks: { name: string; ok: boolean }[] };
    expect(report.checks.find((c) => c.name === 'mongodb')?.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'scheduler')?.ok).toBe(true);
    expect((await get(`${herald.http.url}/healthz`)).status).toBe(200);

    server = await startEmbeddedMongo({ dataDir, only: 'ferretdb', port });
    await eventually(async () => (await get(url)).status === 200, 20_000, 200);
    const errors = await herald.metrics.registry.getSingleMetricAsString('herald_mongodb_errors_total');
    expect(errors).toMatch(/herald_mongodb_errors_total\{kind="ping"\} [1-9]/);
  });
});
