import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ActionId } from '../src/chat/action-id.ts';
import { mention, stripMentionMarks } from '../src/chat/model.ts';
import type { ActionClicked, ChatAdapter, ConversationRef, FormSubmitted, UserRef } from '../src/chat/port.ts';
import { parseRef, serializeRef } from '../src/chat/port.ts';
import type { ConversationEvent } from '../src/chat/dispatcher.ts';
import { errorMessage, UserError } from '../src/core/errors.ts';
import { defaultBusinessHours, isRisky, isVip, planDelivery, route, slaDueAt, topTerms } from '../src/core/inbox.ts';
import { measure, networks, type NetworkId } from '../src/core/networks.ts';
import { isApprover } from '../src/core/policy.ts';
import { defineFlow, type FlowContext } from '../src/flow.ts';
import { translator, type Translate } from '../src/i18n/catalogue.ts';
import { JobNames } from '../src/jobs/names.ts';
import { defineJob } from '../src/jobs/scheduler.ts';
import type { Logger } from '../src/log.ts';
import { clientFor, connectorFor } from '../src/networks/index.ts';
import { NetworkError, type InboxItem } from '../src/networks/port.ts';
import type { Account } from '../src/store/accounts.ts';
import type { WorkspaceSettings } from '../src/store/settings.ts';
import { itemIdFor, newConversationId, type Conversation, type InboxSummary, type OutboundReply, type StoredItem } from '../src/store/inbox.ts';
import { channelRef, conversationCard, followUpMessage, INBOX, replyApprovalCard, summaryMessage } from './inbox-card.ts';
import { paced, postOnce } from './chat-writes.ts';
import { observeItems, underIncident } from './crisis.ts';
import { createInboxStreams, type InboxStreams } from './inbox-stream.ts';

/**
 * The social inbox: each account's new comments, mentions, quotes and direct messages become cards
 * in a channel (one per conversation, further messages in its thread); a reply typed in the thread
 * goes back to the network as a reply to that item, exactly once, after an approval when risky.
 */

/** Cards per channel per delivery round; above this many waiting items a channel is in a burst. */
const ROUND_BUDGET = 10;
const BURST_THRESHOLD = 10;
/** A summary keeps collecting while items keep coming within this window. */
const SUMMARY_WINDOW_MS = 15 * 60_000;
const MAX_REPLY_RETRY_MS = 30 * 60_000;

const platformOf = (workspace: string): UserRef['platform'] => workspace.split(':')[0] as UserRef['platform'];
const userOf = (workspace: string, user: string): UserRef => ({ platform: platformOf(workspace), workspace: workspace.split(':')[1] ?? '', user });
/** A message's identity without its thread part: a Discord thread's parent names the thread too. */
const messageKey = (ref: ConversationRef): string => serializeRef({ platform: ref.platform, workspace: ref.workspace, channel: ref.channel, ...(ref.message ? { message: ref.message } : {}) });

async function tFor(app: FlowContext, workspace: string): Promise<Translate> {
  return translator((await app.stores.settings.get(workspace)).locale);
}

// ---------------------------------------------------------------------------------------------
// Ingestion

/** What a page needs of a conversation its items continue: where it lives. */
type ParentConversation = Pick<Conversation, 'id' | 'channel'>;

/**
 * The stored conversations a page's items continue, by the remote id they answer: the one holding
 * that post (an earlier item, whose channel is its conversation's, or one of our replies). A
 * primary-key lookup per parent item; our replies cost one query and a lookup each.
 */
async function parentConversations(app: FlowContext, network: NetworkId, items: readonly InboxItem[]): Promise<Map<string, ParentConversation>> {
  const parents = [...new Set(items.map((item) => item.inReplyTo).filter((id): id is string => Boolean(id)))];
  if (parents.length === 0) return new Map();
  const found = new Map<string, ParentConversation>();
  const recent = recentOf(app);
  for (const remoteId of parents) {
    const owner = recent.get(itemIdFor(network, remoteId));
    if (owner) found.set(remoteId, owner);
  }
  const unknown = parents.filter((remoteId) => !found.has(remoteId));
  const viaItems = await app.stores.inbox.conversationsOfItems(unknown.map((remoteId) => itemIdFor(network, remoteId)));
  for (const remoteId of unknown) {
    const owner = viaItems.get(itemIdFor(network, remoteId));
    if (owner) found.set(remoteId, { id: owner.conversationId, channel: owner.channel });
  }
  const rest = parents.filter((remoteId) => !found.has(remoteId));
  if (rest.length === 0) return found;
  const viaReplies = await app.stores.inbox.conversationsOfReplies(rest);
  const conversations = await app.stores.inbox.conversationsById([...new Set(viaReplies.values())]);
  for (const [remoteId, conversationId] of viaReplies) {
    const conversation = conversations.get(conversationId);
    if (conversation) found.set(remoteId, conversation);
  }
  return found;
}

/**
 * The conversations of items this process stored lately, by item id: most follow-ups answer a
 * recent item, and each one found here is a database lookup saved. An item's conversation and
 * channel never change; an entry lives ten minutes, far less than the shortest retention, so it
 * never names a purged conversation (a purge in this process empties it anyway).
 */
