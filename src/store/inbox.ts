import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Db, Filter, WithId } from 'mongodb';
import type { Clock } from '../core/clock.ts';
import type { InboxLabels } from '../core/inbox.ts';
import type { NetworkId } from '../core/networks.ts';
import type { InboxItem as NetworkInboxItem } from '../networks/port.ts';
import { isDuplicateKeyError, type Repository } from './indexes.ts';

/** Where an item stands on its way to chat. */
export type ItemDelivery = 'waiting' | 'carded' | 'summarised' | 'joined';

/** A comment, mention, quote or direct message as Herald keeps it (deleted after retention). */
export interface StoredItem extends Omit<NetworkInboxItem, 'conversationId'> {
  id: string;
  workspace: string;
  accountId: string;
  network: NetworkId;
  receivedAt: Date;
  labels: InboxLabels;
  vip: boolean;
  conversationId: string;
  /** This item started its conversation (its card shows it); otherwise it continues one. */
  starts: boolean;
  /** The root of the thread on the network, when the network says. */
  rootId?: string;
  /** Channel id the routing chose, and by which rule. */
  channel: string;
  ruleId?: string;
  delivery: ItemDelivery;
  /** The chat message that shows it (its card, or its message in the conversation's thread). */
  chatRef?: string;
  summaryId?: string;
}

export type ConversationStatus = 'open' | 'resolved';

/** One conversation on the network = one card and its chat thread. */
export interface Conversation {
  id: string;
  workspace: string;
  accountId: string;
  network: NetworkId;
  channel: string;
  ruleId?: string;
  status: ConversationStatus;
  /** The item the card shows. */
  rootItemId: string;
  /** The card's message. */
  card?: string;
  ownerId?: string;
  ownerName?: string;
  risky: boolean;
  itemCount: number;
  createdAt: Date;
  lastItemAt: Date;
  /** First response due (SLA), and when one was sent. */
  slaDueAt?: Date;
  firstResponseAt?: Date;
  resolvedAt?: Date;
  resolvedBy?: string;
}

export type ReplyState = 'awaiting_approval' | 'sending' | 'sent' | 'failed' | 'rejected';

/** A reply typed in a card's thread, on its way to the network. */
export interface OutboundReply {
  id: string;
  conversationId: string;
  workspace: string;
  /** The item it answers on the network. */
  itemId: string;
  text: string;
  authorId: string;
  authorName: string;
  /** The chat message it was typed in. */
  source: string;
  state: ReplyState;
  /** The approval card, for risky conversations. */
  approvalCard?: string;
  decidedBy?: string;
  remoteId?: string;
  url?: string;
  error?: string;
  createdAt: Date;
  updatedAt: Date;
}

/** One message that stands for the items of a burst in a channel, updated as more arrive. */
export interface InboxSummary {
  id: string;
  workspace: string;
  channel: string;
  /** Its chat message, once posted. */
  ref?: string;
  count: number;
  negative: number;
  neutral: number;
  positive: number;
  terms: string[];
  startedAt: Date;
  updatedAt: Date;
}

export interface InboxCursor {
  accountId: string;
  cursor?: string;
  polledAt?: Date;
  /** Items stored by the last fetch. */
  lastCount?: number;
  /**
   * The item ids the last fetch that found any returned: a cursor is inclusive at its edge, so
   * these are what the next fetch may return again, and they are dropped without a lookup.
   */
  edge?: string[];
}

type Doc<T extends { id: string }> = Omit<T, 'id'> & { _id: string };

/**
 * Documents by id as one primary-key lookup each, side by side: an index hit on any server, where
 * a `$in` on _id makes FerretDB (the tests' server) read the whole collection. A page asks for a
 * handful of ids, so the extra round trips cost less than one scan.
 */
async function byIds<T extends { _id: string }>(collection: Collection<T>, ids: readonly string[], projection?: Record<string, 1>): Promise<WithId<T>[]> {
  const unique = [...new Set(ids)];
  const found = (await Promise.all(unique.map((id) => collection.findOne({ _id: id } as Filter<T>, projection ? { projection } : {})))) as (WithId<T> | null)[];
  return found.filter((doc): doc is WithId<T> => doc !== null);
}
const fromDoc = <T extends { id: string }>({ _id, ...rest }: Doc<T>): T => ({ id: _id, ...rest }) as unknown as T;

