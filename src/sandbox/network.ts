import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The sandbox's simulated social network: one brand account (Herald's), a few outside people, and
 * a public feed. Herald reaches it only through its HTTP API (`/sandbox/net/…`, spoken by the
 * sandbox connector in src/networks/sandbox), exactly as it reaches a real network; the sandbox
 * page reads its state and acts as the outside people (comment, mention, like, repost, follow,
 * pile-on).
 */

export interface NetworkPerson {
  id: string;
  handle: string;
  displayName: string;
  followers: number;
}

interface StoredPost {
  id: string;
  /** Order of arrival: the inbox cursor. */
  seq: number;
  /** 'brand' or a person id. */
  author: string;
  text: string;
  createdAt: Date;
  inReplyTo?: string;
  rootId?: string;
  /** The brand is mentioned (by handle) in a post of someone else's. */
  mentionsBrand: boolean;
  idempotencyKey?: string;
  /** Position within a thread published under one idempotency key. */
  part?: number;
  images: { alt: string; mimeType: string; bytes: number }[];
  likes: Set<string>;
  reposts: Set<string>;
  deleted: boolean;
}

/** A post as the page shows it. */
export interface FeedPost {
  id: string;
  author: { handle: string; displayName: string };
  ours: boolean;
  text: string;
  createdAt: string;
  url: string;
  likes: number;
  reposts: number;
  replies: number;
  images: { alt: string }[];
  inReplyTo?: string;
}

export type OutsideAction =
  | { kind: 'comment'; as: string; postId: string; text: string }
  | { kind: 'mention'; as: string; text: string }
  | { kind: 'like' | 'repost'; as: string; postId: string }
  | { kind: 'follow'; as: string }
  | { kind: 'pileon' };

export class NetworkInputError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

export const NETWORK_NAME = 'Sandbox network';
const MAX_LENGTH = 300;
const BASE_FOLLOWERS = 1_200;

const people: readonly NetworkPerson[] = [
  { id: 'p-ioana', handle: 'ioana.sandbox', displayName: 'Ioana Pop', followers: 820 },
  { id: 'p-lucas', handle: 'lucas.sandbox', displayName: 'Lucas Martin', followers: 312 },
  { id: 'p-maya', handle: 'maya.sandbox', displayName: 'Maya Chen', followers: 15_400 },
  { id: 'p-tom', handle: 'tom.sandbox', displayName: 'Tom Ward', followers: 95 },
  { id: 'p-elena', handle: 'elena.sandbox', displayName: 'Elena Rossi', followers: 2_210 },
  { id: 'p-sam', handle: 'sam.sandbox', displayName: 'Sam Okafor', followers: 47 },
];

/** What a pile-on says: negative, similar, from several people within seconds. */
const pileOnTexts: readonly string[] = [
  'is down again and support is not answering. Terrible.',
  'lost my order twice this week. Worst service ever.',
  'charged me twice and nobody replies. Awful.',
  'the new update deleted my data. Furious.',
  'is this a data breach? My account was emptied.',
  'still broken after three days. Unacceptable.',
  'refund refused, rude staff. Never again.',
  'app crashes on every login. Useless.',
];

export interface SimulatedNetworkOptions {
  /** The bearer token the brand account's connection uses. */
  token: string;
}

export class SimulatedNetwork {
  readonly events = new EventEmitter();
  readonly token: string;
  readonly brand = { handle: 'herald-demo.sandbox', displayName: 'Herald Demo' };
  private baseUrl = 'http://127.0.0.1';
  private posts: StoredPost[] = [];
  private followers = new Set<string>();
  private seq = 0;

  constructor(options: SimulatedNetworkOptions) {
    this.token = options.token;
  }

  /** Where the API is served (the sandbox page's server); post links point there. */
  setBaseUrl(url: string): void {
    this.baseUrl = url.replace(/\/+$/, '');
  }

  get apiUrl(): string {
    return `${this.baseUrl}/sandbox/net`;
  }

  get people(): readonly NetworkPerson[] {
    return people;
  }

  reset(): void {
    this.posts = [];
    this.followers.clear();
    this.seq = 0;
    this.changed('reset');
  }

  followerCount(): number {
    return BASE_FOLLOWERS + this.followers.size;
  }

  /** The page's view: the account and the feed, newest first. */
  view(): { name: string; account: { handle: string; displayName: string; followers: number }; people: readonly NetworkPerson[]; posts: FeedPost[] } {
    return {
      name: NETWORK_NAME,
      account: { ...this.brand, followers: this.followerCount() },
      people,
      posts: this.posts
        .filter((p) => !p.deleted)
        .map((p) => this.feedPost(p))
        .reverse(),
    };
  }