const RECENT_TTL_MS = 10 * 60_000;
const RECENT_MAX = 20_000;
class RecentOwners {
  private readonly entries = new Map<string, ParentConversation & { at: number }>();
  get(itemId: string): ParentConversation | undefined {
    const entry = this.entries.get(itemId);
    if (!entry) return undefined;
    if (Date.now() - entry.at > RECENT_TTL_MS) {
      this.entries.delete(itemId);
      return undefined;
    }
    return { id: entry.id, channel: entry.channel };
  }
  set(itemId: string, owner: ParentConversation): void {
    this.entries.set(itemId, { id: owner.id, channel: owner.channel, at: Date.now() });
    // Oldest first in a Map: drop from the front.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= RECENT_MAX) break;
      this.entries.delete(key);
    }
  }
  clear(): void {
    this.entries.clear();
  }
}
const recentOwners = new WeakMap<FlowContext, RecentOwners>();
function recentOf(app: FlowContext): RecentOwners {
  let found = recentOwners.get(app);
  if (!found) recentOwners.set(app, (found = new RecentOwners()));
  return found;
}

/** The newest ids of a fetched page kept as its edge (a page holds at most a few hundred). */
const MAX_EDGE = 500;

/** Accounts whose fetch is running in this process. */
const fetching = new Set<string>();

/** Each running Herald's push channels (Mastodon streams), opened by the accounts' first fetch. */
const streams = new WeakMap<FlowContext, InboxStreams>();
function streamsOf(app: FlowContext): InboxStreams {
  let found = streams.get(app);
  if (!found) {
    const log = app.log.child({ flow: INBOX });
    found = createInboxStreams({ log, fetch: (accountId) => fetchAccount(app, accountId, log) });
    streams.set(app, found);
  }
  return found;
}

/**
 * One fetch of an account, whoever asked (its recurring job or its stream). Failures are logged
 * and leave the cursor where it was: the next run reads from there, so nothing is skipped.
 */
async function fetchAccount(app: FlowContext, accountId: string, log: Logger): Promise<void> {
  // One fetch per account at a time in this process: a run that outlasts the interval, or a lock
  // the database failed to hold, must not read the same page twice at once.
  if (fetching.has(accountId)) return;
  fetching.add(accountId);
  try {
    await ingest(app, accountId, log);
  } catch (error) {
    if (error instanceof NetworkError && error.failure === 'auth_revoked') {
      await app.stores.accounts.markFailing(accountId, error.message);
      streams.get(app)?.drop(accountId);
    }
    log.warn({ accountId, err: errorMessage(error) }, 'inbox fetch failed; the next run retries from the same cursor');
  } finally {
    fetching.delete(accountId);
  }
}

/** When each workspace was last checked for items a failed delivery left waiting (per process). */
const waitingChecked = new Map<string, number>();
const WAITING_CHECK_MS = 60_000;

/**
 * Items a delivery gave up on (the chat platform down beyond the job's retries) are tried again:
 * a fetch that brought nothing new looks for them, at most once a minute per workspace, so idle
 * fetches do not queue a delivery each.
 */
async function leftWaiting(app: FlowContext, workspace: string): Promise<boolean> {
  const now = Date.now();
  if (now - (waitingChecked.get(workspace) ?? 0) < WAITING_CHECK_MS) return false;
  waitingChecked.set(workspace, now);
  return app.stores.inbox.hasWaiting(workspace);
}

/**
 * Labels, routes and stores a fetched page with a handful of database writes, whatever its size:
 * new conversations and new items go in one insert each, and only follow-ups of earlier
 * conversations update those one by one. `edge`: the ids the previous fetch returned, which this
 * one may return again (cursors are inclusive at their edge); they are dropped before they cost a
 * model call. Anything else already stored (a lost cursor) is refused by the primary key at insert.
 * Returns the items it stored.
 */