export interface InboxStore {
  readonly repositories: readonly Repository[];
  /** Stores new items in one write; returns the ids stored (the others were there already). */
  insertItems(items: readonly StoredItem[]): Promise<Set<string>>;
  item(id: string): Promise<StoredItem | null>;
  /** The conversation (and its channel) of stored items, by item id (primary-key lookups, side by side). */
  conversationsOfItems(ids: readonly string[]): Promise<Map<string, { conversationId: string; channel: string }>>;
  /** Conversation ids of our replies, by their remote id. */
  conversationsOfReplies(remoteIds: readonly string[]): Promise<Map<string, string>>;
  conversationsById(ids: readonly string[]): Promise<Map<string, Conversation>>;
  updateItem(id: string, changes: Partial<Omit<StoredItem, 'id'>>): Promise<void>;
  updateItems(ids: readonly string[], changes: Partial<Omit<StoredItem, 'id'>>): Promise<void>;
  /** Items waiting for chat in a channel (routed ones), per workspace, oldest first. */
  waiting(workspace: string, limit: number): Promise<StoredItem[]>;
  hasWaiting(workspace: string): Promise<boolean>;
  itemsOf(conversationId: string): Promise<StoredItem[]>;
  /** The items a summary stands for. */
  summarised(summaryId: string, limit: number): Promise<StoredItem[]>;

  createConversations(conversations: readonly Conversation[]): Promise<void>;
  /** Removes conversations that never got their item (a re-fetched item lost the race for it). */
  dropConversations(ids: readonly string[]): Promise<void>;
  /**
   * New messages in conversations, in one command: each counts its `count` more items, is open
   * again (a resolved one reopens; an open one stays open) and risky when `risky` says so.
   */
  continueConversations(list: readonly { id: string; count: number; risky: boolean }[], at: Date): Promise<void>;
  conversation(id: string): Promise<Conversation | null>;
  conversationByCard(card: string): Promise<Conversation | null>;
  updateConversation(id: string, changes: Partial<Omit<Conversation, 'id'>>, unset?: (keyof Conversation)[]): Promise<void>;
  open(workspace: string, limit: number): Promise<Conversation[]>;

  reply(id: string): Promise<OutboundReply | null>;
  /** Records a reply once per source chat message; false when that message was already taken. */
  insertReply(reply: OutboundReply): Promise<boolean>;
  updateReply(id: string, changes: Partial<Omit<OutboundReply, 'id'>>): Promise<void>;

  /** The channel's summary still collecting (updated since `since`), if any. */
  currentSummary(workspace: string, channel: string, since: Date): Promise<InboxSummary | null>;
  saveSummary(summary: InboxSummary): Promise<void>;

  cursor(accountId: string): Promise<InboxCursor>;
  saveCursor(cursor: InboxCursor): Promise<void>;

  /** Items received in [from, to) for an export: what they were, never who wrote them or what they said. */
  exportItems(workspace: string, from: Date, to: Date): Promise<Pick<StoredItem, 'id' | 'accountId' | 'network' | 'kind' | 'receivedAt' | 'labels' | 'conversationId' | 'starts'>[]>;
  /** What the digest counts of the items received in [from, to). */
  receivedBetween(workspace: string, from: Date, to: Date): Promise<Pick<StoredItem, 'accountId' | 'receivedAt' | 'labels'>[]>;
  /** Conversations started in [from, to), for response times and SLA compliance. */
  conversationsBetween(workspace: string, from: Date, to: Date): Promise<Pick<Conversation, 'id' | 'accountId' | 'createdAt' | 'firstResponseAt' | 'slaDueAt' | 'status'>[]>;
  /** How many conversations are open now. */
  openCount(workspace: string): Promise<number>;

  /** Deletes items, conversations and replies older than the cutoff; returns the counts. */
  purgeBefore(cutoff: Date): Promise<{ items: number; conversations: number; replies: number }>;
}

/**
 * An item's id is derived from (network, remote id): a re-fetched item has the same id, so finding
 * it is a primary-key lookup (a full scan on FerretDB otherwise) and the primary key refuses it too.
 */
export const itemIdFor = (network: NetworkId, remoteId: string): string => `i-${createHash('sha256').update(`${network}\n${remoteId}`).digest('hex').slice(0, 24)}`;
export const newConversationId = (): string => `c-${randomBytes(6).toString('hex')}`;

