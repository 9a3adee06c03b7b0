import { createRestAPIClient, MastoHttpError, type mastodon } from 'masto';
import { networks } from '../../core/networks.ts';
import type { Logger } from '../../log.ts';
import { NetworkError, type AccountInfo, type InboxItem, type InboxWatch, type MediaInput, type PostMetrics, type PublishedPost, type PublishInput, type PublishResult, type SocialNetwork } from '../port.ts';
import { toNetworkError } from './errors.ts';
import { watchNotifications } from './stream.ts';
import { htmlToText, sameText } from './text.ts';

export interface MastodonOptions {
  /** The instance's base URL, e.g. https://mastodon.social. */
  instanceUrl: string;
  accessToken: string;
  log: Logger;
  /** How long to wait for the instance to process an uploaded image (default 60 s). */
  mediaTimeoutMs?: number;
  /** Per request (default 30 s); a request that takes longer counts as 'unavailable'. */
  requestTimeoutMs?: number;
  /** The streaming API's reconnection delays: the first, doubled per failure up to the last (default 1 s to 5 min). */
  streamBackoffMs?: { min: number; max: number };
}

/**
 * How far before the due time a status may have been created and still be one of ours: a publish
 * can start a little before its job's nominal time, and clocks drift.
 */
const EARLIEST_BEFORE_DUE_MS = 5 * 60_000;
/** The account's recent statuses that findPublished reads: pages of 40, at most this many pages. */
const PAGE_SIZE = 40;
const MAX_PAGES = 3;
/** Notification pages one inbox fetch reads (40 each). */
const MAX_INBOX_PAGES = 25;

const extensions: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Mastodon ids are numeric strings, GoToSocial's are ULIDs: by length, then by character. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A mention notification as an inbox item (a reply to us mentions us too; direct visibility is a DM). */
function toInboxItem(notification: mastodon.v1.Notification, ownAccountId: string): InboxItem | undefined {
  const status = notification.status;
  if (!status) return undefined;
  const repliesToUs = Boolean(status.inReplyToId) && status.inReplyToAccountId === ownAccountId;
  const kind: InboxItem['kind'] = status.visibility === 'direct' ? 'direct' : (notification.type as string) === 'quote' ? 'quote' : repliesToUs ? 'reply' : 'mention';
  return {
    remoteId: status.id,
    kind,
    author: { handle: status.account.acct, ...(status.account.displayName ? { displayName: status.account.displayName } : {}), followers: status.account.followersCount },
    text: htmlToText(status.content).trim(),
    url: status.url ?? status.uri,
    createdAt: new Date(status.createdAt),
    ...(status.inReplyToId ? { inReplyTo: status.inReplyToId } : {}),
    ...(repliesToUs && status.inReplyToId ? { ourPost: { remoteId: status.inReplyToId } } : {}),
  };
}

function toPost(status: mastodon.v1.Status): PublishedPost {
  return { remoteId: status.id, url: status.url ?? status.uri };
}

/**
 * The statuses of one publish already on the server, in thread order: the first post (same text,
 * same number of images, answering what the publish answers: nothing, or `replyTo`) and then each reply to the previous one with the next text.
 * `statuses` may come in any order; the oldest match wins when the same text appears twice.
 */
export function matchThread(statuses: readonly mastodon.v1.Status[], input: Pick<PublishInput, 'posts' | 'images' | 'replyTo'>): mastodon.v1.Status[] {
  const oldestFirst = [...statuses].filter((status) => !status.reblog).sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id.localeCompare(b.id));
  const found: mastodon.v1.Status[] = [];
  for (const [index, text] of input.posts.entries()) {
    const previous = found.at(-1);
    const next = oldestFirst.find((status) =>
      index === 0
        ? (status.inReplyToId ?? undefined) === input.replyTo && status.mediaAttachments.length === input.images.length && sameText(status.content, text)
        : status.inReplyToId === previous?.id && sameText(status.content, text),
    );
    if (!next) break;
    found.push(next);
  }
  return found;
}

/**
 * Mastodon (and Mastodon-compatible servers) through masto's REST client. Idempotency: every status
 * carries `Idempotency-Key: <key>:<index>` (Mastodon returns the original status for a repeated key
 * within an hour), and publish() first looks for what an earlier attempt left, so a retry after a
 * crash completes a thread instead of repeating it, even on servers that ignore the header.
 */
