import { z } from 'zod';
import type { ActionId } from '../src/chat/action-id.ts';
import { mention } from '../src/chat/model.ts';
import type { ActionClicked, ChatAdapter, FormSubmitted, UserRef } from '../src/chat/port.ts';
import { parseRef } from '../src/chat/port.ts';
import { errorMessage, UserError } from '../src/core/errors.ts';
import { networks } from '../src/core/networks.ts';
import { pagedAt, turnAt } from '../src/core/oncall.ts';
import { isApprover } from '../src/core/policy.ts';
import { itemSignals } from '../src/core/signals.ts';
import { detectSpike, type SentimentCounts } from '../src/core/spike.ts';
import { defineFlow, type FlowContext } from '../src/flow.ts';
import { resolveLocale, translator, type Translate } from '../src/i18n/catalogue.ts';
import { JobNames } from '../src/jobs/names.ts';
import { defineJob } from '../src/jobs/scheduler.ts';
import type { Logger } from '../src/log.ts';
import type { Account } from '../src/store/accounts.ts';
import { newIncidentId, SLOT_MINUTES, type Incident, type IncidentEvent, type SignalKind } from '../src/store/crisis.ts';
import type { StoredItem } from '../src/store/inbox.ts';
import type { WorkspaceSettings } from '../src/store/settings.ts';
import { pausePublishing } from './pause.ts';
import { createDraft } from './approval.ts';
import { paced, postOnce, runOnce } from './chat-writes.ts';
import { CRISIS, incidentCard, incidentWhat } from './crisis-card.ts';
import { channelRef } from './inbox-card.ts';

/**
 * Crisis detection and on-call. The inbox hands every stored page to observeItems: volumes are
 * counted, item signals (watchlist, VIP or high-reach complaint, a crisis label) raise at once, and
 * the spike test runs on the account's counts. A signal opens the workspace's incident or joins the open one; an
 * opened incident pages the person on call, and each unacknowledged step pages the next person and
 * the escalation people, every step an Agenda job so a restart loses none. Everything that happens
 * is stored and written into the incident card's thread.
 */

const WEEK_MS = 7 * 86_400_000;
const BASELINE_WEEKS = 4;
/** Longest window the spike test looks at (src/core/spike.ts), read on top of the baseline weeks. */
const LONGEST_WINDOW_MS = 3 * 3_600_000;
/** Without a rotation, how long before the escalation people are paged again. */
const DEFAULT_ACK_MINUTES = 10;
/** A spike already in the incident is written to the timeline again only when it grew by half. */
const SPIKE_GROWTH = 1.5;
/** Raw volume counts are kept this long (the baseline needs four weeks of them). */
const VOLUME_RETENTION_WEEKS = 6;

const platformOf = (workspace: string): UserRef['platform'] => workspace.split(':')[0] as UserRef['platform'];
const userOf = (workspace: string, user: string): UserRef => ({ platform: platformOf(workspace), workspace: workspace.split(':')[1] ?? '', user });
const tOf = (settings: WorkspaceSettings): Translate => translator(settings.locale);

function countSentiments(items: readonly Pick<StoredItem, 'labels'>[]): SentimentCounts {
  const counts: SentimentCounts = { negative: 0, neutral: 0, positive: 0 };
  for (const item of items) counts[item.labels.sentiment] += 1;
  return counts;
}

/** Network time when it is sane (not in the future): a late fetch counts items when they happened. */
const countedAt = (item: StoredItem): Date => (item.createdAt.getTime() <= item.receivedAt.getTime() ? item.createdAt : item.receivedAt);

interface Signal {
  kind: SignalKind;
  /** The phrase or author that matched, for item signals. */
  detail: string;
  itemIds: string[];
  volume?: NonNullable<Incident['volume']>;
}

// ---------------------------------------------------------------------------------------------
// Observing the inbox

/**
 * Called by the inbox with each page it stored. Never throws into the inbox: a failure here is
 * logged, and the items are stored and delivered all the same.
 */