async function storePage(app: FlowContext, account: Account, settings: WorkspaceSettings, items: readonly InboxItem[], edge: ReadonlySet<string>): Promise<StoredItem[]> {
  const ids = items.map((item) => itemIdFor(account.network, item.remoteId));
  const known = new Set(ids.filter((id) => edge.has(id)));
  const now = app.clock.now();
  const earlier = await parentConversations(app, account.network, items.filter((_, index) => !known.has(ids[index]!)));
  const created = new Map<string, { conversation: Conversation; slaMinutes?: number }>();
  const byRemote = new Map<string, ParentConversation>();
  const joins: { conversationId: string; itemId: string; risky: boolean }[] = [];
  const records: StoredItem[] = [];
  for (const [index, item] of items.entries()) {
    const id = ids[index]!;
    if (known.has(id)) continue;
    known.add(id);
    const labels = await app.assistant.classify(item.text);
    const rule = route(settings.inboxRules, { accountId: account.id, text: item.text, authorHandle: item.author.handle, labels });
    const risky = isRisky(labels, item.author.followers, app.config.INBOX_RISKY_FOLLOWERS, rule);
    // The conversation it continues: one started earlier in this page, or one stored before.
    const parent = item.inReplyTo ? (byRemote.get(item.inReplyTo) ?? earlier.get(item.inReplyTo)) : undefined;
    let conversation: ParentConversation;
    if (parent) {
      conversation = parent;
      const fresh = created.get(parent.id)?.conversation;
      if (fresh) Object.assign(fresh, { itemCount: fresh.itemCount + 1, risky: fresh.risky || risky });
      else joins.push({ conversationId: parent.id, itemId: id, risky });
    } else {
      const sla = rule?.slaMinutes ? slaDueAt(now, rule.slaMinutes, { ...defaultBusinessHours, ...settings.businessHours, timeZone: settings.timezone ?? 'UTC' }) : undefined;
      const started: Conversation = {
        id: newConversationId(),
        workspace: account.workspace,
        accountId: account.id,
        network: account.network,
        channel: rule?.channel ?? settings.approvalsChannel ?? '',
        ...(rule ? { ruleId: rule.id } : {}),
        status: 'open',
        rootItemId: id,
        risky,
        itemCount: 1,
        createdAt: now,
        lastItemAt: now,
        ...(sla ? { slaDueAt: sla } : {}),
      };
      created.set(started.id, { conversation: started, ...(rule?.slaMinutes ? { slaMinutes: rule.slaMinutes } : {}) });
      conversation = started;
    }
    byRemote.set(item.remoteId, conversation);
    records.push({
      ...item,
      id,
      starts: !parent,
      workspace: account.workspace,
      accountId: account.id,
      network: account.network,
      receivedAt: now,
      labels,
      vip: isVip(settings.inboxRules, item.author.handle),
      conversationId: conversation.id,
      channel: conversation.channel,
      ...(rule ? { ruleId: rule.id } : {}),
      delivery: 'waiting',
    });
  }
  if (records.length === 0) return [];
  const fresh = [...created.values()];
  // Conversations first: a crash before their items leaves conversations without items (they list
  // nowhere and retention removes them), never an item without its conversation.
  await app.stores.inbox.createConversations(fresh.map((c) => c.conversation));
  const inserted = await app.stores.inbox.insertItems(records);
  // An item stored before (a lost cursor) or by another fetch meanwhile keeps its own conversation;
  // the one made here goes. The refused roots are read back rather than trusted from the insert's
  // answer, which a server without atomic inserts (the FerretDB the tests use) can get wrong under
  // concurrent writes; a root the insert took is ours.
  const refusedRoots = fresh.filter((c) => !inserted.has(c.conversation.rootItemId));
  const owners = await app.stores.inbox.conversationsOfItems(refusedRoots.map((c) => c.conversation.rootItemId));
  const lost = new Set(refusedRoots.filter((c) => owners.get(c.conversation.rootItemId)?.conversationId !== c.conversation.id).map((c) => c.conversation.id));
  await app.stores.inbox.dropConversations([...lost]);
  const recent = recentOf(app);
  for (const record of records) if (inserted.has(record.id) && !lost.has(record.conversationId)) recent.set(record.id, { id: record.conversationId, channel: record.channel });
  // Continued conversations: counted per conversation, all updated in one command. A new message
  // reopens a resolved conversation, a more worrying one makes it risky: neither needs it read first.
  const continued = new Map<string, { id: string; count: number; risky: boolean }>();
  for (const { conversationId, itemId, risky } of joins) {
    if (!inserted.has(itemId)) continue;
    const entry = continued.get(conversationId) ?? { id: conversationId, count: 0, risky: false };
    continued.set(conversationId, { id: conversationId, count: entry.count + 1, risky: entry.risky || risky });
  }
  await app.stores.inbox.continueConversations([...continued.values()], now);
  for (const { conversation, slaMinutes } of fresh) if (slaMinutes && !lost.has(conversation.id)) await scheduleSla(app, conversation, slaMinutes);
  return records.filter((record) => inserted.has(record.id));
}

/** A network item's words as inert text: a mention mark in them must not become a mention (model.ts). */
function inertItem(item: InboxItem): InboxItem {
  const { displayName } = item.author;
  return { ...item, text: stripMentionMarks(item.text), author: { ...item.author, handle: stripMentionMarks(item.author.handle), ...(displayName === undefined ? {} : { displayName: stripMentionMarks(displayName) }) } };
}

/** Fetches an account's new items, labels, routes and stores them; returns how many were new. */
export async function ingest(app: FlowContext, accountId: string, log: Logger): Promise<number> {
  const account = await app.stores.accounts.get(accountId);
  if (!account) {
    // Removed since: its recurring fetch and its stream go too.
    await app.scheduler.cancel(JobNames.inboxFetch, { accountId });
    streams.get(app)?.drop(accountId);
    return 0;
  }
  const credentials = await app.stores.accounts.credentials(account.id);
  const client = clientFor(account, credentials, log);
  if (!client?.fetchInbox) return 0;
  if (app.config.INBOX_STREAMING === 'on') streamsOf(app).keep(account.id, credentials, client);
  const { cursor, edge = [] } = await app.stores.inbox.cursor(account.id);
  const page = await client.fetchInbox(cursor);
  const settings = await app.stores.settings.get(account.workspace);
  const fresh = await storePage(app, account, settings, page.items.map(inertItem), new Set(edge));
  const stored = fresh.length;
  await observeItems(app, account, settings, fresh, log);
  const pageIds = page.items.map((item) => itemIdFor(account.network, item.remoteId)).slice(-MAX_EDGE);
  await app.stores.inbox.saveCursor({ accountId: account.id, ...(page.cursor ? { cursor: page.cursor } : {}), polledAt: app.clock.now(), lastCount: stored, edge: pageIds.length > 0 ? pageIds : edge });
  if (stored > 0 || (await leftWaiting(app, account.workspace))) await app.scheduler.now(JobNames.inboxDeliver, { workspace: account.workspace });
  if (stored > 0) {
    log.info({ account: account.id, network: account.network, fetched: page.items.length, stored }, 'inbox items stored');
  }
  return stored;
}