export function createMastodonNetwork(options: MastodonOptions): SocialNetwork {
  const log = options.log.child({ network: 'mastodon' });
  const mediaTimeoutMs = options.mediaTimeoutMs ?? 60_000;
  const client = createRestAPIClient({
    url: options.instanceUrl,
    accessToken: options.accessToken,
    timeout: options.requestTimeoutMs ?? 30_000,
    // masto logs through console; Herald's own log records every failure with context instead.
    log: 'error',
  });
  let accountId: string | undefined;

  async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toNetworkError(error, what);
    }
  }

  /** A 200 that is not a Mastodon entity (an HTML page at a wrong URL) reads as undefined in masto. */
  function entity<T extends { id: string }>(value: T | undefined, what: string): T {
    if (typeof value?.id !== 'string') throw new NetworkError('mastodon', 'invalid_request', `Mastodon ${what}: the server did not answer like a Mastodon API (check the instance URL)`);
    return value;
  }

  async function me(): Promise<mastodon.v1.CredentialAccount> {
    const account = entity(await call('verify_credentials', () => client.v1.accounts.verifyCredentials()), 'verify_credentials');
    accountId = account.id;
    return account;
  }

  async function ownAccountId(): Promise<string> {
    return accountId ?? (await me()).id;
  }

  /** The account's own statuses created at or after `since`, newest first, a bounded number of pages. */
  async function recentStatuses(since: Date): Promise<mastodon.v1.Status[]> {
    const id = await ownAccountId();
    const statuses: mastodon.v1.Status[] = [];
    let maxId: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const batch = await call('account statuses', async () => await client.v1.accounts.$select(id).statuses.list({ limit: PAGE_SIZE, excludeReblogs: true, ...(maxId ? { maxId } : {}) }));
      if (!Array.isArray(batch)) throw new NetworkError('mastodon', 'invalid_request', 'Mastodon account statuses: the server did not answer with a list');
      statuses.push(...batch);
      const oldest = batch.at(-1);
      if (!oldest || batch.length < PAGE_SIZE || Date.parse(oldest.createdAt) < since.getTime()) break;
      maxId = oldest.id;
    }
    return statuses.filter((status) => Date.parse(status.createdAt) >= since.getTime());
  }

  async function findStatuses(input: PublishInput): Promise<mastodon.v1.Status[]> {
    const from = Math.min(input.dueAt.getTime(), input.firstAttemptAt?.getTime() ?? Infinity);
    const since = new Date(from - EARLIEST_BEFORE_DUE_MS);
    return matchThread(await recentStatuses(since), input);
  }

  /** Uploads one image and waits until the instance has processed it (or mediaTimeoutMs passes). */
  async function upload(image: MediaInput, index: number): Promise<string> {
    const file = new File([new Uint8Array(image.bytes)], `image-${index + 1}.${extensions[image.mimeType] ?? 'bin'}`, { type: image.mimeType });
    // Polling is ours (skipPolling): masto always sleeps a whole second first, even for an image
    // the instance processed during the upload.
    const created = entity(await call('media upload', () => client.v2.media.create({ file, description: image.alt, skipPolling: true })), 'media upload');
    const deadline = Date.now() + mediaTimeoutMs;
    let media = created;
    let delay = 100;
    while (!media.url) {
      if (Date.now() + delay > deadline) {
        throw new NetworkError('mastodon', 'unavailable', `Mastodon media ${created.id} was not processed within ${mediaTimeoutMs} ms`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 1_000);
      try {
        media = await client.v1.media.$select(created.id).fetch();
      } catch (error) {
        // Some servers answer 404 for a moment after the upload: keep waiting, like masto does.
        if (error instanceof MastoHttpError && error.statusCode === 404) continue;
        throw toNetworkError(error, 'media status');
      }
    }
    log.debug({ mediaId: media.id }, 'mastodon media processed');
    return media.id;
  }

  async function publish(input: PublishInput): Promise<PublishResult> {
    if (input.posts.length === 0) throw new NetworkError('mastodon', 'invalid_request', 'Mastodon publish needs at least one post');
    if (input.images.length > networks.mastodon.maxImages) {
      throw new NetworkError('mastodon', 'content_refused', `Mastodon takes at most ${networks.mastodon.maxImages} images, got ${input.images.length}`);
    }
    const existing = input.firstAttempt ? [] : await findStatuses(input);
    if (existing.length > 0) log.info({ idempotencyKey: input.idempotencyKey, found: existing.length, of: input.posts.length }, 'mastodon publish resumes an earlier attempt');
    const posted = [...existing];
    const mediaIds = existing.length === 0 && input.images.length > 0 ? await Promise.all(input.images.map((image, index) => upload(image, index))) : [];
    for (let index = posted.length; index < input.posts.length; index += 1) {
      const previous = posted.at(-1);
      const params: mastodon.rest.v1.CreateStatusParams = {
        status: input.posts[index] ?? '',
        ...(index === 0 && mediaIds.length > 0 ? { mediaIds } : {}),
        ...(previous ? { inReplyToId: previous.id } : input.replyTo ? { inReplyToId: input.replyTo } : {}),
        ...(input.visibility ? { visibility: input.visibility } : {}),
        // A warning on the first post only would leave the rest of the thread unwarned.
        ...(input.contentWarning ? { spoilerText: input.contentWarning } : {}),
        ...(input.language ? { language: input.language } : {}),
      };
      const idempotencyKey = `${input.idempotencyKey}:${index}`;
      const status = entity(await call('status', () => client.v1.statuses.create(params, { requestInit: { headers: { 'Idempotency-Key': idempotencyKey } } })), 'status');
      posted.push(status);
      log.debug({ idempotencyKey, statusId: status.id }, 'mastodon status created');
    }
    return { posts: posted.map(toPost) };
  }

  /**
   * The streaming API's origin: the one the instance advertises (Mastodon may stream from another
   * host), with the instance's own scheme when it is the same host (GoToSocial advertises wss: even
   * behind plain HTTP), then the instance's own origin as the fallback.
   */
  async function streamingEndpoints(): Promise<string[]> {
    const own = new URL(options.instanceUrl);
    own.protocol = own.protocol === 'https:' ? 'wss:' : 'ws:';
    const endpoints: string[] = [];
    try {
      const advertised = new URL((await client.v2.instance.fetch()).configuration.urls.streaming);
      if (advertised.host === own.host) advertised.protocol = own.protocol;
      endpoints.push(advertised.origin);
    } catch (error) {
      log.debug({ err: error instanceof Error ? error.message : String(error) }, 'mastodon instance did not say where it streams; using its own host');
    }
    if (!endpoints.includes(own.origin)) endpoints.push(own.origin);
    return endpoints;
  }

  return {
    network: 'mastodon',

    watchInbox(onActivity: () => void): InboxWatch {
      return watchNotifications({
        endpoints: streamingEndpoints,
        accessToken: options.accessToken,
        log,
        onActivity,
        ...(options.streamBackoffMs ? { minDelayMs: options.streamBackoffMs.min, maxDelayMs: options.streamBackoffMs.max } : {}),
      });
    },

    limits: () => networks.mastodon,

    async verify(): Promise<AccountInfo> {
      const account = await me();
      let host: string;
      try {
        // The account's own URL carries the account domain, which may differ from the web host.
        host = new URL(account.url).host;
      } catch {
        host = new URL(options.instanceUrl).host;
      }
      const handle = account.acct.includes('@') ? account.acct : `${account.acct}@${host}`;
      return {
        handle,
        ...(account.displayName ? { displayName: account.displayName } : {}),
        followers: account.followersCount,
        url: account.url,
      };
    },

    async findPublished(input: PublishInput): Promise<PublishedPost[]> {
      return (await findStatuses(input)).map(toPost);
    },

    publish,

    async reply(toRemoteId: string, input: PublishInput): Promise<PublishResult> {
      // Mastodon notifies only the people a status mentions: a reply names the author first, as
      // Mastodon's own composer does.
      const target = entity(await call('status', () => client.v1.statuses.$select(toRemoteId).fetch()), 'status');
      const mention = `@${target.account.acct}`;
      const [first = '', ...rest] = input.posts;
      const addressed = first.toLowerCase().includes(mention.toLowerCase()) ? first : `${mention} ${first}`;
      const visibility = input.visibility ?? (target.visibility === 'direct' ? 'direct' : undefined);
      return publish({ ...input, posts: [addressed, ...rest], replyTo: toRemoteId, ...(visibility ? { visibility } : {}) });
    },

    async fetchInbox(cursor: string | undefined): Promise<{ items: InboxItem[]; cursor: string | undefined }> {
      const own = await ownAccountId();
      const collected: mastodon.v1.Notification[] = [];
      let minId = cursor;
      // min_id pages forward from the cursor (each page newest first); without a cursor, only the newest page.
      for (let page = 0; page < MAX_INBOX_PAGES; page += 1) {
        const batch = await call('notifications', async () => await client.v1.notifications.list({ limit: PAGE_SIZE, ...(minId ? { minId } : {}) }));
        if (!Array.isArray(batch)) throw new NetworkError('mastodon', 'invalid_request', 'Mastodon notifications: the server did not answer with a list');
        collected.push(...batch);
        const newest = batch.map((n) => n.id).sort(compareIds).at(-1);
        if (!newest || !minId || batch.length < PAGE_SIZE) {
          minId = newest ?? minId;
          break;
        }
        minId = newest;
      }
      const items = collected
        .filter((n) => (n.type === 'mention' || (n.type as string) === 'quote') && n.status)
        // Ids made in the same millisecond (GoToSocial's ULIDs) are not in order: time first.
        .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || compareIds(a.id, b.id))
        .map((n) => toInboxItem(n, own))
        .filter((item): item is InboxItem => item !== undefined);
      // An account with no notifications yet reads from the very first one next time (min_id 0), so
      // a burst before the next fetch is read in full, not only its newest page.
      return { items, cursor: minId ?? '0' };
    },

    async delete(remoteId: string): Promise<void> {
      await call('delete', () => client.v1.statuses.$select(remoteId).remove());
    },

    async fetchMetrics(remoteIds: readonly string[]): Promise<PostMetrics[]> {
      // One status at a time: Mastodon has no batch read of statuses by id for an account's own posts.
      const found: PostMetrics[] = [];
      for (const remoteId of remoteIds) {
        try {
          const status = entity(await call('status', () => client.v1.statuses.$select(remoteId).fetch()), 'status');
          found.push({ remoteId, likes: status.favouritesCount, reposts: status.reblogsCount, replies: status.repliesCount });
        } catch (error) {
          // A deleted post has no metrics any more; the others still count.
          if (error instanceof NetworkError && error.failure === 'not_found') continue;
          throw error;
        }
      }
      return found;
    },

    async followers(): Promise<number> {
      return (await me()).followersCount;
    },
  };
}
