import { z } from 'zod';
import type { ActionClicked, ChatAdapter, ConversationRef, UserRef } from '../src/chat/port.ts';
import { parseRef } from '../src/chat/port.ts';
import type { Delivery, Draft } from '../src/core/draft.ts';
import { errorMessage, UserError } from '../src/core/errors.ts';
import { networkIds, networks, type NetworkId } from '../src/core/networks.ts';
import { isApprover } from '../src/core/policy.ts';
import { defineFlow, type FlowContext } from '../src/flow.ts';
import { translator, type Translate } from '../src/i18n/catalogue.ts';
import { JobNames } from '../src/jobs/names.ts';
import { defineJob } from '../src/jobs/scheduler.ts';
import type { Logger } from '../src/log.ts';
import { connectorFor } from '../src/networks/index.ts';
import { NetworkError, type PublishInput } from '../src/networks/port.ts';
import type { LedgerEntry } from '../src/store/ledger.ts';
import { refreshCard } from './approval.ts';
import { parseEntity } from './approval-card.ts';
import { recordOutcome } from './metrics.ts';

export const PUBLISHING = 'publishing';
const MAX_RETRY_DELAY_MS = 30 * 60_000;
/** Lock lifetime of a network job: a live run renews it; a dead replica's lapses after this. */
const NETWORK_LOCK_MS = 30_000;

const platformOf = (draft: Draft): UserRef['platform'] => draft.workspace.split(':')[0] as UserRef['platform'];
const userOf = (draft: Draft, user: string): UserRef => ({ platform: platformOf(draft), workspace: draft.workspace.split(':')[1] ?? '', user });
export const publishKey = (draft: Pick<Draft, 'id' | 'version'>, network: NetworkId): string => `publish:${draft.id}:v${draft.version}:${network}`;

async function tForWorkspace(app: FlowContext, workspace: string): Promise<Translate> {
  return translator((await app.stores.settings.get(workspace)).locale);
}

/** Where the team reads about its drafts: the approvals channel, else the channel of the draft's card. */
async function teamChannel(app: FlowContext, draft: Draft): Promise<ConversationRef | undefined> {
  const settings = await app.stores.settings.get(draft.workspace);
  const card = draft.card ? parseRef(draft.card) : undefined;
  if (!card) return undefined;
  return { platform: card.platform, workspace: card.workspace, channel: settings.approvalsChannel ?? card.channel };
}

/**
 * A due (or "publish now") draft: one delivery per network, each its own job so every network
 * succeeds or fails on its own. While publishing is paused, deliveries are held instead.
 */
export async function startPublishing(app: FlowContext, draft: Draft, log: Logger, options: { manual?: boolean } = {}): Promise<void> {
  const settings = await app.stores.settings.get(draft.workspace);
  const held = Boolean(settings.paused) && !options.manual;
  if (!(await app.stores.drafts.update(draft.id, draft, { status: 'publishing' }))) return;
  await app.stores.audit.append({ draftId: draft.id, actorId: 'herald', actorName: 'Herald', action: 'publish', from: draft.status, to: 'publishing', version: draft.version, ...(held ? { comment: 'held: publishing is paused' } : {}) });
  for (const network of draft.networks) {
    await app.stores.deliveries.set(draft.id, draft.version, { network, status: held ? 'held' : 'pending', attempts: 0, at: app.clock.now(), ...(held ? { reason: settings.paused?.reason } : {}) });
    if (!held) await app.scheduler.now(JobNames.publishNetwork, { draftId: draft.id, version: draft.version, network, attempt: 1, manual: Boolean(options.manual) });
  }
  log.info({ draftId: draft.id, networks: draft.networks, held }, held ? 'publication held: publishing is paused' : 'publication started');
  const chat = app.chat.get(platformOf(draft));
  if (chat) await refreshCard(app, chat, draft);
}