  /** What a person on the page does as an outside user. */
  act(action: OutsideAction): FeedPost[] {
    if (action.kind === 'pileon') {
      const made = pileOnTexts.map((text, i) => this.add({ author: people[i % people.length]!.id, text: `@${this.brand.handle} ${text}` }));
      this.changed('pileon');
      return made.map((p) => this.feedPost(p));
    }
    const person = people.find((p) => p.id === action.as);
    if (!person) throw new NetworkInputError(`No outside person "${action.as}" on the ${NETWORK_NAME}.`);
    if (action.kind === 'follow') {
      this.followers.add(person.id);
      this.changed('follow');
      return [];
    }
    if (action.kind === 'mention') {
      const text = checkText(action.text);
      const body = text.includes(`@${this.brand.handle}`) ? text : `@${this.brand.handle} ${text}`;
      const post = this.add({ author: person.id, text: body });
      this.changed('mention');
      return [this.feedPost(post)];
    }
    const target = this.live(action.postId);
    if (action.kind === 'comment') {
      const post = this.add({ author: person.id, text: checkText(action.text), inReplyTo: target.id, rootId: target.rootId ?? target.id });
      this.changed('comment');
      return [this.feedPost(post)];
    }
    (action.kind === 'like' ? target.likes : target.reposts).add(person.id);
    this.changed(action.kind);
    return [];
  }

  // ---- the API Herald's connector speaks -------------------------------------------------------

  /** Handles `/sandbox/net/…`; answers JSON, with the status codes a real network would use. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const route = url.pathname.replace(/^\/sandbox\/net/, '') || '/';
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    try {
      // A post's public page: the link in the draft card opens the sandbox page on it.
      const publicPost = /^\/p\/([\w-]+)$/.exec(route);
      if (publicPost && request.method === 'GET') {
        response.writeHead(302, { location: `/?post=${publicPost[1]}` });
        response.end();
        return;
      }
      if (request.headers.authorization !== `Bearer ${this.token}`) return send(401, { error: 'invalid or revoked access token' });
      if (route === '/me' && request.method === 'GET') {
        return send(200, { handle: this.brand.handle, displayName: this.brand.displayName, followers: this.followerCount(), url: `${this.apiUrl}/p/brand` });
      }
      if (route === '/followers' && request.method === 'GET') return send(200, { followers: this.followerCount() });
      if (route === '/posts' && request.method === 'POST') return send(200, this.publish(await readJson(request)));
      if (route === '/posts' && request.method === 'GET') {
        const key = url.searchParams.get('idempotencyKey') ?? '';
        return send(200, { posts: this.byKey(key).map((p) => this.published(p)) });
      }
      const one = /^\/posts\/([\w-]+)$/.exec(route);
      if (one && request.method === 'DELETE') {
        const post = this.posts.find((p) => p.id === one[1] && p.author === 'brand' && !p.deleted);
        if (!post) return send(404, { error: 'no such post' });
        post.deleted = true;
        this.changed('delete');
        return send(200, {});
      }
      if (route === '/inbox' && request.method === 'GET') return send(200, this.inbox(url.searchParams.get('cursor') ?? undefined));
      if (route === '/metrics' && request.method === 'GET') {
        const ids = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
        const found = ids.map((id) => this.posts.find((p) => p.id === id && !p.deleted)).filter((p): p is StoredPost => Boolean(p));
        return send(200, {
          metrics: found.map((p) => ({ remoteId: p.id, likes: p.likes.size, reposts: p.reposts.size, replies: this.repliesTo(p.id), quotes: 0 })),
        });
      }
      return send(404, { error: `no route ${request.method} ${route}` });
    } catch (error) {
      if (error instanceof NetworkInputError) return send(error.status, { error: error.message });
      throw error;
    }
  }

  // ---- internals --------------------------------------------------------------------------------

  private publish(body: unknown): { posts: { remoteId: string; url: string }[] } {
    const input = body as { posts?: unknown; images?: unknown; idempotencyKey?: unknown; replyTo?: unknown };
    if (!Array.isArray(input.posts) || input.posts.length === 0 || !input.posts.every((p) => typeof p === 'string')) throw new NetworkInputError('posts must be a list of texts');
    if (typeof input.idempotencyKey !== 'string' || !input.idempotencyKey) throw new NetworkInputError('idempotencyKey is required');
    const texts = input.posts as string[];
    for (const text of texts) {
      if ([...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(text)].length > MAX_LENGTH) throw new NetworkInputError(`a post is longer than ${MAX_LENGTH} characters`, 422);
    }
    const images = Array.isArray(input.images) ? (input.images as { alt?: unknown; mimeType?: unknown; bytes?: unknown }[]) : [];
    // The network's own idempotency: a repeated call completes the thread, never repeats a part
    // (not even one deleted since), and answers what the first call made.
    const made = this.posts.filter((p) => p.idempotencyKey === input.idempotencyKey).sort((a, b) => (a.part ?? 0) - (b.part ?? 0));
    const next = made.length === 0 ? 0 : (made.at(-1)!.part ?? 0) + 1;
    const replyTo = next < texts.length && typeof input.replyTo === 'string' ? this.live(input.replyTo) : undefined;
    for (let part = next; part < texts.length; part += 1) {
      const parent = made.at(-1) ?? replyTo;
      made.push(
        this.add({
          author: 'brand',
          text: texts[part]!,
          idempotencyKey: input.idempotencyKey,
          part,
          ...(parent ? { inReplyTo: parent.id, rootId: parent.rootId ?? parent.id } : {}),
          images: part === 0 ? images.map((i) => ({ alt: String(i.alt ?? ''), mimeType: String(i.mimeType ?? 'image/png'), bytes: Number(i.bytes ?? 0) })) : [],
        }),
      );
    }
    const existing = made.filter((p) => !p.deleted);
    this.changed('publish');
    return { posts: existing.map((p) => this.published(p)) };
  }

  /** Others' replies to any post of the brand's threads and mentions of the brand, after the cursor. */
  private inbox(cursor: string | undefined): { items: unknown[]; cursor: string | undefined } {
    const after = cursor === undefined ? undefined : Number(cursor);
    const byId = (id: string | undefined): StoredPost | undefined => (id ? this.posts.find((q) => q.id === id) : undefined);
    const relevant = this.posts.filter((p) => {
      if (p.author === 'brand' || p.deleted) return false;
      return p.mentionsBrand || byId(p.inReplyTo)?.author === 'brand' || byId(p.rootId)?.author === 'brand';
    });
    // Without a cursor only what is new from now on, as connecting a real account does.
    if (after === undefined || Number.isNaN(after)) return { items: [], cursor: String(this.seq) };
    const items = relevant.filter((p) => p.seq > after);
    return {
      items: items.map((p) => {
        const person = people.find((q) => q.id === p.author)!;
        const parent = byId(p.inReplyTo);
        return {
          remoteId: p.id,
          kind: parent ? 'reply' : 'mention',
          author: { handle: person.handle, displayName: person.displayName, followers: person.followers },
          text: p.text,
          url: this.postUrl(p.id),
          createdAt: p.createdAt.toISOString(),
          ...(parent ? { inReplyTo: parent.id, rootId: p.rootId ?? parent.id } : {}),
          ...(parent?.author === 'brand' ? { ourPost: { remoteId: parent.id, url: this.postUrl(parent.id) } } : {}),
        };
      }),
      cursor: String(items.at(-1)?.seq ?? after),
    };
  }