/** Each account's recurring fetch at its own interval (all accounts, or those named); at start and when accounts change. */
export async function scheduleFetches(app: FlowContext, only?: readonly string[]): Promise<void> {
  const workspaces = new Set<string>();
  const accounts = await app.db.collection<{ _id: string; workspace: string; network: NetworkId }>('accounts').find(only ? { _id: { $in: [...only] } } : {}, { projection: { workspace: 1, network: 1 } }).toArray();
  for (const account of accounts) workspaces.add(account.workspace);
  const intervals = new Map<string, number>();
  for (const workspace of workspaces) for (const entry of (await app.stores.settings.get(workspace)).inboxPoll) intervals.set(entry.accountId, entry.seconds);
  for (const account of accounts) {
    const connector = connectorFor(account.network);
    if (!connector) continue;
    const seconds = intervals.get(account._id) ?? app.config.INBOX_POLL_SECONDS;
    await app.scheduler.everyFor(`${seconds} seconds`, JobNames.inboxFetch, { accountId: account._id });
  }
}

// ---------------------------------------------------------------------------------------------
// Delivery to chat

async function postCard(app: FlowContext, chat: ChatAdapter, conversation: Conversation, item: StoredItem, t: Translate): Promise<string | undefined> {
  const where = channelRef(conversation.workspace, conversation.channel);
  const card = await postOnce(app, `inbox-card:${conversation.id}`, () => paced(app, where, () => chat.post(where, conversationCard(conversation, item, t, { notePrefix: app.config.INBOX_NOTE_PREFIX }))));
  if (!card) return undefined;
  await app.stores.inbox.updateConversation(conversation.id, { card });
  // The thread is where the team answers; on Discord it has to be started (no message needed).
  await chat.openThread(parseRef(card)!).catch((error: unknown) => app.log.warn({ conversationId: conversation.id, err: errorMessage(error) }, 'could not start the card’s thread'));
  return card;
}

/** Re-renders a conversation's card from the database (owner, status, count). */
async function refreshCard(app: FlowContext, chat: ChatAdapter, conversationId: string): Promise<void> {
  const conversation = await app.stores.inbox.conversation(conversationId);
  const card = conversation?.card ? parseRef(conversation.card) : undefined;
  if (!conversation || !card) return;
  const item = await app.stores.inbox.item(conversation.rootItemId);
  if (!item) return;
  const t = await tFor(app, conversation.workspace);
  await paced(app, card, () => chat.update(card, conversationCard(conversation, item, t, { notePrefix: app.config.INBOX_NOTE_PREFIX })));
}

async function addToSummary(app: FlowContext, chat: ChatAdapter, workspace: string, channel: string, items: StoredItem[], t: Translate): Promise<void> {
  const now = app.clock.now();
  const current = await app.stores.inbox.currentSummary(workspace, channel, new Date(now.getTime() - SUMMARY_WINDOW_MS));
  const summary: InboxSummary = current ?? { id: `s-${createHash('sha256').update(`${workspace}:${channel}:${now.toISOString()}`).digest('hex').slice(0, 12)}`, workspace, channel, count: 0, negative: 0, neutral: 0, positive: 0, terms: [], startedAt: now, updatedAt: now };
  await app.stores.inbox.updateItems(items.map((item) => item.id), { delivery: 'summarised', summaryId: summary.id });
  summary.count += items.length;
  for (const item of items) summary[item.labels.sentiment] += 1;
  summary.terms = topTerms([...(await app.stores.inbox.summarised(summary.id, 500)).map((i) => i.text)]);
  summary.updatedAt = now;
  await app.stores.inbox.saveSummary(summary);
  const where = channelRef(workspace, channel);
  const existing = summary.ref ? parseRef(summary.ref) : undefined;
  if (existing) await paced(app, where, () => chat.update(existing, summaryMessage(summary, t)));
  else {
    const ref = await paced(app, where, () => chat.post(where, summaryMessage(summary, t)));
    await app.stores.inbox.saveSummary({ ...summary, ref: serializeRef(ref) });
  }
}

/** Posts a workspace's waiting items: follow-ups into their threads, new conversations as cards or a summary. */
export async function deliver(app: FlowContext, workspace: string, log: Logger): Promise<void> {
  const chat = app.chat.get(platformOf(workspace));
  if (!chat) return;
  const settings = await app.stores.settings.get(workspace);
  const t = translator(settings.locale);
  for (let round = 0; round < 1_000; round += 1) {
    const waiting = await app.stores.inbox.waiting(workspace, 2_000);
    if (waiting.length === 0) return;
    const progress = { cards: 0, followUps: 0, summarised: 0 };
    const byChannel = new Map<string, StoredItem[]>();
    for (const item of waiting) {
      const list = byChannel.get(item.channel) ?? [];
      list.push(item);
      byChannel.set(item.channel, list);
    }
    for (const [channel, items] of byChannel) {
      const fresh: StoredItem[] = [];
      const touched = new Set<string>();
      for (const item of items) {
        if (item.starts) {
          fresh.push(item);
          continue;
        }
        const conversation = await app.stores.inbox.conversation(item.conversationId);
        if (!conversation) continue;
        const root = await app.stores.inbox.item(conversation.rootItemId);
        if (conversation.card) {
          // The conversation's next message joins its thread.
          const card = parseRef(conversation.card)!;
          const ref = await postOnce(app, `inbox-item:${item.id}`, () => paced(app, card, () => chat.reply(card, followUpMessage(item, t))));
          if (!ref) continue;
          await app.stores.inbox.updateItem(item.id, { delivery: 'joined', chatRef: ref });
          touched.add(conversation.id);
          progress.followUps += 1;
        } else if (root?.delivery === 'summarised') {
          await addToSummary(app, chat, workspace, channel, [item], t);
          progress.summarised += 1;
        }
        // Otherwise its root is still waiting: it joins the thread once the card exists.
      }
      const plan = planDelivery(fresh, { budget: ROUND_BUDGET, burstThreshold: BURST_THRESHOLD });
      // The summary first: one message tells the channel about the whole burst at once, while the
      // cards that follow take a second each.
      if (plan.summarised.length > 0) {
        await addToSummary(app, chat, workspace, channel, plan.summarised, t);
        progress.summarised += plan.summarised.length;
      }
      for (const item of plan.cards) {
        const conversation = await app.stores.inbox.conversation(item.conversationId);
        if (!conversation) continue;
        const card = conversation.card ?? (await postCard(app, chat, conversation, item, t));
        // No card (another run is posting it): the item waits for the next round.
        if (!card) continue;
        await app.stores.inbox.updateItem(item.id, { delivery: 'carded', chatRef: card });
        progress.cards += 1;
      }
      for (const conversationId of touched) await refreshCard(app, chat, conversationId);
    }
    log.info({ workspace, ...progress }, 'inbox delivery round');
    if (progress.cards + progress.followUps + progress.summarised === 0) return;
  }
}

