import { randomBytes } from 'node:crypto';
import { waitForIndexing, xrpc, type BlueskyNetworkUrls } from './bluesky-network.ts';

/** People on the local Bluesky network, writing posts the way any client would. */
export interface BlueskyPerson {
  did: string;
  handle: string;
  accessJwt: string;
  appPassword: string;
}

export type Json = Record<string, unknown>;
export interface StrongRef {
  uri: string;
  cid: string;
}

export async function createPerson(net: BlueskyNetworkUrls, prefix: string): Promise<BlueskyPerson> {
  const handle = `${prefix}${randomBytes(3).toString('hex')}.test`;
  const created = await xrpc(net.pds, 'com.atproto.server.createAccount', { body: { handle, email: `${handle}@example.com`, password: `pw-${randomBytes(8).toString('hex')}` } });
  const app = await xrpc(net.pds, 'com.atproto.server.createAppPassword', { body: { name: 'herald' }, token: created.accessJwt as string });
  return { did: created.did as string, handle, accessJwt: created.accessJwt as string, appPassword: app.password as string };
}

const post = (record: Json, at = new Date()): Json => ({ $type: 'app.bsky.feed.post', createdAt: at.toISOString(), ...record });

/** Writes one post and waits until the AppView has indexed it (and its notifications). */
export async function writePost(net: BlueskyNetworkUrls, who: BlueskyPerson, record: Json): Promise<StrongRef> {
  const res = await xrpc(net.pds, 'com.atproto.repo.createRecord', { body: { repo: who.did, collection: 'app.bsky.feed.post', record: post(record) }, token: who.accessJwt });
  await waitForIndexing(net.control);
  return { uri: res.uri as string, cid: res.cid as string };
}

/**
 * Many posts in one repository write (at most 200 per call), without waiting for indexing. Each gets
 * its own millisecond, as posts typed by a person do: the AppView pages notifications by time alone,
 * so posts sharing one instant across a page boundary would be skipped by its pagination.
 */
export async function writePosts(net: BlueskyNetworkUrls, who: BlueskyPerson, records: readonly Json[]): Promise<void> {
  const base = Date.now() - records.length;
  for (let start = 0; start < records.length; start += 200) {
    const writes = records.slice(start, start + 200).map((record, i) => ({ $type: 'com.atproto.repo.applyWrites#create', collection: 'app.bsky.feed.post', value: post(record, new Date(base + start + i)) }));
    await xrpc(net.pds, 'com.atproto.repo.applyWrites', { body: { repo: who.did, writes }, token: who.accessJwt });
  }
}

/** A post text that mentions `target` with a mention facet, as the Bluesky app writes it. */
export function mentioning(text: string, target: Pick<BlueskyPerson, 'did' | 'handle'>): Json {
  const at = `@${target.handle}`;
  const start = Buffer.byteLength(text.slice(0, text.indexOf(at)));
  return { text, facets: [{ index: { byteStart: start, byteEnd: start + Buffer.byteLength(at) }, features: [{ $type: 'app.bsky.richtext.facet#mention', did: target.did }] }] };
}

/** The replies under a post, as the AppView shows them to `viewer` once every write so far is indexed. */
export async function repliesUnder(net: BlueskyNetworkUrls, viewer: BlueskyPerson, uri: string): Promise<Json[]> {
  await waitForIndexing(net.control);
  const thread = (await xrpc(net.pds, 'app.bsky.feed.getPostThread', { query: { uri }, token: viewer.accessJwt })).thread as Json;
  return ((thread.replies ?? []) as Json[]).map((reply) => reply.post as Json);
}
