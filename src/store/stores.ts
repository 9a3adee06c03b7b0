import type { Db } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import { ensureIndexes, type Repository } from './indexes.ts';
import { createApprovalStore, createAuditLog, createDeliveryStore, createDraftStore, type ApprovalStore, type AuditLog, type DeliveryStore, type DraftStore } from './drafts.ts';
import { createAccountStore, type AccountStore } from './accounts.ts';
import { createCrisisStore, type CrisisStore } from './crisis.ts';
import { createInboxStore, type InboxStore } from './inbox.ts';
import { createLedger, type Ledger } from './ledger.ts';
import { createMetricsStore, type MetricsStore } from './metrics.ts';
import { createSettingsStore, type SettingsStore } from './settings.ts';

/** Every repository Herald has, created once and shared by all flows. */
export interface Stores {
  readonly ledger: Ledger;
  readonly drafts: DraftStore;
  readonly approvals: ApprovalStore;
  readonly audit: AuditLog;
  readonly settings: SettingsStore;
  readonly accounts: AccountStore;
  readonly deliveries: DeliveryStore;
  readonly inbox: InboxStore;
  readonly crisis: CrisisStore;
  readonly metrics: MetricsStore;
}

export async function createStores(db: Db, clock: Clock, options: { encryptionKey?: Buffer } = {}): Promise<Stores> {
  const stores: Stores = {
    ledger: createLedger(db, clock),
    drafts: createDraftStore(db, clock),
    approvals: createApprovalStore(db),
    audit: createAuditLog(db, clock),
    settings: createSettingsStore(db),
    accounts: createAccountStore(db, clock, options.encryptionKey),
    deliveries: createDeliveryStore(db),
    inbox: createInboxStore(db, clock),
    crisis: createCrisisStore(db, clock),
    metrics: createMetricsStore(db, clock),
  };
  const { inbox, crisis, metrics, ...repositories } = stores;
  await ensureIndexes(db, [...(Object.values(repositories) as Repository[]), ...inbox.repositories, ...crisis.repositories, ...metrics.repositories]);
  return stores;
}