/** Shows a conversation: a link to its card, or its card posted now (an item a burst summarised). */
export async function showConversation(app: FlowContext, chat: ChatAdapter, conversationId: string, workspace: string, t: Translate): Promise<string> {
  const conversation = await app.stores.inbox.conversation(conversationId);
  if (!conversation || conversation.workspace !== workspace || conversation.itemCount === 0) throw new UserError('inbox_missing', t('inbox.missing'));
  const item = await app.stores.inbox.item(conversation.rootItemId);
  if (!item) throw new UserError('inbox_missing', t('inbox.missing'));
  const card = conversation.card ?? (await postCard(app, chat, conversation, item, t));
  if (!card) throw new UserError('inbox_busy', t('inbox.busy'));
  if (item.delivery !== 'carded') await app.stores.inbox.updateItem(item.id, { delivery: 'carded', chatRef: card });
  return (await chat.permalink(parseRef(card)!)) ?? card;
}

// ---------------------------------------------------------------------------------------------
// Replies from the thread

/**
 * The conversation whose card starts this thread. A person can answer a card the moment it shows,
 * before Herald has stored where the card is: look again a few times before deciding it is not ours.
 */
async function conversationOfThread(app: FlowContext, parent: ConversationRef): Promise<Conversation | null> {
  for (const delay of [0, 200, 400, 800]) {
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    const found = await app.stores.inbox.conversationByCard(messageKey(parent));
    if (found) return found;
  }
  return null;
}

/** One reply per chat message, whatever number of times the platform delivers the event. */
const replyIdOf = (source: ConversationRef): string => `r-${createHash('sha256').update(messageKey(source)).digest('hex').slice(0, 16)}`;

async function onThreadReply(app: FlowContext, event: ConversationEvent, chat: ChatAdapter): Promise<void> {
  if (event.type !== 'thread-reply') return;
  const conversation = await conversationOfThread(app, event.parent);
  if (!conversation) return;
  const text = event.text.trim();
  // Notes stay internal; so does an empty message (an image alone, say).
  if (text === '' || text.startsWith(app.config.INBOX_NOTE_PREFIX)) return;
  const t = await tFor(app, conversation.workspace);
  const card = parseRef(conversation.card!)!;
  const items = await app.stores.inbox.itemsOf(conversation.id);
  const target = items.at(-1);
  if (!target) return;
  const limit = networks[conversation.network];
  const length = measure(text, conversation.network);
  if (length > limit.maxLength) {
    await paced(app, card, () => chat.reply(card, { text: t('inbox.reply.tooLong', { user: mention(event.actor.ref.user), length, limit: limit.maxLength, network: limit.label, unit: limit.unit }) }));
    app.log.info({ conversationId: conversation.id, length }, 'inbox reply refused: too long for the network');
    return;
  }
  const now = app.clock.now();
  // Risky conversations, and every conversation of an account in an open incident, wait for an approver.
  const needsApproval = conversation.risky || (await underIncident(app, conversation.workspace, conversation.accountId));
  const reply: OutboundReply = {
    id: replyIdOf(event.message),
    conversationId: conversation.id,
    workspace: conversation.workspace,
    itemId: target.id,
    text,
    authorId: event.actor.ref.user,
    authorName: event.actor.name,
    source: serializeRef(event.message),
    state: needsApproval ? 'awaiting_approval' : 'sending',
    createdAt: now,
    updatedAt: now,
  };
  if (!(await app.stores.inbox.insertReply(reply))) return;
  if (needsApproval) {
    const ref = await paced(app, card, () => chat.reply(card, replyApprovalCard(reply, t)));
    await app.stores.inbox.updateReply(reply.id, { approvalCard: messageKey(ref) });
    app.log.info({ conversationId: conversation.id, replyId: reply.id }, 'inbox reply waits for an approval');
    return;
  }
  await app.scheduler.now(JobNames.inboxReply, { replyId: reply.id, attempt: 1 });
}

