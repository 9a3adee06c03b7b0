import type { Db, IndexDescription } from 'mongodb';

/**
 * A repository owns one collection and declares its indexes; start-up creates them all before any
 * flow runs, so a unique key is enforced by the database from the first write.
 */
export interface Repository {
  readonly collectionName: string;
  readonly indexes: readonly (IndexDescription & { name: string })[];
}

export async function ensureIndexes(db: Db, repositories: readonly Repository[]): Promise<void> {
  for (const repository of repositories) {
    if (repository.indexes.length === 0) continue;
    const collection = db.collection(repository.collectionName);
    // Only the missing ones: asking again for existing indexes is a no-op on MongoDB but crashes the
    // connection on FerretDB 1.24, and it is needless work at every start anyway.
    const existing = new Set(
      await collection
        .listIndexes()
        .toArray()
        .then((indexes) => indexes.map((index) => String(index.name)))
        .catch((error: unknown) => {
          if (isNamespaceNotFound(error)) return [];
          throw error;
        }),
    );
    const missing = repository.indexes.filter((index) => !existing.has(index.name));
    if (missing.length > 0) await collection.createIndexes([...missing]);
  }
}

function isNamespaceNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code === 26;
}

/** True for MongoDB's duplicate-key error (E11000), which FerretDB reports with the same code. */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code === 11000;
}