/** When every network is done, the draft is published or failed, and the author hears about failures. */
async function settle(app: FlowContext, draftId: string, version: number, log: Logger): Promise<void> {
  const draft = await app.stores.drafts.get(draftId);
  if (!draft || draft.version !== version) return;
  const chat = app.chat.get(platformOf(draft));
  const deliveries = await app.stores.deliveries.forVersion(draftId, version);
  const done = deliveries.length === draft.networks.length && deliveries.every((d) => d.status === 'published' || d.status === 'failed');
  if (done && (draft.status === 'publishing' || draft.status === 'failed')) {
    const failed = deliveries.filter((d) => d.status === 'failed');
    const to = failed.length === 0 ? 'published' : 'failed';
    if (to !== draft.status && (await app.stores.drafts.update(draft.id, draft, { status: to }))) {
      await app.stores.audit.append({ draftId, actorId: 'herald', actorName: 'Herald', action: 'publish', from: draft.status, to, version, ...(failed.length ? { comment: failed.map((d) => `${d.network}: ${d.reason ?? ''}`).join('; ') } : {}) });
      log.info({ draftId, status: to, failed: failed.map((d) => d.network) }, 'publication settled');
    }
  }
  if (chat) await refreshCard(app, chat, draft);
}

const networkJob = z.object({
  draftId: z.string().regex(/^d-[a-z0-9]+$/),
  version: z.number().int().min(1),
  network: z.enum(networkIds),
  attempt: z.number().int().min(1),
  /** A person asked for it (retry, publish now): goes through a pause and reopens a failed ledger entry. */
  manual: z.boolean(),
});

