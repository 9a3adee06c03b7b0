import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import type { NetworkId } from '../core/networks.ts';
import { EncryptionKeyError, open, seal, type Sealed } from './crypto.ts';
import { isDuplicateKeyError, type Repository } from './indexes.ts';

export type AccountHealth = 'ok' | 'failing';

/** A connected social network account of a workspace. Its credentials never leave this store unsealed. */
export interface Account {
  id: string;
  workspace: string;
  network: NetworkId;
  handle: string;
  displayName?: string;
  health: AccountHealth;
  /** Why the last call failed, in words for people. */
  healthReason?: string;
  /**
   * Grows each time the account is (re)connected or recovers. A failure is announced once per
   * epoch, through the ledger's unique key, so the channel hears about it once.
   */
  epoch: number;
  connectedBy: string;
  createdAt: Date;
  updatedAt: Date;
}

type AccountDocument = Omit<Account, 'id'> & { _id: string; credentials: Sealed };

interface KeyCheck {
  _id: string;
  sealed: Sealed;
}

export interface AccountStore extends Repository {
  /** Refuses to start with a key that cannot open what an earlier key sealed. */
  checkKey(): Promise<void>;
  /** Connects, or reconnects the same handle (new credentials, healthy again). */
  connect(input: { workspace: string; network: NetworkId; handle: string; displayName?: string; connectedBy: string; credentials: Record<string, string> }): Promise<Account>;
  list(workspace: string): Promise<Account[]>;
  /** Every connected account of every workspace (the daily follower reading walks them). */
  listAll(): Promise<Account[]>;
  get(id: string): Promise<Account | null>;
  /** The account a workspace publishes to on a network: the first healthy one, else the first. */
  forNetwork(workspace: string, network: NetworkId): Promise<Account | null>;
  credentials(id: string): Promise<Record<string, string>>;
  /** Marks the account failing; returns its epoch, for announcing the failure once. */
  markFailing(id: string, reason: string): Promise<number>;
  markHealthy(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}

const KEY_CHECK_ID = 'key-check';
const KEY_CHECK_TEXT = 'herald';

export function createAccountStore(db: Db, clock: Clock, key: Buffer | undefined): AccountStore {
  const accounts: Collection<AccountDocument> = db.collection<AccountDocument>('accounts');
  const checks: Collection<KeyCheck> = db.collection<KeyCheck>('encryption_checks');
  const requireKey = (): Buffer => {
    if (!key) throw new EncryptionKeyError('HERALD_ENCRYPTION_KEY is not set: Herald cannot store or read account credentials. Set it (openssl rand -base64 32) and restart.');
    return key;
  };
  const toAccount = ({ _id, credentials: _credentials, ...rest }: AccountDocument): Account => ({ id: _id, ...rest });

  return {
    collectionName: 'accounts',
    indexes: [
      { key: { workspace: 1, network: 1, handle: 1 }, name: 'accounts_workspace_network_handle', unique: true },
    ],
    async checkKey() {
      const existing = await checks.findOne({ _id: KEY_CHECK_ID });
      const stored = await accounts.countDocuments({}, { limit: 1 });
      if (!key) {
        if (stored > 0) throw new EncryptionKeyError('HERALD_ENCRYPTION_KEY is not set, but connected accounts exist whose credentials need it. Set the key they were stored with.');
        return;
      }
      if (!existing) {
        try {
          await checks.insertOne({ _id: KEY_CHECK_ID, sealed: seal(KEY_CHECK_TEXT, key, KEY_CHECK_ID) });
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
        }
        return;
      }
      if (open(existing.sealed, key, KEY_CHECK_ID) !== KEY_CHECK_TEXT) throw new EncryptionKeyError('HERALD_ENCRYPTION_KEY is not the key Herald used before.');
    },
    async connect(input) {
      const sealKey = requireKey();
      const now = clock.now();
      const found = await accounts.findOne({ workspace: input.workspace, network: input.network, handle: input.handle });
      const id = found?._id ?? `acc-${randomBytes(6).toString('hex')}`;
      const credentials = seal(JSON.stringify(input.credentials), sealKey, id);
      const fields = {
        workspace: input.workspace,
        network: input.network,
        handle: input.handle,
        ...(input.displayName ? { displayName: input.displayName } : {}),
        health: 'ok' as const,
        connectedBy: input.connectedBy,
        credentials,
        updatedAt: now,
      };
      const epoch = (found?.epoch ?? 0) + 1;
      await accounts.updateOne({ _id: id }, { $set: { ...fields, epoch }, $setOnInsert: { createdAt: now }, $unset: { healthReason: '' } }, { upsert: true });
      return toAccount({ _id: id, createdAt: found?.createdAt ?? now, epoch, ...fields });
    },
    async list(workspace) {
      return (await accounts.find({ workspace }).sort({ network: 1, handle: 1 }).toArray()).map(toAccount);
    },
    async listAll() {
      return (await accounts.find({}).sort({ workspace: 1, network: 1, handle: 1 }).toArray()).map(toAccount);
    },
    async get(id) {
      const found = await accounts.findOne({ _id: id });
      return found ? toAccount(found) : null;
    },
    async forNetwork(workspace, network) {
      const found = await accounts.find({ workspace, network }).sort({ health: -1, createdAt: 1 }).limit(1).next();
      return found ? toAccount(found) : null;
    },
    async credentials(id) {
      const found = await accounts.findOne({ _id: id });
      if (!found) throw new Error(`account ${id} not found`);
      return JSON.parse(open(found.credentials, requireKey(), id)) as Record<string, string>;
    },
    async markFailing(id, reason) {
      await accounts.updateOne({ _id: id }, { $set: { health: 'failing', healthReason: reason, updatedAt: clock.now() } });
      return (await accounts.findOne({ _id: id }))?.epoch ?? 0;
    },
    async markHealthy(id) {
      await accounts.updateOne({ _id: id, health: 'failing' }, { $set: { health: 'ok', updatedAt: clock.now() }, $unset: { healthReason: '' }, $inc: { epoch: 1 } });
    },
    async remove(id) {
      await accounts.deleteOne({ _id: id });
    },
  };
}