export async function observeItems(app: FlowContext, account: Account, settings: WorkspaceSettings, items: readonly StoredItem[], log: Logger): Promise<void> {
  if (items.length === 0) return;
  try {
    await app.stores.crisis.recordVolumes(account.id, items.map((item) => ({ at: countedAt(item), sentiment: item.labels.sentiment })));
    const signals = itemSignals(items, { watchlist: settings.crisis.watchlist, reachFollowers: settings.crisis.reachFollowers ?? app.config.INBOX_RISKY_FOLLOWERS });
    for (const signal of signals) await raise(app, account, settings, { kind: signal.kind, detail: signal.detail, itemIds: signal.itemIds }, log);
    // The traffic an open incident sees, by sentiment.
    const open = await app.stores.crisis.openIncident(account.workspace);
    if (open) await app.stores.crisis.countItems(open, countSentiments(items));
    // The spike test, here rather than as a job: a few primary-key reads and a computation, where a
    // job per page would double the database work of a burst.
    if (items.some((item) => item.labels.sentiment !== 'neutral')) {
      const negatives = items.filter((item) => item.labels.sentiment === 'negative').map((item) => item.id);
      await evaluate(app, account, settings, negatives.slice(-5), log);
    }
  } catch (error) {
    log.error({ accountId: account.id, err: errorMessage(error) }, 'crisis detection failed for a page of inbox items');
  }
}

/** Whether an open (or acknowledged) incident covers the account: replies on it then need an approval. */
export async function underIncident(app: FlowContext, workspace: string, accountId: string): Promise<boolean> {
  const open = await app.stores.crisis.openIncident(workspace);
  const incident = open ? await app.stores.crisis.get(open) : null;
  return Boolean(incident && incident.status !== 'resolved' && incident.accounts.includes(accountId));
}

/** The spike test for one account at the present moment. */
async function evaluate(app: FlowContext, account: Account, settings: WorkspaceSettings, itemIds: readonly string[], log: Logger): Promise<void> {
  const accountId = account.id;
  const now = app.clock.now();
  const slots = await app.stores.crisis.volumes(accountId, new Date(now.getTime() - BASELINE_WEEKS * WEEK_MS - LONGEST_WINDOW_MS), new Date(now.getTime() + SLOT_MINUTES * 60_000));
  const handledUntil = await app.stores.crisis.lastResolvedAt(account.workspace);
  const result = detectSpike({ now, slots, slotMinutes: SLOT_MINUTES, since: account.createdAt, weeks: BASELINE_WEEKS, sensitivity: settings.crisis.sensitivity, ...(handledUntil ? { handledUntil } : {}) });
  log.debug({ accountId, ...result }, 'crisis spike test');
  if (result.kind === 'crisis') {
    await raise(app, account, settings, { kind: 'spike', detail: '', itemIds: [...itemIds], volume: { observed: result.observed, expected: result.expected, windowMinutes: result.windowMinutes } }, log);
  } else if (result.kind === 'trending' && settings.crisis.channel) {
    // Once per account and window-sized period: good news is told, never paged.
    const period = Math.floor(now.getTime() / (result.windowMinutes * 60_000 * 6));
    const where = channelRef(account.workspace, settings.crisis.channel);
    const chat = app.chat.get(platformOf(account.workspace));
    if (!chat) return;
    const text = tOf(settings)('crisis.trending', { account: account.handle, observed: result.observed, minutes: result.windowMinutes, expected: result.expected });
    await postOnce(app, `crisis-trending:${account.id}:${period}`, () => paced(app, where, () => chat.post(where, { text })));
  }
}

// ---------------------------------------------------------------------------------------------
// Incidents

function describeSignal(signal: Signal, account: Account, t: Translate): string {
  if (signal.kind === 'spike' && signal.volume) return t('crisis.signal.spike', { observed: signal.volume.observed, minutes: signal.volume.windowMinutes, account: account.handle, expected: signal.volume.expected });
  if (signal.kind === 'watchlist') return t('crisis.signal.watchlist', { detail: signal.detail, count: signal.itemIds.length, account: account.handle });
  if (signal.kind === 'vip' || signal.kind === 'reach') return t(`crisis.signal.${signal.kind}`, { detail: signal.detail, account: account.handle });
  return t('crisis.signal.model', { count: signal.itemIds.length, account: account.handle });
}

