import type { Collection, Db } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import type { Delivery, Draft, DraftAction, DraftStatus } from '../core/draft.ts';
import type { Approval } from '../core/policy.ts';
import { isDuplicateKeyError, type Repository } from './indexes.ts';

type DraftDocument = Omit<Draft, 'id'> & { _id: string };

/** One approval per person, step and version: the unique _id makes a double click count once. */
interface ApprovalDocument extends Approval {
  _id: string;
  draftId: string;
}

/** What happened to a draft, who did it, when. Insert-only: Herald has no way to edit it. */
export interface AuditEntry {
  draftId: string;
  at: Date;
  actorId: string;
  actorName: string;
  action: DraftAction;
  from: DraftStatus | null;
  to: DraftStatus | null;
  version: number;
  comment?: string;
}

export interface DraftStore extends Repository {
  insert(draft: Draft): Promise<void>;
  get(id: string): Promise<Draft | null>;
  /** Writes the changed fields; the filter on the previous status and version refuses a stale write. */
  update(id: string, expected: { status: DraftStatus; version: number }, changes: Partial<Omit<Draft, 'id' | 'createdAt'>>): Promise<boolean>;
  /** Drafts of a workspace waiting on a person: as author/assignee (to write) or in given statuses. */
  list(workspace: string, filter: { statuses?: DraftStatus[]; authorOrAssignee?: string; limit?: number }): Promise<Draft[]>;
  /** Drafts decided (approved or rejected) in [from, to): their creation, decision and status now. */
  decidedBetween(workspace: string, from: Date, to: Date): Promise<Pick<Draft, 'id' | 'createdAt' | 'decidedAt' | 'status'>[]>;
}

export interface ApprovalStore extends Repository {
  /** False when this person already approved this step of this version. */
  add(draftId: string, approval: Approval): Promise<boolean>;
  forVersion(draftId: string, version: number): Promise<Approval[]>;
}

export interface AuditLog extends Repository {
  append(entry: Omit<AuditEntry, 'at'> & { at?: Date }): Promise<void>;
  history(draftId: string): Promise<AuditEntry[]>;
}

const toDraft = ({ _id, ...rest }: DraftDocument): Draft => ({ id: _id, ...rest });

export function createDraftStore(db: Db, clock: Clock): DraftStore {
  const drafts: Collection<DraftDocument> = db.collection<DraftDocument>('drafts');
  return {
    collectionName: 'drafts',
    indexes: [
      { key: { workspace: 1, status: 1, updatedAt: -1 }, name: 'drafts_workspace_status' },
      { key: { workspace: 1, authorId: 1, status: 1 }, name: 'drafts_workspace_author' },
      { key: { workspace: 1, assigneeId: 1, status: 1 }, name: 'drafts_workspace_assignee' },
      { key: { workspace: 1, decidedAt: 1 }, name: 'drafts_workspace_decided' },
    ],
    async insert(draft) {
      const { id, ...rest } = draft;
      await drafts.insertOne({ _id: id, ...rest });
    },
    async get(id) {
      const found = await drafts.findOne({ _id: id });
      return found ? toDraft(found) : null;
    },
    async update(id, expected, changes) {
      const result = await drafts.updateOne({ _id: id, status: expected.status, version: expected.version }, { $set: { ...changes, updatedAt: clock.now() } });
      return result.modifiedCount === 1;
    },
    async list(workspace, filter) {
      const query: Record<string, unknown> = { workspace };
      if (filter.statuses) query.status = { $in: filter.statuses };
      if (filter.authorOrAssignee) query.$or = [{ authorId: filter.authorOrAssignee }, { assigneeId: filter.authorOrAssignee }];
      const found = await drafts.find(query).sort({ updatedAt: -1 }).limit(filter.limit ?? 25).toArray();
      return found.map(toDraft);
    },
    async decidedBetween(workspace, from, to) {
      const found = await drafts.find({ workspace, decidedAt: { $gte: from, $lt: to } }, { projection: { createdAt: 1, decidedAt: 1, status: 1 } }).toArray();
      return found.map(({ _id, createdAt, decidedAt, status }) => ({ id: _id, createdAt, status, ...(decidedAt ? { decidedAt } : {}) }));
    },
  };
}

export function createApprovalStore(db: Db): ApprovalStore {
  const approvals: Collection<ApprovalDocument> = db.collection<ApprovalDocument>('approvals');
  return {
    collectionName: 'approvals',
    indexes: [{ key: { draftId: 1, version: 1 }, name: 'approvals_draft_version' }],
    async add(draftId, approval) {
      try {
        await approvals.insertOne({ _id: `${draftId}:${approval.version}:${approval.step}:${approval.user}`, draftId, ...approval });
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },
    async forVersion(draftId, version) {
      const found = await approvals.find({ draftId, version }).sort({ at: 1 }).toArray();
      return found.map(({ user, step, version: v, at }) => ({ user, step, version: v, at }));
    },
  };
}

export function createAuditLog(db: Db, clock: Clock): AuditLog {
  const audit: Collection<AuditEntry> = db.collection<AuditEntry>('draft_audit');
  return {
    collectionName: 'draft_audit',
    indexes: [{ key: { draftId: 1, at: 1 }, name: 'audit_draft_at' }],
    async append(entry) {
      await audit.insertOne({ ...entry, at: entry.at ?? clock.now() });
    },
    async history(draftId) {
      return audit.find({ draftId }, { projection: { _id: 0 } }).sort({ at: 1, _id: 1 }).toArray();
    },
  };
}

/**
 * Each network's side of a publication, one document per draft version and network, so parallel
 * publishing jobs never overwrite each other's outcome.
 */
export interface DeliveryStore extends Repository {
  set(draftId: string, version: number, delivery: Delivery): Promise<void>;
  forVersion(draftId: string, version: number): Promise<Delivery[]>;
}

type DeliveryDocument = Delivery & { _id: string; draftId: string; version: number };

export function createDeliveryStore(db: Db): DeliveryStore {
  const deliveries: Collection<DeliveryDocument> = db.collection<DeliveryDocument>('deliveries');
  return {
    collectionName: 'deliveries',
    indexes: [{ key: { draftId: 1, version: 1 }, name: 'deliveries_draft_version' }],
    async set(draftId, version, delivery) {
      const { url, reason, fix, ...always } = delivery;
      await deliveries.updateOne(
        { _id: `${draftId}:${version}:${delivery.network}` },
        {
          $set: { ...always, draftId, version, ...(url ? { url } : {}), ...(reason ? { reason } : {}), ...(fix ? { fix } : {}) },
          $unset: { ...(url ? {} : { url: '' }), ...(reason ? {} : { reason: '' }), ...(fix ? {} : { fix: '' }) },
        },
        { upsert: true },
      );
    },
    async forVersion(draftId, version) {
      const found = await deliveries.find({ draftId, version }).toArray();
      return found.map(({ _id, draftId: _d, version: _v, ...delivery }) => delivery);
    },
  };
}
