import { AppError } from '../core/errors.ts';
import type { NetworkId, NetworkLimits } from '../core/networks.ts';

/**
 * One social network account, as Herald uses it. Every connector lives in its own folder
 * (src/networks/<id>/) and is the only code that imports its SDK.
 */

/** Why a network call failed, and whether trying again can help. */
export type NetworkFailure =
  /** 429: wait (retryAfterMs when the network said how long) and try again. */
  | 'rate_limited'
  /** 5xx, timeouts, connection refused: try again later. */
  | 'unavailable'
  /** The credentials were revoked or expired: reconnect the account; retrying is useless. */
  | 'auth_revoked'
  /** The network refused the content (too long, banned, duplicate, media rejected). */
  | 'content_refused'
  /** The thing is not there (a deleted post). */
  | 'not_found'
  /** Herald sent something malformed: a bug to fix, not to retry. */
  | 'invalid_request';

const transientFailures: readonly NetworkFailure[] = ['rate_limited', 'unavailable'];

export class NetworkError extends AppError {
  readonly network: NetworkId;
  readonly failure: NetworkFailure;
  readonly retryAfterMs?: number;
  readonly status?: number;
  constructor(network: NetworkId, failure: NetworkFailure, message: string, options: { retryAfterMs?: number; status?: number; cause?: unknown } = {}) {
    super(`network_${failure}`, message, { cause: options.cause });
    this.name = 'NetworkError';
    this.network = network;
    this.failure = failure;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.status !== undefined) this.status = options.status;
  }

  /** Transient failures are retried with backoff; permanent ones stop at once. */
  get transient(): boolean {
    return transientFailures.includes(this.failure);
  }
}

export interface MediaInput {
  bytes: Buffer;
  mimeType: string;
  /** Alt text; required by Herald for every image. */
  alt: string;
}

export interface PublishInput {
  /** One post, or the posts of a thread in order (each within the network's limit). */
  posts: string[];
  /** Attached to the first post. */
  images: MediaInput[];
  /**
   * Stable across retries and restarts (derived from the ledger key): connectors pass it to the
   * network's own idempotency (Mastodon's Idempotency-Key, a Bluesky record key) so a repeated
   * call cannot make a second post.
   */
  idempotencyKey: string;
  /** When the post was due; connectors that derive ids from time use it, never the clock. */
  dueAt: Date;
  /**
   * When the first attempt under this idempotency key began (the ledger entry's creation). A
   * reconciliation that searches by time starts from the earlier of this and dueAt, so a post made
   * long before its due time (publish now, a late retry) is still found.
   */
  firstAttemptAt?: Date;
  language?: string;
  /** Mastodon: public, unlisted, private, direct. */
  visibility?: 'public' | 'unlisted' | 'private' | 'direct';
  /** Mastodon's content warning / spoiler text. */
  contentWarning?: string;
  /** Set by reply(): the remote id the first post answers. */
  replyTo?: string;
  /**
   * No earlier attempt under this idempotency key ever reached the network (the ledger entry was
   * just created): there is nothing to reconcile, so connectors skip looking for earlier posts.
   */
  firstAttempt?: boolean;
}

export interface PublishedPost {
  remoteId: string;
  url: string;
}

export interface PublishResult {
  /** The posts in thread order; the first one is the post people link to. */
  posts: PublishedPost[];
}

export interface AccountInfo {
  /** @handle or user@instance. */
  handle: string;
  displayName?: string;
  followers?: number;
  url?: string;
}

export interface SocialNetwork {
  readonly network: NetworkId;
  limits(): NetworkLimits;
  /** Checks the credentials and says whose account this is; throws NetworkError('auth_revoked') when they fail. */
  verify(): Promise<AccountInfo>;
  publish(input: PublishInput): Promise<PublishResult>;
  /**
   * Finds what an earlier publish with this idempotency key left on the network (all, part of a
   * thread, or nothing), so a retry after a crash completes the thread instead of repeating it.
   */
  findPublished(input: PublishInput): Promise<PublishedPost[]>;
  delete(remoteId: string): Promise<void>;
  /**
   * The inbox: comments, replies, mentions, quotes and (where the network allows) direct messages
   * newer than the opaque cursor, oldest first, and the cursor to pass next time. An item may come
   * again after a restart (cursors are inclusive at their edge); the inbox's unique index drops it.
   * Without a cursor, only the most recent page: connecting an account does not replay its history.
   */
  fetchInbox?(cursor: string | undefined): Promise<{ items: InboxItem[]; cursor: string | undefined }>;
  /**
   * Rings `onActivity` when the network pushes news of inbox activity (Mastodon's streaming API),
   * so the inbox fetches at once instead of at its next poll; it also rings after every
   * (re)connection, for what arrived while it was away. It carries no items: fetchInbox and its
   * cursor stay the one way in, and polling the fallback. Reconnects by itself until closed.
   */
  watchInbox?(onActivity: () => void): InboxWatch;
  /**
   * Replies as the account to one item (the remote id of a post). Idempotent like publish: a call
   * with the same idempotencyKey finds what an earlier attempt left and never makes a second reply.
   */
  reply?(toRemoteId: string, input: PublishInput): Promise<PublishResult>;
  /**
   * Current counters of the account's own posts, for the digest's snapshots. Posts that are gone
   * (deleted) are left out of the answer; a network without it has no post metrics in Herald.
   */
  fetchMetrics?(remoteIds: readonly string[]): Promise<PostMetrics[]>;
  /** The account's follower count now, for the daily follower series. */
  followers?(): Promise<number>;
}

/** An open push channel of watchInbox. */
export interface InboxWatch {
  /** Closes the connection and stops reconnecting; safe to call twice. */
  close(): void;
}

/** A comment, mention, quote or direct message on a network, as the inbox receives it. */
export interface InboxItem {
  remoteId: string;
  kind: 'reply' | 'mention' | 'quote' | 'direct';
  author: { handle: string; displayName?: string; followers?: number };
  text: string;
  url: string;
  createdAt: Date;
  /** The post it answers (ours or anyone's), when it is a reply. */
  inReplyTo?: string;
  /** The first post of the thread it belongs to on the network. */
  rootId?: string;
  /** The post of ours it answers or quotes, when there is one. */
  ourPost?: { remoteId: string; url?: string };
}

/** Counters of one post at one moment, as the digest will snapshot them. */
export interface PostMetrics {
  remoteId: string;
  likes: number;
  reposts: number;
  replies: number;
  quotes?: number;
  impressions?: number;
}