async function sendReply(app: FlowContext, replyId: string, attempt: number, log: Logger): Promise<void> {
  const reply = await app.stores.inbox.reply(replyId);
  if (!reply || reply.state !== 'sending') return;
  const conversation = await app.stores.inbox.conversation(reply.conversationId);
  const item = await app.stores.inbox.item(reply.itemId);
  if (!conversation || !item) return;
  const chat = app.chat.get(platformOf(conversation.workspace));
  const card = conversation.card ? parseRef(conversation.card) : undefined;
  const t = await tFor(app, conversation.workspace);
  const say = async (text: string): Promise<void> => {
    if (chat && card) await paced(app, card, () => chat.reply(card, { text }));
  };
  const key = `reply:${reply.id}`;
  const claim = await app.stores.ledger.begin(key, 'reply');
  const sent = async (remoteId: string | undefined, url: string | undefined): Promise<void> => {
    await app.stores.inbox.updateReply(reply.id, { state: 'sent', ...(remoteId ? { remoteId } : {}), ...(url ? { url } : {}) });
    if (!conversation.firstResponseAt) await app.stores.inbox.updateConversation(conversation.id, { firstResponseAt: app.clock.now() });
    await say(t('inbox.reply.sent', { network: networks[conversation.network].label, url: url ?? '' }));
    if (chat) await refreshCard(app, chat, conversation.id);
  };
  if (claim.status === 'already-done') {
    const result = claim.entry.result ?? {};
    return sent(typeof result.remoteId === 'string' ? result.remoteId : undefined, typeof result.url === 'string' ? result.url : undefined);
  }
  if (claim.status === 'failed-before') return;
  const fail = async (reason: string): Promise<void> => {
    await app.stores.ledger.fail(key, reason);
    await app.stores.inbox.updateReply(reply.id, { state: 'failed', error: reason });
    await say(t('inbox.reply.failed', { user: mention(reply.authorId), reason }));
    log.warn({ replyId, conversationId: conversation.id, reason }, 'inbox reply failed');
  };
  const account = await app.stores.accounts.get(conversation.accountId);
  if (!account) return fail(t('delivery.noAccount', { network: networks[conversation.network].label }));
  const client = clientFor(account, await app.stores.accounts.credentials(account.id), log);
  if (!client?.reply) return fail(t('inbox.reply.unsupported', { network: networks[conversation.network].label }));
  try {
    const result = await client.reply(item.remoteId, { posts: [reply.text], images: [], idempotencyKey: key, dueAt: claim.entry.createdAt, firstAttemptAt: claim.entry.createdAt, firstAttempt: claim.status === 'started' });
    const first = result.posts[0];
    await app.stores.ledger.complete(key, { remoteId: first?.remoteId ?? null, url: first?.url ?? null });
    log.info({ replyId, conversationId: conversation.id, url: first?.url }, 'inbox reply sent');
    await sent(first?.remoteId, first?.url);
  } catch (caught) {
    const error = caught instanceof NetworkError ? caught : new NetworkError(conversation.network, 'unavailable', errorMessage(caught), { cause: caught });
    if (error.transient && attempt < app.config.PUBLISH_MAX_ATTEMPTS) {
      const delay = Math.max(Math.min(MAX_REPLY_RETRY_MS, app.config.PUBLISH_RETRY_BASE_MS * 2 ** (attempt - 1)), error.retryAfterMs ?? 0);
      log.warn({ replyId, attempt, delayMs: delay, failure: error.failure }, 'transient reply failure, will retry');
      // The claim stays pending: the next attempt asks the network for an earlier reply before it posts.
      await app.scheduler.at(new Date(app.clock.now().getTime() + delay), JobNames.inboxReply, { replyId, attempt: attempt + 1 });
      return;
    }
    if (error.failure === 'auth_revoked') await app.stores.accounts.markFailing(account.id, error.message);
    await fail(t(`delivery.reason.${error.failure}`, { detail: error.message }));
  }
}

// ---------------------------------------------------------------------------------------------
// SLA

/** Reminders a quarter of the SLA before its deadline (at most 10 minutes, at least one), and at breach. */
async function scheduleSla(app: FlowContext, conversation: Conversation, minutes: number): Promise<void> {
  if (!conversation.slaDueAt) return;
  const due = conversation.slaDueAt.getTime();
  const lead = Math.min(10, Math.max(1, minutes / 4)) * 60_000;
  await app.scheduler.at(new Date(due - lead), JobNames.inboxSla, { conversationId: conversation.id, stage: 'before' });
  await app.scheduler.at(new Date(due), JobNames.inboxSla, { conversationId: conversation.id, stage: 'breach' });
}

async function remindSla(app: FlowContext, conversationId: string, stage: 'before' | 'breach', log: Logger): Promise<void> {
  const conversation = await app.stores.inbox.conversation(conversationId);
  if (!conversation || conversation.status !== 'open' || conversation.firstResponseAt || !conversation.slaDueAt) return;
  const claim = await app.stores.ledger.begin(`inbox-sla:${conversationId}:${stage}`, 'alert');
  if (claim.status !== 'started') return;
  const chat = app.chat.get(platformOf(conversation.workspace));
  const t = await tFor(app, conversation.workspace);
  const minutes = Math.max(0, Math.round((conversation.slaDueAt.getTime() - app.clock.now().getTime()) / 60_000));
  const text = stage === 'before' ? t('inbox.sla.soon', { minutes, owner: conversation.ownerId ? mention(conversation.ownerId) : t('inbox.status.unowned') }) : t('inbox.sla.breached', { owner: conversation.ownerId ? mention(conversation.ownerId) : t('inbox.status.unowned') });
  const card = conversation.card ? parseRef(conversation.card) : undefined;
  const where = card ?? (conversation.channel ? channelRef(conversation.workspace, conversation.channel) : undefined);
  if (chat && where) await paced(app, where, () => (card ? chat.reply(card, { text }) : chat.post(where, { text })));
  if (chat && conversation.ownerId) await chat.notifyUser(userOf(conversation.workspace, conversation.ownerId), { text: `${text} ${card ? ((await chat.permalink(card)) ?? '') : ''}`.trim() });
  await app.stores.ledger.complete(claim.entry.key, {});
  log.info({ conversationId, stage, owner: conversation.ownerId }, stage === 'before' ? 'inbox SLA reminder' : 'inbox SLA breached');
}

