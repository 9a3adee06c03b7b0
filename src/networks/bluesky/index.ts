import { AtUri, AtpAgent, RichText, type $Typed, type AppBskyEmbedImages, type AppBskyFeedPost, type AppBskyNotificationListNotifications, type AppBskyRichtextFacet, type ComAtprotoRepoStrongRef } from '@atproto/api';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from 'pino';
import { networks } from '../../core/networks.ts';
import { NetworkError, type AccountInfo, type InboxItem, type PostMetrics, type PublishInput, type PublishResult, type PublishedPost, type SocialNetwork } from '../port.ts';
import { toNetworkError } from './errors.ts';
import { toInboxItem } from './inbox.ts';
import { imageSize } from './media.ts';
import { postRecordKey } from './tid.ts';

export { postRecordKey } from './tid.ts';

const POST = 'app.bsky.feed.post';
/** listNotifications pages read per fetch: enough for a burst, bounded so one fetch cannot run away. */
const INBOX_PAGE_SIZE = 50;
const MAX_INBOX_PAGES = 100;

export interface BlueskyOptions {
  /** The account's PDS (https://bsky.social for most accounts). */
  service: string;
  /** Handle or DID. */
  identifier: string;
  /** An app password, never the account's main password. */
  password: string;
  log: Logger;
  fetch?: typeof fetch;
  /** Each request gives up after this long (then 'unavailable'). */
  timeoutMs?: number;
  /** The clock for records' createdAt. */
  now?: () => Date;
}

interface Written extends PublishedPost {
  cid: string;
}

/**
 * Bluesky through its PDS. Every post of a publish is written under a record key derived from the
 * idempotency key (tid.ts), so a retry finds what an earlier attempt wrote and continues from there.
 */
