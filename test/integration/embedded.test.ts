import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedMongoUnavailable, findOnPath, startEmbeddedMongo } from '../../src/store/embedded.ts';

describe('embedded MongoDB-compatible server', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'herald-emb-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('keeps its data across a restart (persistent folder)', async () => {
    const first = await startEmbeddedMongo({ dataDir, only: 'ferretdb' });
    const client = await MongoClient.connect(first.uri);
    await client.db('persist').collection('c').insertOne({ _id: 'kept' as never });
    await client.close();
    await first.stop();
    const second = await startEmbeddedMongo({ dataDir, only: 'ferretdb' });
    const again = await MongoClient.connect(second.uri);
    expect(await again.db('persist').collection('c').findOne({ _id: 'kept' as never })).not.toBeNull();
    await again.close();
    await second.stop();
  });

  it('says what it tried and how to get a server when none can start', async () => {
    const error = await startEmbeddedMongo({ dataDir, only: 'mongod' }).catch((e: unknown) => e);
    if (await findOnPath('mongod')) return; // a machine with mongod has nothing to report here
    expect(error).toBeInstanceOf(EmbeddedMongoUnavailable);
    expect((error as Error).message).toContain('mongod: not installed');
    expect((error as Error).message).toContain('MONGODB_URI');
    expect((error as Error).message).toContain('ferretdb@v1.24.2');
  });

  it('finds programs on PATH only where they are executable', async () => {
    expect(await findOnPath('sh')).toMatch(/\/sh$/);
    expect(await findOnPath('surely-not-a-real-program-name')).toBeUndefined();
    expect(await findOnPath('ferretdb', '')).toBeUndefined();
  });
});