// ---------------------------------------------------------------------------------------------
// Buttons and forms

async function loadConversation(app: FlowContext, id: string, t: Translate): Promise<Conversation> {
  const conversation = await app.stores.inbox.conversation(id);
  if (!conversation) throw new UserError('inbox_missing', t('inbox.missing'));
  return conversation;
}

async function mayDecide(app: FlowContext, chat: ChatAdapter, event: ActionClicked | FormSubmitted, workspace: string): Promise<boolean> {
  const membership = await chat.membership(event.actor.ref);
  const policy = (await app.stores.settings.get(workspace)).policy;
  const approvers = policy.steps[0]?.approvers ?? { groups: [], users: [] };
  const nobodyNamed = approvers.groups.length === 0 && approvers.users.length === 0;
  return membership.isAdmin || (!nobodyNamed && isApprover(approvers, { user: event.actor.ref.user, isAdmin: membership.isAdmin, groups: membership.groups }));
}

async function onAction(app: FlowContext, event: ActionClicked, id: ActionId, chat: ChatAdapter): Promise<void> {
  const t = translator(event.actor.locale);
  const actor = event.actor.ref.user;
  switch (id.action) {
    case 'claim':
    case 'resolve':
    case 'reopen': {
      const conversation = await loadConversation(app, id.entityId, t);
      if (id.action === 'claim') await app.stores.inbox.updateConversation(conversation.id, { ownerId: actor, ownerName: event.actor.name });
      if (id.action === 'resolve') {
        if (conversation.status === 'resolved') throw new UserError('inbox_resolved', t('inbox.alreadyResolved'));
        await app.stores.inbox.updateConversation(conversation.id, { status: 'resolved', resolvedAt: app.clock.now(), resolvedBy: event.actor.name });
      }
      if (id.action === 'reopen') await app.stores.inbox.updateConversation(conversation.id, { status: 'open' }, ['resolvedAt', 'resolvedBy']);
      app.log.info({ conversationId: conversation.id, action: id.action, user: actor }, 'inbox conversation changed');
      await refreshCard(app, chat, conversation.id);
      return;
    }
    case 'assign': {
      const conversation = await loadConversation(app, id.entityId, t);
      if (conversation.ownerId !== actor && !(await mayDecide(app, chat, event, conversation.workspace))) throw new UserError('not_allowed', t('inbox.assignNotAllowed'));
      await event.respond.openForm({
        id: `${INBOX}:assign:${conversation.id}`,
        title: t('inbox.assignTitle'),
        submitLabel: t('inbox.button.assign'),
        fields: [{ kind: 'user', id: 'owner', label: t('inbox.field.owner'), required: true, ...(conversation.ownerId ? { initial: conversation.ownerId } : {}) }],
      });
      return;
    }
    case 'suggest': {
      const conversation = await loadConversation(app, id.entityId, t);
      const items = await app.stores.inbox.itemsOf(conversation.id);
      const item = items.at(-1);
      if (!item) throw new UserError('inbox_missing', t('inbox.missing'));
      const voice = (await app.stores.settings.get(conversation.workspace)).voice;
      const suggestion = await app.assistant.suggestReply({ text: item.text, authorName: item.author.displayName ?? item.author.handle, labels: item.labels, network: conversation.network, ...(voice ? { voice } : {}) });
      await event.respond.ephemeral({ text: t('inbox.suggestion', { text: suggestion.text }) });
      return;
    }
    case 'list': {
      const items = await app.stores.inbox.summarised(id.entityId, 25);
      const lines = items.map((item) => `• ${item.labels.sentiment} · @${item.author.handle}: ${item.text.slice(0, 120)} <${item.url}> (\`${item.conversationId}\`)`);
      await event.respond.ephemeral({ text: [t('inbox.listHeader', { count: items.length }), ...lines].join('\n') });
      return;
    }
    case 'approve-reply':
    case 'reject-reply':
    case 'edit-reply': {
      const reply = await app.stores.inbox.reply(id.entityId);
      if (!reply) throw new UserError('inbox_missing', t('inbox.missing'));
      if (reply.state !== 'awaiting_approval') throw new UserError('inbox_decided', t('inbox.reply.alreadyDecided'));
      const policy = (await app.stores.settings.get(reply.workspace)).policy;
      if (!(await mayDecide(app, chat, event, reply.workspace))) throw new UserError('not_allowed', t('inbox.reply.notApprover'));
      if (id.action !== 'edit-reply' && reply.authorId === actor && !policy.allowSelfApproval) throw new UserError('self_approval', t('draft.refused.self_approval'));
      if (id.action === 'edit-reply') {
        await event.respond.openForm({ id: `${INBOX}:edit-reply:${reply.id}`, title: t('inbox.reply.editTitle'), submitLabel: t('draft.button.edit'), fields: [{ kind: 'text', id: 'text', label: t('inbox.reply.editLabel'), initial: reply.text, required: true, multiline: true, maxLength: 3_000 }] });
        return;
      }
      const state = id.action === 'approve-reply' ? 'sending' : 'rejected';
      await app.stores.inbox.updateReply(reply.id, { state, decidedBy: event.actor.name });
      await chat.update(event.message, replyApprovalCard({ ...reply, state, decidedBy: event.actor.name }, t));
      app.log.info({ replyId: reply.id, decision: state, user: actor }, 'inbox reply decided');
      if (state === 'sending') await app.scheduler.now(JobNames.inboxReply, { replyId: reply.id, attempt: 1 });
      return;
    }
    default:
      throw new UserError('unknown_action', t('chat.staleAction'));
  }
}