export function createBlueskyNetwork(options: BlueskyOptions): SocialNetwork {
  const log = options.log.child({ network: 'bluesky' });
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? 30_000;
  const baseFetch = options.fetch ?? globalThis.fetch;
  const timedFetch: typeof fetch = (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return baseFetch(input, { ...init, signal });
  };
  // The agent refreshes an expired access token by itself (and retries the call once).
  const agent = new AtpAgent({ service: options.service, fetch: timedFetch });
  let loggingIn: Promise<void> | undefined;

  function login(): Promise<void> {
    loggingIn ??= agent
      .login({ identifier: options.identifier, password: options.password })
      .then(
        () => undefined,
        (error: unknown) => {
          throw toNetworkError(error, 'login');
        },
      )
      .finally(() => (loggingIn = undefined));
    return loggingIn;
  }

  /**
   * Runs an authenticated call. When the session cannot be refreshed (the refresh token expired
   * too, after weeks of running), logs in again with the app password once: only a refused login
   * means the account is revoked.
   */
  async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (!agent.hasSession) await login();
    try {
      return await run();
    } catch (error) {
      const failure = toNetworkError(error, what);
      if (failure.failure !== 'auth_revoked') throw failure;
      log.info({ err: failure.message }, 'bluesky session rejected; logging in again');
      await login();
      try {
        return await run();
      } catch (again) {
        throw toNetworkError(again, what);
      }
    }
  }

  function session(): { did: string; handle: string } {
    const current = agent.session;
    if (!current) throw new NetworkError('bluesky', 'auth_revoked', 'Bluesky session lost');
    return { did: current.did, handle: current.handle };
  }

  function postUrl(rkey: string): string {
    const { did, handle } = session();
    const who = handle && handle !== 'handle.invalid' ? handle : did;
    return `https://bsky.app/profile/${who}/post/${rkey}`;
  }

  /** Our post under `rkey`, or undefined when there is none. */
  async function readPost(rkey: string): Promise<{ uri: string; cid: string; value: AppBskyFeedPost.Record } | undefined> {
    try {
      const res = await call('getRecord', () => agent.com.atproto.repo.getRecord({ repo: session().did, collection: POST, rkey }));
      if (!res.data.cid) throw new NetworkError('bluesky', 'unavailable', `Bluesky returned ${res.data.uri} without a cid`);
      return { uri: res.data.uri, cid: res.data.cid, value: res.data.value as AppBskyFeedPost.Record };
    } catch (error) {
      const failure = toNetworkError(error, 'getRecord');
      if (failure.failure === 'not_found' || (failure.status === 400 && /could not locate record/i.test(failure.message))) return undefined;
      throw failure;
    }
  }

  /** The leading posts of `input` already on the PDS, with their cids (for reply refs). */
  async function written(input: PublishInput): Promise<Written[]> {
    const found: Written[] = [];
    for (const [index, text] of input.posts.entries()) {
      const rkey = postRecordKey(input.idempotencyKey, input.dueAt, index);
      const existing = await readPost(rkey);
      if (!existing) break;
      if (existing.value.text !== text) {
        // A different post under our key: another publish's derived key collided with ours. Say so
        // loudly rather than count someone else's post as published.
        throw new NetworkError('bluesky', 'invalid_request', `Bluesky record ${existing.uri} (post ${index + 1} of ${input.idempotencyKey}) holds different text: record key collision`);
      }
      found.push({ remoteId: existing.uri, cid: existing.cid, url: postUrl(rkey) });
    }
    return found;
  }

  /** Facets for mentions, links and hashtags; a mention whose handle does not resolve stays plain text. */
  async function facetsOf(text: string): Promise<AppBskyRichtextFacet.Main[] | undefined> {
    const rich = new RichText({ text });
    await rich.detectFacets(agent);
    const facets = (rich.facets ?? [])
      .map((facet) => ({
        ...facet,
        $type: 'app.bsky.richtext.facet' as const,
        features: facet.features.filter((f) => !('did' in f) || (typeof f.did === 'string' && f.did !== '')),
      }))
      .filter((facet) => facet.features.length > 0);
    return facets.length > 0 ? facets : undefined;
  }

  async function imagesEmbed(input: PublishInput): Promise<$Typed<AppBskyEmbedImages.Main> | undefined> {
    if (input.images.length === 0) return undefined;
    const images: AppBskyEmbedImages.Image[] = [];
    for (const image of input.images) {
      // Uploading again on a retry is harmless: blobs are addressed by content.
      const res = await call('uploadBlob', () => agent.uploadBlob(image.bytes, { encoding: image.mimeType }));
      const size = imageSize(image.bytes);
      images.push({ alt: image.alt, image: res.data.blob, ...(size ? { aspectRatio: size } : {}) });
    }
    return { $type: 'app.bsky.embed.images', images };
  }

  async function writePost(input: PublishInput, index: number, reply: AppBskyFeedPost.ReplyRef | undefined): Promise<Written> {
    const text = input.posts[index] ?? '';
    const rkey = postRecordKey(input.idempotencyKey, input.dueAt, index);
    const facets = await facetsOf(text);
    const embed = index === 0 ? await imagesEmbed(input) : undefined;
    const record: AppBskyFeedPost.Record = {
      $type: POST,
      text,
      createdAt: now().toISOString(),
      ...(facets ? { facets } : {}),
      ...(reply ? { reply } : {}),
      ...(embed ? { embed } : {}),
      ...(input.language ? { langs: [input.language] } : {}),
    };
    try {
      const res = await call('createRecord', () => agent.com.atproto.repo.createRecord({ repo: session().did, collection: POST, rkey, record }));
      return { remoteId: res.data.uri, cid: res.data.cid, url: postUrl(rkey) };
    } catch (error) {
      const failure = toNetworkError(error, 'createRecord');
      if (failure.failure === 'auth_revoked' || failure.failure === 'rate_limited') throw failure;
      // Another attempt (a second replica, or a response lost on the way back) may have written it.
      const existing = await readPost(rkey).catch(() => undefined);
      if (existing && existing.value.text === text) return { remoteId: existing.uri, cid: existing.cid, url: postUrl(rkey) };
      throw failure;
    }
  }

  /** Where a reply to `uri` hangs: that post as parent, its thread's root as root. */
  async function replyBase(uri: string): Promise<AppBskyFeedPost.ReplyRef> {
    const res = await call('getPosts', () => agent.getPosts({ uris: [uri] }));
    const post = res.data.posts[0];
    if (!post) throw new NetworkError('bluesky', 'not_found', `Bluesky post ${uri} does not exist (deleted?)`);
    const parent = { uri: post.uri, cid: post.cid };
    const record = post.record as Partial<AppBskyFeedPost.Record>;
    return { root: record.reply?.root ?? parent, parent };
  }

  async function publishUnder(input: PublishInput): Promise<PublishResult> {
    check(input);
    const base = input.replyTo ? await replyBase(input.replyTo) : undefined;
    const posts = input.firstAttempt ? [] : await written(input);
    if (posts.length > 0) log.info({ idempotencyKey: input.idempotencyKey, found: posts.length, of: input.posts.length }, 'bluesky publish resumes');
    const ref = (post: Written): ComAtprotoRepoStrongRef.Main => ({ uri: post.remoteId, cid: post.cid });
    for (let index = posts.length; index < input.posts.length; index++) {
      const first = posts[0];
      const previous = posts[index - 1];
      const root = base?.root ?? (first ? ref(first) : undefined);
      const parent = previous ? ref(previous) : base?.parent;
      posts.push(await writePost(input, index, root && parent ? { root, parent } : undefined));
    }
    log.info({ idempotencyKey: input.idempotencyKey, posts: posts.length, uri: posts[0]?.remoteId, replyTo: input.replyTo }, input.replyTo ? 'bluesky replied' : 'bluesky published');
    return { posts: posts.map(({ remoteId, url }) => ({ remoteId, url })) };
  }

  /** Follower counts of the authors (the notification's profile view has none); missing ones stay unknown. */
  async function followersOf(dids: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let start = 0; start < dids.length; start += 25) {
      try {
        const res = await call('getProfiles', () => agent.getProfiles({ actors: dids.slice(start, start + 25) }));
        for (const profile of res.data.profiles) if (profile.followersCount !== undefined) counts.set(profile.did, profile.followersCount);
      } catch (error) {
        log.warn({ err: errorMessage(error) }, 'bluesky profiles unavailable; follower counts unknown');
      }
    }
    return counts;
  }

  function check(input: PublishInput): void {
    const limits = networks.bluesky;
    if (input.posts.length === 0) throw new NetworkError('bluesky', 'invalid_request', 'nothing to publish');
    if (input.images.length > limits.maxImages) {
      throw new NetworkError('bluesky', 'invalid_request', `Bluesky takes at most ${limits.maxImages} images, got ${input.images.length}`);
    }
  }

  return {
    network: 'bluesky',
    limits: () => networks.bluesky,

    async verify(): Promise<AccountInfo> {
      // Always a fresh login: verify answers whether the app password works now.
      await login();
      const { did, handle } = session();
      const url = `https://bsky.app/profile/${handle}`;
      try {
        const res = await call('getProfile', () => agent.getProfile({ actor: did }));
        return {
          handle: res.data.handle,
          ...(res.data.displayName ? { displayName: res.data.displayName } : {}),
          followers: res.data.followersCount ?? 0,
          url: `https://bsky.app/profile/${res.data.handle}`,
        };
      } catch (error) {
        const failure = toNetworkError(error, 'getProfile');
        if (failure.transient || failure.failure === 'auth_revoked') throw failure;
        // The credentials work; the AppView just has no profile yet (a new account).
        log.warn({ err: failure.message }, 'bluesky profile unavailable; using the session handle');
        return { handle, url };
      }
    },

    async findPublished(input: PublishInput): Promise<PublishedPost[]> {
      check(input);
      return (await written(input)).map(({ remoteId, url }) => ({ remoteId, url }));
    },

    publish: (input) => publishUnder(input),

    reply: (toRemoteId, input) => publishUnder({ ...input, replyTo: toRemoteId }),

    async fetchInbox(cursor) {
      if (!agent.hasSession) await login();
      const { did, handle } = session();
      // The cursor is the newest indexedAt seen: notifications come newest first, so read back to it.
      // Those at exactly that instant come again and the inbox's unique index drops them.
      const since = cursor ? Date.parse(cursor) : undefined;
      const seen: AppBskyNotificationListNotifications.Notification[] = [];
      let page: string | undefined;
      for (let pages = 0; pages < MAX_INBOX_PAGES; pages++) {
        const res = await call('listNotifications', () => agent.app.bsky.notification.listNotifications({ limit: INBOX_PAGE_SIZE, ...(page ? { cursor: page } : {}) }));
        const fresh = res.data.notifications.filter((n) => since === undefined || Date.parse(n.indexedAt) >= since);
        seen.push(...fresh);
        if (since === undefined || fresh.length < res.data.notifications.length || !res.data.cursor || res.data.notifications.length === 0) break;
        if (pages === MAX_INBOX_PAGES - 1) log.warn({ read: seen.length }, 'bluesky inbox: more new notifications than one fetch reads; the oldest are skipped');
        page = res.data.cursor;
      }
      const newest = seen.reduce((max, n) => Math.max(max, Date.parse(n.indexedAt)), since ?? 0);
      const wanted = seen.filter((n) => ['reply', 'mention', 'quote'].includes(n.reason));
      const followers = await followersOf([...new Set(wanted.map((n) => n.author.did))]);
      const items = wanted
        .reverse()
        .map((n) => toInboxItem(n, did, handle, followers.get(n.author.did)))
        .filter((item): item is InboxItem => item !== undefined);
      // An account with nothing yet starts its cursor now (a minute back, for clock skew with the
      // AppView), so a burst arriving before the next fetch is read in full, not only its newest page.
      return { items, cursor: newest > 0 ? new Date(newest).toISOString() : (cursor ?? new Date(now().getTime() - 60_000).toISOString()) };
    },

    async delete(remoteId: string): Promise<void> {
      let uri: AtUri;
      try {
        uri = new AtUri(remoteId);
      } catch (error) {
        throw new NetworkError('bluesky', 'invalid_request', `not an at:// URI: ${remoteId}`, { cause: error });
      }
      if (!agent.hasSession) await login();
      if (uri.collection !== POST || (uri.host !== session().did && uri.host !== session().handle)) {
        throw new NetworkError('bluesky', 'invalid_request', `${remoteId} is not a post of this account`);
      }
      // deleteRecord succeeds for a record that is not there; the port wants not_found.
      if (!(await readPost(uri.rkey))) throw new NetworkError('bluesky', 'not_found', `Bluesky post ${remoteId} does not exist`);
      await call('deleteRecord', () => agent.com.atproto.repo.deleteRecord({ repo: session().did, collection: POST, rkey: uri.rkey }));
    },

    async fetchMetrics(remoteIds: readonly string[]): Promise<PostMetrics[]> {
      if (!agent.hasSession) await login();
      const found: PostMetrics[] = [];
      // getPosts takes 25 URIs; a deleted post is simply absent from its answer.
      for (let start = 0; start < remoteIds.length; start += 25) {
        const res = await call('getPosts', () => agent.getPosts({ uris: remoteIds.slice(start, start + 25) }));
        for (const post of res.data.posts) {
          found.push({ remoteId: post.uri, likes: post.likeCount ?? 0, reposts: post.repostCount ?? 0, replies: post.replyCount ?? 0, quotes: post.quoteCount ?? 0 });
        }
      }
      return found;
    },

    async followers(): Promise<number> {
      if (!agent.hasSession) await login();
      const res = await call('getProfile', () => agent.getProfile({ actor: session().did }));
      return res.data.followersCount ?? 0;
    },
  };
}