  private add(input: { author: string; text: string; inReplyTo?: string; rootId?: string; idempotencyKey?: string; part?: number; images?: StoredPost['images'] }): StoredPost {
    this.seq += 1;
    const post: StoredPost = {
      id: randomUUID().slice(0, 12).replace(/-/g, ''),
      seq: this.seq,
      author: input.author,
      text: input.text,
      createdAt: new Date(),
      mentionsBrand: input.author !== 'brand' && input.text.includes(`@${this.brand.handle}`),
      images: input.images ?? [],
      likes: new Set(),
      reposts: new Set(),
      deleted: false,
      ...(input.inReplyTo ? { inReplyTo: input.inReplyTo, rootId: input.rootId ?? input.inReplyTo } : {}),
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey, part: input.part ?? 0 } : {}),
    };
    this.posts.push(post);
    return post;
  }

  private live(id: string): StoredPost {
    const post = this.posts.find((p) => p.id === id && !p.deleted);
    if (!post) throw new NetworkInputError(`No post "${id}" on the ${NETWORK_NAME}.`, 404);
    return post;
  }

  private byKey(key: string): StoredPost[] {
    return this.posts.filter((p) => p.idempotencyKey === key && !p.deleted).sort((a, b) => (a.part ?? 0) - (b.part ?? 0));
  }

  private repliesTo(id: string): number {
    return this.posts.filter((p) => p.inReplyTo === id && !p.deleted).length;
  }

  private postUrl(id: string): string {
    return `${this.apiUrl}/p/${id}`;
  }

  private published(p: StoredPost): { remoteId: string; url: string } {
    return { remoteId: p.id, url: this.postUrl(p.id) };
  }

  private feedPost(p: StoredPost): FeedPost {
    const person = people.find((q) => q.id === p.author);
    return {
      id: p.id,
      author: person ? { handle: person.handle, displayName: person.displayName } : this.brand,
      ours: p.author === 'brand',
      text: p.text,
      createdAt: p.createdAt.toISOString(),
      url: this.postUrl(p.id),
      likes: p.likes.size,
      reposts: p.reposts.size,
      replies: this.repliesTo(p.id),
      images: p.images.map((i) => ({ alt: i.alt })),
      ...(p.inReplyTo ? { inReplyTo: p.inReplyTo } : {}),
    };
  }

  private changed(kind: string): void {
    this.events.emit('change', { kind: `network.${kind}` });
  }
}

function checkText(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw new NetworkInputError('Write something first.');
  if (trimmed.length > 1_000) throw new NetworkInputError('That is longer than 1,000 characters.');
  return trimmed;
}

/** Reads a JSON body of at most 8 MiB (images come base64-encoded). */
export async function readJson(request: IncomingMessage, limit = 8 * 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new NetworkInputError('The request is too large.', 413);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new NetworkInputError('The request body is not valid JSON.');
  }
}