async function publishOne(app: FlowContext, job: z.infer<typeof networkJob>, log: Logger): Promise<void> {
  const { draftId, version, network, attempt, manual } = job;
  const draft = await app.stores.drafts.get(draftId);
  if (!draft || draft.version !== version || (draft.status !== 'publishing' && draft.status !== 'failed')) return;
  const t = await tForWorkspace(app, draft.workspace);
  const variant = draft.variants.find((v) => v.network === network);
  if (!variant) return;
  const record = (delivery: Omit<Delivery, 'network' | 'at'>): Promise<void> => app.stores.deliveries.set(draftId, version, { network, at: app.clock.now(), ...delivery });
  /** A publication the ledger says is done (by this run's predecessor or a concurrent one), with its link. */
  const recordDone = (entry: LedgerEntry): Promise<void> => record({ status: 'published', attempts: attempt, ...(typeof entry.result?.url === 'string' ? { url: entry.result.url } : {}) });
  const settings = await app.stores.settings.get(draft.workspace);
  if (settings.paused && !manual) {
    await record({ status: 'held', attempts: attempt - 1, reason: settings.paused.reason });
    return settle(app, draftId, version, log);
  }

  const key = publishKey(draft, network);
  const claim = await app.stores.ledger.begin(key, 'publish');
  if (claim.status === 'already-done') {
    await recordDone(claim.entry);
    return settle(app, draftId, version, log);
  }
  if (claim.status === 'failed-before') {
    if (!manual || !(await app.stores.ledger.reopen(key))) return;
  }
  // Begun before: a retry after a transient failure (the entry is idle), a run taking over from a
  // dead one (begun over a lock lifetime ago; it reconciles with the network first), or another run
  // of this very publication calling the network right now (a second replica, or a database whose
  // locks are not atomic). That last one must not post too: look again once its lock would lapse.
  if (claim.status === 'in-progress' && !(await app.stores.ledger.resume(key, new Date(app.clock.now().getTime() - NETWORK_LOCK_MS)))) {
    const current = await app.stores.ledger.get(key);
    if (current?.state === 'pending') {
      const at = new Date(Math.max(current.updatedAt.getTime() + NETWORK_LOCK_MS, app.clock.now().getTime()) + 1_000);
      await app.scheduler.at(at, JobNames.publishNetwork, job);
      log.info({ draftId, network, at }, 'publication under way in another run; looking again once its lock would have lapsed');
      return;
    }
    // It finished meanwhile: its outcome is recorded by the run that did it; show it here too.
    if (current?.state === 'done') await recordDone(current);
    return settle(app, draftId, version, log);
  }

  const fail = async (reason: string, fix: Delivery['fix'], accountId?: string): Promise<void> => {
    await app.stores.ledger.fail(key, reason);
    await record({ status: 'failed', attempts: attempt, reason, ...(fix ? { fix } : {}) });
    await recordOutcome(app, draft, network, { status: 'failed', reason, ...(accountId ? { accountId } : {}) }, log);
    log.warn({ draftId, network, reason }, 'publication failed on a network');
    const chat = app.chat.get(platformOf(draft));
    await chat?.notifyUser(userOf(draft, draft.authorId), { text: t('delivery.failedDm', { id: draft.id, network: networks[network].label, reason }) });
  };

  const account = await app.stores.accounts.forNetwork(draft.workspace, network);
  const connector = connectorFor(network);
  if (!account || !connector) {
    await fail(t('delivery.noAccount', { network: networks[network].label }), 'reconnect');
    return settle(app, draftId, version, log);
  }

  // Both times are stable across attempts and restarts (never the clock or updatedAt): record keys
  // derive from dueAt, and reconciliation searches from the first attempt.
  const input: PublishInput = { posts: variant.posts, images: [], idempotencyKey: key, dueAt: draft.scheduledAt ?? claim.entry.createdAt, firstAttemptAt: claim.entry.createdAt, firstAttempt: claim.status === 'started' };
  try {
    // The source message's images, fetched from the chat platform with their alt text.
    const chat = app.chat.get(platformOf(draft));
    for (const image of draft.images.slice(0, networks[network].maxImages)) {
      if (!chat) throw new NetworkError(network, 'unavailable', 'the chat platform holding the images is not connected');
      const file = await chat.downloadFile(image.url);
      input.images.push({ bytes: file.bytes, mimeType: file.mimeType, alt: image.alt });
    }
    const client = connector.create(await app.stores.accounts.credentials(account.id), log.child({ network, account: account.id }));
    const result = await client.publish(input);
    const first = result.posts[0];
    await app.stores.ledger.complete(key, { url: first?.url ?? null, remoteId: first?.remoteId ?? null, posts: result.posts.length });
    await record({ status: 'published', attempts: attempt, ...(first ? { url: first.url } : {}) });
    await app.stores.accounts.markHealthy(account.id);
    log.info({ draftId, network, url: first?.url, attempt }, 'published on a network');
    if (first) await recordOutcome(app, draft, network, { accountId: account.id, status: 'published', remoteId: first.remoteId, url: first.url }, log);
  } catch (caught) {
    const error = caught instanceof NetworkError ? caught : new NetworkError(network, 'unavailable', errorMessage(caught), { cause: caught });
    if (error.transient && attempt < app.config.PUBLISH_MAX_ATTEMPTS) {
      const backoff = Math.min(MAX_RETRY_DELAY_MS, app.config.PUBLISH_RETRY_BASE_MS * 2 ** (attempt - 1));
      const delay = Math.max(backoff, error.retryAfterMs ?? 0);
      await app.stores.ledger.pause(key);
      await record({ status: 'retrying', attempts: attempt, reason: t('delivery.retryingReason', { reason: error.message, seconds: Math.ceil(delay / 1000) }) });
      await app.scheduler.at(new Date(app.clock.now().getTime() + delay), JobNames.publishNetwork, { ...job, attempt: attempt + 1 });
      log.warn({ draftId, network, attempt, delayMs: delay, failure: error.failure }, 'transient publishing failure, will retry');
      return settle(app, draftId, version, log);
    }
    if (error.failure === 'auth_revoked') await announceFailingAccount(app, draft, account.id, error.message);
    await fail(t(`delivery.reason.${error.failure}`, { detail: error.message }), error.failure === 'auth_revoked' ? 'reconnect' : 'retry', account.id);
  }
  return settle(app, draftId, version, log);
}