export function createInboxStore(db: Db, clock: Clock): InboxStore {
  const items: Collection<Doc<StoredItem>> = db.collection('inbox_items');
  const conversations: Collection<Doc<Conversation>> = db.collection('inbox_conversations');
  const replies: Collection<Doc<OutboundReply>> = db.collection('inbox_replies');
  const summaries: Collection<Doc<InboxSummary>> = db.collection('inbox_summaries');
  const cursors: Collection<{ _id: string; cursor?: string; polledAt?: Date; lastCount?: number; edge?: string[] }> = db.collection('inbox_cursors');

  const toDoc = <T extends { id: string }>({ id, ...rest }: T): Doc<T> => ({ _id: id, ...rest }) as unknown as Doc<T>;

  return {
    repositories: [
      {
        collectionName: 'inbox_items',
        indexes: [
          { key: { network: 1, remoteId: 1 }, name: 'inbox_items_network_remote_unique', unique: true },
          { key: { workspace: 1, delivery: 1, receivedAt: 1 }, name: 'inbox_items_waiting' },
          { key: { conversationId: 1, createdAt: 1 }, name: 'inbox_items_conversation' },
          { key: { summaryId: 1 }, name: 'inbox_items_summary' },
          { key: { receivedAt: 1 }, name: 'inbox_items_received' },
        ],
      },
      {
        collectionName: 'inbox_conversations',
        indexes: [
          { key: { card: 1 }, name: 'inbox_conversations_card' },
          { key: { workspace: 1, status: 1, createdAt: 1 }, name: 'inbox_conversations_open' },
          { key: { workspace: 1, createdAt: 1 }, name: 'inbox_conversations_created' },
          { key: { lastItemAt: 1 }, name: 'inbox_conversations_last_item' },
        ],
      },
      {
        collectionName: 'inbox_replies',
        indexes: [
          { key: { remoteId: 1 }, name: 'inbox_replies_remote' },
          { key: { createdAt: 1 }, name: 'inbox_replies_created' },
        ],
      },
      { collectionName: 'inbox_summaries', indexes: [{ key: { workspace: 1, channel: 1, updatedAt: -1 }, name: 'inbox_summaries_channel' }] },
      { collectionName: 'inbox_cursors', indexes: [] },
    ],
    async insertItems(list) {
      if (list.length === 0) return new Set();
      const refused = new Set<number>();
      try {
        await items.insertMany(list.map((item) => toDoc(item)), { ordered: false });
      } catch (error) {
        const writeErrors = (error as { writeErrors?: { index: number; code: number }[] | { index: number; code: number } }).writeErrors;
        const errors = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
        if (errors.length === 0 || errors.some((e) => e.code !== 11000)) throw error;
        for (const e of errors) refused.add(e.index);
      }
      return new Set(list.filter((_, index) => !refused.has(index)).map((item) => item.id));
    },
    async item(id) {
      const found = await items.findOne({ _id: id });
      return found ? fromDoc<StoredItem>(found) : null;
    },
    async conversationsOfItems(ids) {
      const found = await byIds(items, ids, { _id: 1, conversationId: 1, channel: 1 });
      return new Map(found.map((d) => [d._id, { conversationId: d.conversationId, channel: d.channel }]));
    },
    async conversationsOfReplies(remoteIds) {
      if (remoteIds.length === 0) return new Map();
      const found = await replies.find({ remoteId: { $in: [...remoteIds] } }, { projection: { remoteId: 1, conversationId: 1 } }).toArray();
      return new Map(found.map((d) => [d.remoteId ?? '', d.conversationId]));
    },
    async conversationsById(ids) {
      const found = await byIds(conversations, ids);
      return new Map(found.map((d) => [d._id, fromDoc<Conversation>(d)]));
    },
    async updateItem(id, changes) {
      await items.updateOne({ _id: id }, { $set: changes });
    },
    async updateItems(ids, changes) {
      if (ids.length > 0) await items.updateMany({ _id: { $in: [...ids] } }, { $set: changes });
    },
    async waiting(workspace, limit) {
      // Items no rule routed (no channel) stay listed by /herald inbox; they must not hold up the rest.
      return (await items.find({ workspace, delivery: 'waiting', channel: { $ne: '' } }).sort({ receivedAt: 1 }).limit(limit).toArray()).map((d) => fromDoc<StoredItem>(d));
    },
    async hasWaiting(workspace) {
      return (await items.countDocuments({ workspace, delivery: 'waiting', channel: { $ne: '' } }, { limit: 1 })) > 0;
    },
    async itemsOf(conversationId) {
      return (await items.find({ conversationId }).sort({ createdAt: 1 }).toArray()).map((d) => fromDoc<StoredItem>(d));
    },
    async summarised(summaryId, limit) {
      return (await items.find({ summaryId }).sort({ receivedAt: 1 }).limit(limit).toArray()).map((d) => fromDoc<StoredItem>(d));
    },
    async createConversations(list) {
      if (list.length > 0) await conversations.insertMany(list.map((conversation) => toDoc(conversation)));
    },
    async dropConversations(ids) {
      if (ids.length > 0) await conversations.deleteMany({ _id: { $in: [...ids] } });
    },
    async continueConversations(list, at) {
      if (list.length === 0) return;
      await conversations.bulkWrite(
        list.map(({ id, count, risky }) => ({
          updateOne: { filter: { _id: id }, update: { $set: { lastItemAt: at, status: 'open' as const, ...(risky ? { risky: true } : {}) }, $inc: { itemCount: count }, $unset: { resolvedAt: '', resolvedBy: '' } } },
        })),
        { ordered: false },
      );
    },
    async conversation(id) {
      const found = await conversations.findOne({ _id: id });
      return found ? fromDoc<Conversation>(found) : null;
    },
    async conversationByCard(card) {
      const found = await conversations.findOne({ card });
      return found ? fromDoc<Conversation>(found) : null;
    },
    async updateConversation(id, changes, unset = []) {
      await conversations.updateOne({ _id: id }, { $set: changes, ...(unset.length ? { $unset: Object.fromEntries(unset.map((key) => [key, ''])) } : {}) });
    },
    async open(workspace, limit) {
      return (await conversations.find({ workspace, status: 'open' }).sort({ createdAt: 1 }).limit(limit).toArray()).map((d) => fromDoc<Conversation>(d));
    },
    async reply(id) {
      const found = await replies.findOne({ _id: id });
      return found ? fromDoc<OutboundReply>(found) : null;
    },
    async insertReply(reply) {
      try {
        await replies.insertOne(toDoc(reply));
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },
    async updateReply(id, changes) {
      await replies.updateOne({ _id: id }, { $set: { ...changes, updatedAt: clock.now() } });
    },
    async currentSummary(workspace, channel, since) {
      const found = await summaries.find({ workspace, channel, updatedAt: { $gte: since } }).sort({ updatedAt: -1 }).limit(1).next();
      return found ? fromDoc<InboxSummary>(found) : null;
    },
    async saveSummary(summary) {
      const { _id, ...rest } = toDoc(summary);
      await summaries.updateOne({ _id }, { $set: rest }, { upsert: true });
    },
    async cursor(accountId) {
      const found = await cursors.findOne({ _id: accountId });
      return { accountId, ...(found?.cursor ? { cursor: found.cursor } : {}), ...(found?.polledAt ? { polledAt: found.polledAt } : {}), ...(found?.lastCount !== undefined ? { lastCount: found.lastCount } : {}), ...(found?.edge ? { edge: found.edge } : {}) };
    },
    async saveCursor({ accountId, ...rest }) {
      await cursors.updateOne({ _id: accountId }, { $set: rest }, { upsert: true });
    },
    async exportItems(workspace, from, to) {
      const found = await items.find({ workspace, receivedAt: { $gte: from, $lt: to } }, { projection: { accountId: 1, network: 1, kind: 1, receivedAt: 1, labels: 1, conversationId: 1, starts: 1 } }).sort({ receivedAt: 1 }).toArray();
      return found.map((doc) => fromDoc<StoredItem>(doc as Doc<StoredItem>));
    },
    async receivedBetween(workspace, from, to) {
      const found = await items.find({ workspace, receivedAt: { $gte: from, $lt: to } }, { projection: { accountId: 1, receivedAt: 1, labels: 1 } }).toArray();
      return found.map(({ accountId, receivedAt, labels }) => ({ accountId, receivedAt, labels }));
    },
    async conversationsBetween(workspace, from, to) {
      const found = await conversations.find({ workspace, createdAt: { $gte: from, $lt: to } }, { projection: { accountId: 1, createdAt: 1, firstResponseAt: 1, slaDueAt: 1, status: 1 } }).toArray();
      return found.map((doc) => fromDoc<Conversation>(doc as Doc<Conversation>));
    },
    async openCount(workspace) {
      return conversations.countDocuments({ workspace, status: 'open' });
    },
    async purgeBefore(cutoff) {
      // A conversation goes once nothing has happened in it since the cutoff; its items and replies with it.
      const old = await conversations.find({ lastItemAt: { $lt: cutoff } }, { projection: { _id: 1 } }).toArray();
      const ids = old.map((c) => c._id);
      const itemsDeleted = await items.deleteMany({ $or: [{ conversationId: { $in: ids } }, { receivedAt: { $lt: cutoff } }] });
      const repliesDeleted = await replies.deleteMany({ $or: [{ conversationId: { $in: ids } }, { createdAt: { $lt: cutoff } }] });
      const conversationsDeleted = await conversations.deleteMany({ _id: { $in: ids } });
      await summaries.deleteMany({ updatedAt: { $lt: cutoff } });
      return { items: itemsDeleted.deletedCount, conversations: conversationsDeleted.deletedCount, replies: repliesDeleted.deletedCount };
    },
  };
}