/**
 * A signal opens the workspace's incident, or joins the one open (one incident per episode: the
 * workspace's slot document decides, so two signals at once open one incident).
 */
async function raise(app: FlowContext, account: Account, settings: WorkspaceSettings, signal: Signal, log: Logger): Promise<void> {
  const workspace = account.workspace;
  const claim = await app.stores.crisis.claimOpen(workspace, newIncidentId());
  let incident = await app.stores.crisis.get(claim.incidentId);
  let opened = false;
  if (!incident) {
    // Opened now, or a crash left the slot without its incident: (re)create it under the slot's id.
    const fresh: Incident = {
      id: claim.incidentId,
      workspace,
      status: 'open',
      openedAt: app.clock.now(),
      channel: settings.crisis.channel ?? settings.approvalsChannel ?? '',
      accounts: [],
      kinds: [],
      signals: 0,
      sentiment: { negative: 0, neutral: 0, positive: 0 },
      samples: [],
      step: 0,
      actions: [],
    };
    opened = await app.stores.crisis.insert(fresh);
    incident = opened ? fresh : await app.stores.crisis.get(claim.incidentId);
    if (!incident) return;
  }
  const quiet = signal.kind === 'spike' && !opened && incident.kinds.includes('spike') && (signal.volume?.observed ?? 0) < (incident.volume?.observed ?? 0) * SPIKE_GROWTH;
  await app.stores.crisis.addSignal(incident.id, { kind: signal.kind, accountId: account.id, samples: signal.itemIds, ...(signal.volume ? { volume: signal.volume } : {}) });
  if (opened) {
    log.warn({ incidentId: incident.id, workspace, kind: signal.kind, accountId: account.id }, 'incident opened');
    await postIncidentCard(app, incident.id, log);
  }
  if (!quiet) await record(app, incident.id, { kind: 'signal', text: describeSignal(signal, account, tOf(settings)) }, log);
  if (opened) await app.scheduler.now(JobNames.crisisPage, { incidentId: incident.id, step: 0, manual: false });
  else if (!quiet) await refreshIncidentCard(app, incident.id, log);
}

async function cardOf(app: FlowContext, incident: Incident, t: Translate) {
  const samples = (await Promise.all(incident.samples.map((id) => app.stores.inbox.item(id)))).filter((item): item is StoredItem => item !== null);
  const accounts = new Map((await Promise.all(incident.accounts.map((id) => app.stores.accounts.get(id)))).filter((a): a is Account => a !== null).map((a) => [a.id, a.handle] as const));
  return incidentCard(incident, samples, accounts, t);
}

async function postIncidentCard(app: FlowContext, incidentId: string, log: Logger): Promise<void> {
  const incident = await app.stores.crisis.get(incidentId);
  const chat = incident ? app.chat.get(platformOf(incident.workspace)) : undefined;
  if (!incident || !chat) return;
  const settings = await app.stores.settings.get(incident.workspace);
  if (!incident.channel) {
    log.warn({ incidentId, workspace: incident.workspace }, 'incident opened with no crisis channel and no approvals channel: only the pages will show it');
    return;
  }
  const where = channelRef(incident.workspace, incident.channel);
  const message = await cardOf(app, incident, tOf(settings));
  const card = await postOnce(app, `incident-card:${incident.id}`, () => paced(app, where, () => chat.post(where, message)));
  if (!card) return;
  await app.stores.crisis.update(incident.id, { card });
  await chat.openThread(parseRef(card)!).catch((error: unknown) => log.warn({ incidentId, err: errorMessage(error) }, 'could not start the incident thread'));
}

async function refreshIncidentCard(app: FlowContext, incidentId: string, log: Logger): Promise<void> {
  const incident = await app.stores.crisis.get(incidentId);
  const chat = incident ? app.chat.get(platformOf(incident.workspace)) : undefined;
  if (!incident?.card || !chat) return;
  const settings = await app.stores.settings.get(incident.workspace);
  const card = parseRef(incident.card)!;
  await paced(app, card, async () => chat.update(card, await cardOf(app, incident, tOf(settings)))).catch((error: unknown) => log.warn({ incidentId, err: errorMessage(error) }, 'incident card not updated'));
}