async function onForm(app: FlowContext, event: FormSubmitted, id: ActionId, chat: ChatAdapter): Promise<void> {
  const t = translator(event.actor.locale);
  if (id.action === 'assign') {
    const conversation = await loadConversation(app, id.entityId, t);
    const owner = event.values.owner;
    if (!owner) throw new UserError('inbox_owner', t('inbox.field.owner'));
    await app.stores.inbox.updateConversation(conversation.id, { ownerId: owner });
    app.log.info({ conversationId: conversation.id, owner, by: event.actor.ref.user }, 'inbox conversation assigned');
    await refreshCard(app, chat, conversation.id);
    await chat.notifyUser(userOf(conversation.workspace, owner), { text: t('inbox.assignedDm', { by: event.actor.name, link: (conversation.card ? await chat.permalink(parseRef(conversation.card)!) : undefined) ?? conversation.id }) });
    return;
  }
  if (id.action === 'edit-reply') {
    const reply = await app.stores.inbox.reply(id.entityId);
    if (!reply || reply.state !== 'awaiting_approval') throw new UserError('inbox_decided', t('inbox.reply.alreadyDecided'));
    const text = (event.values.text ?? '').trim();
    const conversation = await loadConversation(app, reply.conversationId, t);
    const limit = networks[conversation.network];
    if (!text || measure(text, conversation.network) > limit.maxLength) throw new UserError('inbox_length', t('inbox.reply.tooLong', { user: mention(event.actor.ref.user), length: measure(text, conversation.network), limit: limit.maxLength, network: limit.label, unit: limit.unit }));
    await app.stores.inbox.updateReply(reply.id, { text });
    const card = reply.approvalCard ? parseRef(reply.approvalCard) : undefined;
    if (card) await chat.update(card, replyApprovalCard({ ...reply, text }, t));
    return;
  }
  throw new UserError('unknown_action', t('chat.staleAction'));
}

// ---------------------------------------------------------------------------------------------

export const inboxJobs = {
  fetch: z.object({ accountId: z.string().regex(/^acc-[a-z0-9]+$/) }),
  deliver: z.object({ workspace: z.string().regex(/^(slack|discord):[A-Za-z0-9._@-]+$/) }),
  reply: z.object({ replyId: z.string().regex(/^r-[a-f0-9]+$/), attempt: z.number().int().min(1) }),
  sla: z.object({ conversationId: z.string().regex(/^c-[a-f0-9]+$/), stage: z.enum(['before', 'breach']) }),
  purge: z.object({ retentionDays: z.number().int().min(1).max(3_650) }),
};

export default defineFlow({
  name: INBOX,
  jobs: (app) => [
    defineJob({
      name: JobNames.inboxFetch,
      schema: inboxJobs.fetch,
      lockLifetimeMs: 60_000,
      concurrency: app.config.SCHEDULER_MAX_CONCURRENCY,
      handler: ({ accountId }, { log }) => fetchAccount(app, accountId, log),
    }),
    defineJob({
      name: JobNames.inboxDeliver,
      schema: inboxJobs.deliver,
      // One delivery at a time per process keeps each channel's pace; a second run finds nothing waiting.
      concurrency: 1,
      removeOnComplete: true,
      retry: { maxRetries: 5, delayMs: 2_000, maxDelayMs: 60_000 },
      handler: ({ workspace }, { log }) => deliver(app, workspace, log),
    }),
    defineJob({
      name: JobNames.inboxReply,
      schema: inboxJobs.reply,
      lockLifetimeMs: 30_000,
      handler: ({ replyId, attempt }, { log }) => sendReply(app, replyId, attempt, log),
    }),
    defineJob({
      name: JobNames.inboxSla,
      schema: inboxJobs.sla,
      handler: ({ conversationId, stage }, { log }) => remindSla(app, conversationId, stage, log),
    }),
    defineJob({
      name: JobNames.inboxPurge,
      schema: inboxJobs.purge,
      async handler({ retentionDays }, { log }) {
        const cutoff = new Date(app.clock.now().getTime() - retentionDays * 86_400_000);
        const deleted = await app.stores.inbox.purgeBefore(cutoff);
        recentOwners.get(app)?.clear();
        log.info({ ...deleted, cutoff }, 'inbox items past retention deleted');
      },
    }),
  ],
  chat: (app) => ({
    actions: { [INBOX]: (event, id, chat) => onAction(app, event, id, chat) },
    forms: { [INBOX]: (event, id, chat) => onForm(app, event, id, chat) },
    listeners: [(event, chat) => onThreadReply(app, event, chat)],
  }),
  async start(app) {
    await app.scheduler.every('45 3 * * *', JobNames.inboxPurge, { retentionDays: app.config.INBOX_RETENTION_DAYS }, { timezone: 'UTC' });
    await scheduleFetches(app);
  },
  async stop(app) {
    await streams.get(app)?.close();
    streams.delete(app);
  },
});