/** A revoked credential marks the account unhealthy and tells the team, once per failure episode. */
async function announceFailingAccount(app: FlowContext, draft: Draft, accountId: string, reason: string): Promise<void> {
  const epoch = await app.stores.accounts.markFailing(accountId, reason);
  const claim = await app.stores.ledger.begin(`account-alert:${accountId}:${epoch}`, 'alert');
  if (claim.status !== 'started') return;
  const account = await app.stores.accounts.get(accountId);
  const channel = await teamChannel(app, draft);
  const chat = app.chat.get(platformOf(draft));
  const t = await tForWorkspace(app, draft.workspace);
  if (account && channel && chat) await chat.post(channel, { text: t('accounts.failingAlert', { network: networks[account.network].label, handle: account.handle, reason }) });
  await app.stores.ledger.complete(claim.entry.key, {});
}

async function onAction(app: FlowContext, event: ActionClicked, entityId: string, action: string, chat: ChatAdapter): Promise<void> {
  const t = translator(event.actor.locale);
  const entity = parseEntity(entityId);
  const draft = entity ? await app.stores.drafts.get(entity.draftId) : null;
  if (!entity || !draft) throw new UserError('draft_missing', t('draft.missing'));
  if (entity.version !== draft.version) throw new UserError('old_version', t('draft.refused.old_version', { version: entity.version, current: draft.version }));
  const membership = await chat.membership(event.actor.ref);
  const settings = await app.stores.settings.get(draft.workspace);
  const mayAct = membership.isAdmin || event.actor.ref.user === draft.authorId || isApprover(settings.policy.steps[0]?.approvers ?? { groups: [], users: [] }, { user: event.actor.ref.user, isAdmin: membership.isAdmin, groups: membership.groups });
  if (!mayAct) throw new UserError('not_allowed', t('delivery.notAllowed'));
  if (action !== 'retry') throw new UserError('unknown_action', t('chat.staleAction'));
  if (draft.status !== 'failed') throw new UserError('not_failed', t('draft.notAllowed', { status: t(`draft.status.${draft.status}`) }));
  const failed = (await app.stores.deliveries.forVersion(draft.id, draft.version)).filter((d) => d.status === 'failed');
  if (!(await app.stores.drafts.update(draft.id, draft, { status: 'publishing' }))) throw new UserError('changed_meanwhile', t('draft.changedMeanwhile'));
  await app.stores.audit.append({ draftId: draft.id, actorId: event.actor.ref.user, actorName: event.actor.name, action: 'retry', from: 'failed', to: 'publishing', version: draft.version, comment: failed.map((d) => d.network).join(', ') });
  for (const delivery of failed) {
    await app.stores.deliveries.set(draft.id, draft.version, { network: delivery.network, status: 'pending', attempts: 0, at: app.clock.now() });
    await app.scheduler.now(JobNames.publishNetwork, { draftId: draft.id, version: draft.version, network: delivery.network, attempt: 1, manual: true });
  }
  await refreshCard(app, chat, draft);
}

export default defineFlow({
  name: PUBLISHING,
  jobs: (app) => [
    defineJob({
      name: JobNames.publishNetwork,
      schema: networkJob,
      // Its own retries (Retry-After aware) are scheduled by the handler. A crash leaves the ledger
      // entry pending; the run renews its lock while alive, so a dead replica's lock lapses within
      // this time and another run reconciles with the network (findPublished) instead of posting again.
      lockLifetimeMs: NETWORK_LOCK_MS,
      // Every network job may run at once, up to the process's limit (not Agenda's per-name 5).
      concurrency: app.config.SCHEDULER_MAX_CONCURRENCY,
      // One per post and network: the deliveries and the ledger keep the history, not the job.
      removeOnComplete: true,
      handler: (data, { log }) => publishOne(app, data, log),
    }),
  ],
  chat: (app) => ({
    actions: { [PUBLISHING]: (event, id, chat) => onAction(app, event, id.entityId, id.action, chat) },
  }),
});
