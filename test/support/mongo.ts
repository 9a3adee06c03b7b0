import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { inject } from 'vitest';

export function testMongoUri(): string {
  return inject('mongoUri');
}

/** A database name no other test file uses. */
export function uniqueDbName(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface TestDatabase {
  readonly client: MongoClient;
  readonly db: Db;
  readonly name: string;
  /** Drops the database and closes the client. */
  cleanup(): Promise<void>;
}

export async function openTestDatabase(prefix?: string): Promise<TestDatabase> {
  const name = uniqueDbName(prefix);
  const client = await MongoClient.connect(testMongoUri(), { serverSelectionTimeoutMS: 5_000 });
  const db = client.db(name);
  return {
    client,
    db,
    name,
    async cleanup() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}
