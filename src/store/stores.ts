import type { Db } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import { ensureIndexes, type Repository } from './indexes.ts';
import { createLedger, type Ledger } from './ledger.ts';

/** Every repository Herald has, created once and shared by all flows. */
export interface Stores {
  readonly ledger: Ledger;
}

export async function createStores(db: Db, clock: Clock): Promise<Stores> {
  const stores: Stores = { ledger: createLedger(db, clock) };
  await ensureIndexes(db, Object.values(stores) as Repository[]);
  return stores;
}