/** Stores a timeline entry and writes it into the card's thread (the stored one is the record). */
async function record(app: FlowContext, incidentId: string, entry: Pick<IncidentEvent, 'kind' | 'text'> & { by?: string }, log: Logger): Promise<void> {
  await app.stores.crisis.addEvent({ incidentId, ...entry });
  const incident = await app.stores.crisis.get(incidentId);
  const chat = incident ? app.chat.get(platformOf(incident.workspace)) : undefined;
  if (!incident?.card || !chat) return;
  const card = parseRef(incident.card)!;
  await paced(app, card, () => chat.reply(card, { text: entry.text })).catch((error: unknown) => log.warn({ incidentId, err: errorMessage(error) }, 'timeline entry not written to the incident thread'));
}

// ---------------------------------------------------------------------------------------------
// Paging

async function membersOf(chat: ChatAdapter, workspace: string, people: readonly string[], group: string | undefined): Promise<string[]> {
  const fromGroup = group ? await chat.groupMembers(workspace.split(':')[1] ?? '', group) : [];
  return [...new Set([...people, ...fromGroup])];
}

/**
 * One escalation step: step 0 pages the person on call, each later step the next person and the
 * escalation people, then schedules the next step after the acknowledgement time. An
 * acknowledged or resolved incident stops the chain; an Escalate click (manual) pages anyway.
 */
async function page(app: FlowContext, incidentId: string, step: number, manual: boolean, log: Logger): Promise<void> {
  const incident = await app.stores.crisis.get(incidentId);
  if (!incident || incident.status === 'resolved' || (incident.status === 'acknowledged' && !manual)) return;
  // A later step already ran (an Escalate click): this scheduled one is superseded.
  if (step < incident.step) return;
  const chat = app.chat.get(platformOf(incident.workspace));
  if (!chat) throw new Error(`no chat adapter for ${incident.workspace}`);
  await runOnce(app, `crisis-page:${incidentId}:${step}`, 'crisis', async () => {
    const settings = await app.stores.settings.get(incident.workspace);
    const t = tOf(settings);
    const rotation = settings.oncall;
    const members = rotation ? await membersOf(chat, incident.workspace, rotation.people, rotation.group) : [];
    const escalation = rotation ? await membersOf(chat, incident.workspace, rotation.escalationPeople, rotation.escalationGroup) : [];
    const turn = rotation ? turnAt(rotation, members, app.clock.now()) : undefined;
    const recipients = pagedAt(step, turn, members, escalation);
    const link = incident.card ? ((await chat.permalink(parseRef(incident.card)!).catch(() => undefined)) ?? '') : '';
    const card = await cardOf(app, incident, t);
    for (const user of recipients) {
      await postOnce(app, `crisis-page:${incidentId}:${step}:${user}`, () =>
        chat.notifyUser(userOf(incident.workspace, user), { ...card, text: t('crisis.page.dm', { id: incident.id, what: incidentWhat(incident, t), link }) }),
      );
    }
    await app.stores.crisis.update(incidentId, { step });
    await app.stores.crisis.countPages(incidentId, recipients.length);
    log.warn({ incidentId, step, paged: recipients.length, manual }, 'incident paged');
    if (recipients.length === 0) {
      if (step === 0) await record(app, incidentId, { kind: 'page', text: t('crisis.event.nobody') }, log);
      return { paged: 0 };
    }
    await record(app, incidentId, { kind: step === 0 ? 'page' : 'escalated', text: t('crisis.event.page', { who: recipients.map((user) => mention(user)).join(', '), step }) }, log);
    if (!manual || incident.status === 'open') {
      const ackMinutes = rotation?.ackMinutes ?? DEFAULT_ACK_MINUTES;
      await app.scheduler.at(new Date(app.clock.now().getTime() + ackMinutes * 60_000), JobNames.crisisPage, { incidentId, step: step + 1, manual: false });
    }
    return { paged: recipients.length };
  });
}

// ---------------------------------------------------------------------------------------------
// Buttons and the resolve form

async function loadIncident(app: FlowContext, id: string, t: Translate): Promise<Incident> {
  const incident = await app.stores.crisis.get(id);
  if (!incident) throw new UserError('incident_missing', t('crisis.missing'));
  return incident;
}

