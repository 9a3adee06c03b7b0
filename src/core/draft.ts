import { randomBytes } from 'node:crypto';
import type { NetworkId } from './networks.ts';

/**
 * A post draft and the transitions it may take. Pure: the approval flow loads a draft, asks here
 * whether a move is allowed, and stores the result with its audit record.
 */
export type DraftStatus =
  /** Waiting for the approvals its policy asks for. */
  | 'pending'
  /** An approver asked for changes; the author edits, which makes a new pending version. */
  | 'changes_requested'
  /** Every step approved; waiting for a time to publish. */
  | 'approved'
  /** Approved, with a publishing job at `scheduledAt`. */
  | 'scheduled'
  | 'rejected'
  /** Its time came while it was not approved: it did not publish (fail closed). */
  | 'expired'
  /** Its time came: deliveries to the networks are under way (or held by a pause). */
  | 'publishing'
  /** Every network has the post. */
  | 'published'
  /** At least one network refused it for good and none is still trying. */
  | 'failed';

/** One network's side of a publication, shown on the card. */
export interface Delivery {
  network: NetworkId;
  status: 'pending' | 'retrying' | 'held' | 'published' | 'failed';
  url?: string;
  /** Why it failed or waits, in words for people. */
  reason?: string;
  /** For failures: reconnect the account (auth) or just retry. */
  fix?: 'reconnect' | 'retry';
  attempts: number;
  at: Date;
}

export type VariantSource = 'model' | 'repaired' | 'fallback' | 'person';

export interface DraftVariant {
  network: NetworkId;
  posts: string[];
  source: VariantSource;
}

export interface DraftImage {
  url: string;
  alt: string;
}

export interface Draft {
  /** Short, typable id: "d-7k2m9qx4". */
  id: string;
  /** "slack:T123" or "discord:456": the team the draft belongs to. */
  workspace: string;
  authorId: string;
  authorName: string;
  status: DraftStatus;
  version: number;
  text: string;
  networks: NetworkId[];
  variants: DraftVariant[];
  labels: string[];
  images: DraftImage[];
  /** Serialised ConversationRef of the message the draft came from, and a link to it. */
  source?: string;
  sourceLink?: string;
  /** Serialised ConversationRef of the draft's card in the approvals channel. */
  card?: string;
  scheduledAt?: Date;
  assigneeId?: string;
  dueAt?: Date;
  urgent?: boolean;
  deliveries?: Delivery[];
  decidedBy?: string;
  decidedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

export type DraftAction = 'create' | 'approve' | 'request_changes' | 'edit' | 'schedule' | 'reject' | 'regenerate' | 'assign' | 'expire' | 'refused' | 'publish' | 'retry' | 'return';

const editable: readonly DraftStatus[] = ['pending', 'changes_requested', 'approved', 'scheduled'];
const open: readonly DraftStatus[] = ['pending', 'changes_requested', 'approved', 'scheduled'];

/** Whether an action may happen in a status; every refusal has a reason a person can read. */
export function allowed(status: DraftStatus, action: DraftAction): boolean {
  switch (action) {
    case 'approve':
      return status === 'pending';
    case 'request_changes':
      return status === 'pending' || status === 'approved' || status === 'scheduled';
    case 'edit':
    case 'regenerate':
      return editable.includes(status);
    case 'schedule':
    case 'assign':
      return open.includes(status);
    case 'reject':
      return open.includes(status);
    case 'expire':
      return status === 'pending' || status === 'changes_requested';
    case 'publish':
      return status === 'scheduled' || status === 'approved';
    case 'retry':
      return status === 'failed' || status === 'publishing';
    case 'return':
      return status === 'scheduled' || status === 'approved' || status === 'publishing';
    case 'create':
    case 'refused':
      return true;
  }
}

const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';

export function newDraftId(): string {
  const bytes = randomBytes(8);
  return `d-${[...bytes].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

export function workspaceKey(platform: string, workspace: string): string {
  return `${platform}:${workspace}`;
}
