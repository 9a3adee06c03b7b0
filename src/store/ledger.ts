import type { Collection, Db } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import { isDuplicateKeyError, type Repository } from './indexes.ts';

/**
 * The side-effect ledger: every publish and outbound reply writes its entry here, under a unique
 * idempotency key, before it calls a network, and completes it after. A second attempt with the same
 * key finds the entry and does not call again. Uniqueness comes from the index, never from a lock race.
 */
export type LedgerState = 'pending' | 'done' | 'failed';

export interface LedgerEntry {
  key: string;
  kind: string;
  state: LedgerState;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  completedAt?: Date;
  /** Flat result fields (remote id, URL); no nested arrays, so every backend stores it. */
  result?: Record<string, string | number | boolean | null>;
  error?: string;
  /** Pending, and no run is calling the network for it (the last attempt failed transiently). */
  idle?: boolean;
}

export type BeginOutcome =
  | { status: 'started'; entry: LedgerEntry }
  | { status: 'already-done'; entry: LedgerEntry }
  | { status: 'in-progress'; entry: LedgerEntry }
  | { status: 'failed-before'; entry: LedgerEntry };

export interface Ledger extends Repository {
  begin(key: string, kind: string): Promise<BeginOutcome>;
  complete(key: string, result: LedgerEntry['result']): Promise<void>;
  fail(key: string, error: string): Promise<void>;
  get(key: string): Promise<LedgerEntry | null>;
  /** A person asked to try a failed side effect again: the entry is pending once more. */
  reopen(key: string): Promise<boolean>;
  /** The run calling for a pending entry stopped without an answer (a transient failure): it is idle until resumed. */
  pause(key: string): Promise<void>;
  /**
   * Takes over a pending entry for another call: when it is idle, or when whoever began it last did
   * so before `staleBefore` (that run is dead). False while another run is calling for it.
   */
  resume(key: string, staleBefore: Date): Promise<boolean>;
  /** Deletes completed and failed entries finished before the cutoff; returns how many. */
  purgeFinishedBefore(cutoff: Date): Promise<number>;
}

export function createLedger(db: Db, clock: Clock): Ledger {
  const collection: Collection<LedgerEntry> = db.collection<LedgerEntry>('ledger');
  const read = async (key: string): Promise<LedgerEntry | null> => collection.findOne({ key }, { projection: { _id: 0 } });

  return {
    collectionName: 'ledger',
    indexes: [
      { key: { key: 1 }, name: 'ledger_key_unique', unique: true },
      { key: { state: 1, completedAt: 1 }, name: 'ledger_state_completed' },
    ],
    async begin(key, kind) {
      const now = clock.now();
      const entry: LedgerEntry = { key, kind, state: 'pending', attempts: 1, createdAt: now, updatedAt: now };
      try {
        await collection.insertOne({ ...entry });
        return { status: 'started', entry };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const existing = await read(key);
      if (!existing) throw new Error(`ledger entry ${key} vanished after a duplicate-key refusal`);
      if (existing.state === 'done') return { status: 'already-done', entry: existing };
      if (existing.state === 'failed') return { status: 'failed-before', entry: existing };
      return { status: 'in-progress', entry: existing };
    },
    async complete(key, result) {
      const now = clock.now();
      await collection.updateOne({ key }, { $set: { state: 'done', result: result ?? {}, completedAt: now, updatedAt: now }, $unset: { idle: '' } });
    },
    async fail(key, error) {
      const now = clock.now();
      await collection.updateOne({ key }, { $set: { state: 'failed', error, completedAt: now, updatedAt: now }, $unset: { idle: '' } });
    },
    get: read,
    async reopen(key) {
      const outcome = await collection.updateOne({ key, state: 'failed' }, { $set: { state: 'pending', updatedAt: clock.now() }, $inc: { attempts: 1 }, $unset: { error: '', completedAt: '' } });
      return outcome.modifiedCount === 1;
    },
    async pause(key) {
      await collection.updateOne({ key, state: 'pending' }, { $set: { idle: true, updatedAt: clock.now() } });
    },
    async resume(key, staleBefore) {
      const outcome = await collection.updateOne({ key, state: 'pending', $or: [{ idle: true }, { updatedAt: { $lt: staleBefore } }] }, { $set: { idle: false, updatedAt: clock.now() } });
      return outcome.matchedCount === 1;
    },
    async purgeFinishedBefore(cutoff) {
      const outcome = await collection.deleteMany({ state: { $in: ['done', 'failed'] }, completedAt: { $lt: cutoff } });
      return outcome.deletedCount;
    },
  };
}