/** The rotation and escalation people (or groups), approvers and admins act on incidents. */
async function mayAct(app: FlowContext, chat: ChatAdapter, event: ActionClicked | FormSubmitted, incident: Incident): Promise<boolean> {
  const membership = await chat.membership(event.actor.ref);
  if (membership.isAdmin) return true;
  const settings = await app.stores.settings.get(incident.workspace);
  const user = event.actor.ref.user;
  const rotation = settings.oncall;
  if (rotation) {
    if (rotation.people.includes(user) || rotation.escalationPeople.includes(user)) return true;
    if ([rotation.group, rotation.escalationGroup].some((group) => group && membership.groups.includes(group))) return true;
  }
  return settings.policy.steps.some((step) => isApprover(step.approvers, { user, isAdmin: false, groups: membership.groups }));
}

async function onAction(app: FlowContext, event: ActionClicked, id: ActionId, chat: ChatAdapter): Promise<void> {
  const t = translator(event.actor.locale);
  const log = app.log.child({ flow: CRISIS, incidentId: id.entityId });
  const incident = await loadIncident(app, id.entityId, t);
  if (!(await mayAct(app, chat, event, incident))) throw new UserError('not_allowed', t('crisis.notAllowed'));
  if (incident.status === 'resolved') throw new UserError('incident_resolved', t('crisis.alreadyResolved'));
  const who = event.actor.name;
  switch (id.action) {
    case 'ack': {
      const now = app.clock.now();
      const moved = await app.stores.crisis.transition(incident.id, ['open'], { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: who });
      if (!moved) {
        const current = await loadIncident(app, incident.id, t);
        throw new UserError('incident_acknowledged', current.status === 'resolved' ? t('crisis.alreadyResolved') : t('crisis.alreadyAcknowledged', { who: current.acknowledgedBy ?? '' }));
      }
      log.info({ by: event.actor.ref.user }, 'incident acknowledged');
      await record(app, incident.id, { kind: 'acknowledged', by: who, text: t('crisis.event.acknowledged', { who, minutes: Math.round((now.getTime() - incident.openedAt.getTime()) / 60_000) }) }, log);
      await refreshIncidentCard(app, incident.id, log);
      return;
    }
    case 'escalate': {
      await record(app, incident.id, { kind: 'note', by: who, text: t('crisis.event.escalated', { who }) }, log);
      await app.scheduler.now(JobNames.crisisPage, { incidentId: incident.id, step: incident.step + 1, manual: true });
      return;
    }
    case 'pause': {
      const channel = channelRef(incident.workspace, incident.channel || event.channel.channel);
      await pausePublishing(app, chat, { actor: event.actor, channel, membership: await chat.membership(event.actor.ref), reason: t('crisis.pauseReason', { id: incident.id }) });
      await app.stores.crisis.addAction(incident.id, 'paused');
      await record(app, incident.id, { kind: 'action', by: who, text: t('crisis.event.paused', { who }) }, log);
      return;
    }
    case 'holding': {
      const settings = await app.stores.settings.get(incident.workspace);
      const samples = (await Promise.all(incident.samples.map((itemId) => app.stores.inbox.item(itemId)))).filter((item): item is StoredItem => item !== null);
      const maxLength = Math.min(...settings.defaultNetworks.map((network) => networks[network].maxLength));
      const statement = await app.assistant.holdingStatement({ locale: resolveLocale(settings.locale), samples: samples.map((item) => item.text), maxLength, ...(settings.voice ? { voice: settings.voice } : {}) });
      const channel = channelRef(incident.workspace, incident.channel || event.channel.channel);
      const draft = await createDraft(app, chat, { author: event.actor, channel, text: statement.text, urgent: true, labels: ['incident', incident.id] });
      await app.stores.crisis.update(incident.id, { holdingDraftId: draft.id });
      await app.stores.crisis.addAction(incident.id, 'holding-statement');
      await record(app, incident.id, { kind: 'action', by: who, text: t('crisis.event.holding', { who, draft: draft.id }) }, log);
      return;
    }
    case 'resolve': {
      await event.respond.openForm({
        id: `${CRISIS}:resolve:${incident.id}`,
        title: t('crisis.resolve.title'),
        submitLabel: t('crisis.resolve.submit'),
        fields: [{ kind: 'text', id: 'cause', label: t('crisis.resolve.cause'), required: true, maxLength: 200 }],
      });
      return;
    }
    default:
      throw new UserError('unknown_action', t('chat.staleAction'));
  }
}

async function onForm(app: FlowContext, event: FormSubmitted, id: ActionId, chat: ChatAdapter): Promise<{ errors: Record<string, string> } | void> {
  const t = translator(event.actor.locale);
  if (id.action !== 'resolve') throw new UserError('unknown_action', t('chat.staleAction'));
  const log = app.log.child({ flow: CRISIS, incidentId: id.entityId });
  const incident = await loadIncident(app, id.entityId, t);
  if (!(await mayAct(app, chat, event, incident))) throw new UserError('not_allowed', t('crisis.notAllowed'));
  const cause = (event.values.cause ?? '').trim().replace(/\s+/g, ' ');
  if (!cause) return { errors: { cause: t('crisis.resolve.cause') } };
  const now = app.clock.now();
  const summary = {
    ...(incident.acknowledgedAt ? { timeToAcknowledgeMs: incident.acknowledgedAt.getTime() - incident.openedAt.getTime() } : {}),
    timeToResolveMs: now.getTime() - incident.openedAt.getTime(),
    items: incident.sentiment.negative + incident.sentiment.neutral + incident.sentiment.positive,
    negative: incident.sentiment.negative,
    pages: incident.pages ?? 0,
    actions: incident.actions,
    cause: cause.slice(0, 200),
  };
  const moved = await app.stores.crisis.transition(incident.id, ['open', 'acknowledged'], { status: 'resolved', resolvedAt: now, resolvedBy: event.actor.name, summary });
  if (!moved) throw new UserError('incident_resolved', t('crisis.alreadyResolved'));
  await app.stores.crisis.releaseOpen(incident.workspace, incident.id);
  log.info({ by: event.actor.ref.user, ...summary }, 'incident resolved');
  await record(app, incident.id, { kind: 'resolved', by: event.actor.name, text: t('crisis.event.resolved', { who: event.actor.name, cause: summary.cause }) }, log);
  await refreshIncidentCard(app, incident.id, log);
}

// ---------------------------------------------------------------------------------------------

export const crisisJobs = {
  page: z.object({ incidentId: z.string().regex(/^inc-[a-f0-9]+$/), step: z.number().int().min(0).max(10_000), manual: z.boolean() }),
  purge: z.object({ weeks: z.number().int().min(5).max(520), retentionDays: z.number().int().min(1).max(3_650) }),
};

export default defineFlow({
  name: CRISIS,
  jobs: (app) => [
    defineJob({
      name: JobNames.crisisPage,
      schema: crisisJobs.page,
      retry: { maxRetries: 5, delayMs: 5_000, maxDelayMs: 60_000 },
      handler: ({ incidentId, step, manual }, { log }) => page(app, incidentId, step, manual, log),
    }),
    defineJob({
      name: JobNames.crisisPurge,
      schema: crisisJobs.purge,
      async handler({ weeks, retentionDays }, { log }) {
        const now = app.clock.now().getTime();
        const volumes = await app.stores.crisis.purgeVolumesBefore(new Date(now - weeks * WEEK_MS));
        // Timelines name authors: they go with the inbox's retention (GDPR); the summaries stay.
        const events = await app.stores.crisis.purgeTimelinesBefore(new Date(now - retentionDays * 86_400_000));
        log.info({ volumes, events }, 'crisis counts and incident timelines past retention deleted');
      },
    }),
  ],
  chat: (app) => ({
    actions: { [CRISIS]: (event, id, chat) => onAction(app, event, id, chat) },
    forms: { [CRISIS]: (event, id, chat) => onForm(app, event, id, chat) },
  }),
  async start(app) {
    await app.scheduler.every('15 4 * * *', JobNames.crisisPurge, { weeks: VOLUME_RETENTION_WEEKS, retentionDays: app.config.INBOX_RETENTION_DAYS }, { timezone: 'UTC' });
  },
});
