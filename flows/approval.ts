import { z } from 'zod';
import type { ActionId } from '../src/chat/action-id.ts';
import type { Form, FormValues } from '../src/chat/model.ts';
import type { ConversationEvent } from '../src/chat/dispatcher.ts';
import type { ActionClicked, Actor, ChatAdapter, ConversationRef, FileRef, FormResult, FormSubmitted, UserRef } from '../src/chat/port.ts';
import { allShortcuts, SHORTCUT_DRAFT } from '../commands/shortcuts.ts';
import { parseRef, serializeRef } from '../src/chat/port.ts';
import { allowed, newDraftId, type Draft, type DraftAction, type DraftImage, type DraftStatus } from '../src/core/draft.ts';
import { renderDiff, wordDiff } from '../src/core/diff.ts';
import { UserError } from '../src/core/errors.ts';
import { fitToNetwork } from '../src/core/fit.ts';
import { networks, type NetworkId } from '../src/core/networks.ts';
import { offeredNetworkIds } from '../src/networks/index.ts';
import { checkApproval, progress, type ApprovalPolicy, type ApprovalStep, type Person } from '../src/core/policy.ts';
import { defineFlow, type FlowContext } from '../src/flow.ts';
import { bestSlots } from '../src/core/best-time.ts';
import { describeSlots, nextFreeSlot, type Slot } from '../src/core/slots.ts';
import { parseWhenText } from '../src/core/when.ts';
import { translator, type Translate } from '../src/i18n/catalogue.ts';
import { JobNames } from '../src/jobs/names.ts';
import { defineJob } from '../src/jobs/scheduler.ts';
import { draftAction, draftCard, FLOW, formatWhen, parseEntity } from './approval-card.ts';
import { startPublishing } from './publishing.ts';

/** Two posts on one account closer than this compete for the same audience (calendar, queue). */
const QUEUE_GAP_MS = 30 * 60_000;

/** The longest text a draft may have: LinkedIn's whole post, and Slack's longest form input. */
export const MAX_DRAFT_CHARS = 3_000;
const MIN_LEAD_MS = 60_000;

export interface NewDraft {
  author: Actor;
  /** Where the request came from: its channel hosts the card when no approvals channel is set. */
  channel: ConversationRef;
  text: string;
  networks?: string;
  when?: string;
  source?: ConversationRef;
  images?: DraftImage[];
  labels?: string[];
  urgent?: boolean;
}

const wsKey = (ref: { platform: string; workspace: string }): string => `${ref.platform}:${ref.workspace}`;
const userRef = (draft: Draft, user: string): UserRef => {
  const [platform, workspace] = draft.workspace.split(':') as [UserRef['platform'], string];
  return { platform, workspace, user };
};

export function parseNetworks(raw: string | undefined, fallback: readonly NetworkId[], t: Translate): NetworkId[] {
  if (!raw?.trim()) return [...fallback];
  const names = raw.toLowerCase().split(/[\s,;]+/).filter(Boolean).map((n) => (n === 'twitter' ? 'x' : n));
  const offered: readonly string[] = offeredNetworkIds();
  const unknown = names.filter((n) => !offered.includes(n));
  if (unknown.length > 0) throw new UserError('unknown_network', t('draft.unknownNetwork', { names: unknown.join(', '), known: offered.join(', ') }));
  return [...new Set(names as NetworkId[])];
}

/** "in 2h", "tomorrow 9:30", "2026-12-01 14:30 Europe/Paris", ISO 8601… read in `zone`. Refuses the past. */
export function parseWhen(raw: string | undefined, now: Date, t: Translate, zone = 'UTC'): Date | undefined {
  if (!raw?.trim()) return undefined;
  const result = parseWhenText(raw, now, zone);
  if (!result.ok) throw new UserError(result.reason, t(result.reason === 'unknown_zone' ? 'draft.unknownZone' : 'draft.badDate', { value: raw }));
  if (result.date.getTime() < now.getTime() + MIN_LEAD_MS) throw new UserError('past_date', t('draft.pastDate', { value: formatWhen(result.date) }));
  return result.date;
}

export async function createDraft(app: FlowContext, chat: ChatAdapter, input: NewDraft): Promise<Draft> {
  const t = translator(input.author.locale);
  const text = input.text.trim();
  if (!text) throw new UserError('draft_empty', t('draft.empty'));
  if ([...text].length > MAX_DRAFT_CHARS) throw new UserError('draft_too_long', t('draft.tooLong', { length: [...text].length, max: MAX_DRAFT_CHARS }));
  const workspace = wsKey(input.channel);
  const settings = await app.stores.settings.get(workspace);
  const targets = parseNetworks(input.networks, settings.defaultNetworks, t);
  const scheduledAt = parseWhen(input.when, app.clock.now(), t, settings.timezone);
  const needImage = targets.filter((network) => networks[network].imageRequired);
  if (needImage.length > 0 && !input.images?.length) throw new UserError('image_required', t('draft.imageRequired', { networks: needImage.map((n) => networks[n].label).join(', ') }));
  const variants = await app.assistant.draftVariants({ text, networks: targets, ...(settings.voice ? { voice: settings.voice } : {}), ...(input.author.locale ? { locale: input.author.locale } : {}) });
  const now = app.clock.now();
  const draft: Draft = {
    id: newDraftId(),
    workspace,
    authorId: input.author.ref.user,
    authorName: input.author.name,
    status: 'pending',
    version: 1,
    text,
    networks: targets,
    variants,
    labels: input.labels ?? [],
    images: input.images ?? [],
    ...(input.source ? { source: serializeRef(input.source) } : {}),
    ...(input.source ? { sourceLink: await chat.permalink(input.source).catch(() => undefined) } : {}),
    ...(scheduledAt ? { scheduledAt } : {}),
    ...(input.urgent ? { urgent: true } : {}),
    createdAt: now,
    updatedAt: now,
  };
  if (draft.sourceLink === undefined) delete draft.sourceLink;
  await app.stores.drafts.insert(draft);
  await audit(app, draft, input.author, 'create', null, 'pending');
  const channel: ConversationRef = { platform: input.channel.platform, workspace: input.channel.workspace, channel: settings.approvalsChannel ?? input.channel.channel };
  const card = await chat.post(channel, await cardFor(app, chat, draft));
  const withCard = { ...draft, card: serializeRef(card) };
  await app.stores.drafts.update(draft.id, draft, { card: withCard.card });
  await scheduleFollowUps(app, withCard, settings.policy);
  app.log.info({ draftId: draft.id, workspace, networks: targets, assistant: app.assistant.mode }, 'draft created');
  return withCard;
}

async function audit(app: FlowContext, draft: Draft, actor: Actor, action: DraftAction, from: DraftStatus | null, to: DraftStatus | null, comment?: string): Promise<void> {
  await app.stores.audit.append({ draftId: draft.id, actorId: actor.ref.user, actorName: actor.name, action, from, to, version: draft.version, ...(comment ? { comment } : {}) });
}

async function policyOf(app: FlowContext, draft: Draft): Promise<ApprovalPolicy> {
  const settings = await app.stores.settings.get(draft.workspace);
  const channel = draft.card ? parseRef(draft.card)?.channel : undefined;
  return app.stores.settings.policyFor(settings, channel);
}

/** Group sizes for "all" steps, resolved from the platform when needed. */
async function eligibleCounts(chat: ChatAdapter, draft: Draft, policy: ApprovalPolicy): Promise<(step: ApprovalStep) => number> {
  const counts = new Map<ApprovalStep, number>();
  for (const step of policy.steps) {
    if (step.required !== 'all') continue;
    const members = new Set(step.approvers.users);
    for (const group of step.approvers.groups) for (const user of await chat.groupMembers(userRef(draft, '').workspace, group)) members.add(user);
    members.delete(policy.allowSelfApproval ? '' : draft.authorId);
    counts.set(step, members.size);
  }
  return (step) => counts.get(step) ?? 1;
}

async function stateOf(app: FlowContext, chat: ChatAdapter, draft: Draft) {
  const policy = await policyOf(app, draft);
  const approvals = await app.stores.approvals.forVersion(draft.id, draft.version);
  const count = await eligibleCounts(chat, draft, policy);
  const state = progress(policy, { ...draft, approvals }, count);
  return { policy, approvals, count, state, stepName: state.currentStep === undefined ? undefined : policy.steps[state.currentStep]?.name };
}

async function cardFor(app: FlowContext, chat: ChatAdapter, draft: Draft) {
  const settings = await app.stores.settings.get(draft.workspace);
  const { state, stepName } = await stateOf(app, chat, draft);
  const deliveries = await app.stores.deliveries.forVersion(draft.id, draft.version);
  return draftCard({ ...draft, deliveries }, { ...state, ...(stepName ? { stepName } : {}) }, translator(settings.locale));
}

/** Card refreshes of one draft run one after another in this process. */
const refreshing = new Map<string, Promise<void>>();

/**
 * Shows the draft's stored state on its card. Always renders from MongoDB, never from a caller's
 * copy, and renders again if the draft or its approvals changed while the card was being written:
 * two approvers finishing at once must not leave the earlier state on screen.
 */
export function refreshCard(app: FlowContext, chat: ChatAdapter, draft: Pick<Draft, 'id'>): Promise<void> {
  const fingerprint = async (): Promise<string | undefined> => {
    const current = await app.stores.drafts.get(draft.id);
    if (!current) return undefined;
    const approvals = await app.stores.approvals.forVersion(current.id, current.version);
    return `${current.updatedAt.getTime()}:${current.version}:${current.status}:${approvals.length}`;
  };
  const run = async (): Promise<void> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = await fingerprint();
      const current = await app.stores.drafts.get(draft.id);
      const ref = current?.card ? parseRef(current.card) : undefined;
      if (!current || !ref) return;
      await chat.update(ref, await cardFor(app, chat, current));
      if ((await fingerprint()) === before) return;
    }
  };
  const next = (refreshing.get(draft.id) ?? Promise.resolve()).then(run, run);
  refreshing.set(draft.id, next);
  // The caller awaits `next` and handles its failure; this branch only tidies up.
  next
    .finally(() => {
      if (refreshing.get(draft.id) === next) refreshing.delete(draft.id);
    })
    .catch(() => undefined);
  return next;
}

async function inThread(chat: ChatAdapter, draft: Draft, text: string): Promise<void> {
  const ref = draft.card ? parseRef(draft.card) : undefined;
  if (ref) await chat.reply(ref, { text });
}

/** Reminders for approvers, and the fail-closed check at the scheduled time. Idempotent. */
async function scheduleFollowUps(app: FlowContext, draft: Draft, policy: ApprovalPolicy): Promise<void> {
  await app.scheduler.cancel(JobNames.approvalRemind, { draftId: draft.id });
  if (draft.status === 'pending') {
    await app.scheduler.at(new Date(app.clock.now().getTime() + policy.remindAfterMinutes * 60_000), JobNames.approvalRemind, { draftId: draft.id, version: draft.version, escalate: false });
  }
  await app.scheduler.cancel(JobNames.publishDue, { draftId: draft.id });
  if (draft.scheduledAt && !['rejected', 'expired', 'published', 'failed'].includes(draft.status)) {
    await app.scheduler.at(draft.scheduledAt, JobNames.publishDue, { draftId: draft.id, at: draft.scheduledAt.toISOString() });
  }
}

/** Loads the draft a click or form is about and refuses stale versions and finished drafts. */
async function load(app: FlowContext, entityId: string, t: Translate, action: DraftAction): Promise<Draft> {
  const entity = parseEntity(entityId);
  const draft = entity ? await app.stores.drafts.get(entity.draftId) : null;
  if (!entity || !draft) throw new UserError('draft_missing', t('draft.missing'));
  if (entity.version !== draft.version) throw new UserError('old_version', t('draft.refused.old_version', { version: entity.version, current: draft.version }));
  if (!allowed(draft.status, action)) throw new UserError('not_allowed', t('draft.notAllowed', { status: t(`draft.status.${draft.status}`) }));
  return draft;
}

async function personOf(chat: ChatAdapter, actor: Actor): Promise<Person> {
  const membership = await chat.membership(actor.ref);
  return { user: actor.ref.user, isAdmin: membership.isAdmin, groups: membership.groups };
}

async function approve(app: FlowContext, chat: ChatAdapter, event: ActionClicked, id: ActionId, t: Translate): Promise<void> {
  const entity = parseEntity(id.entityId);
  const draft = entity ? await app.stores.drafts.get(entity.draftId) : null;
  if (!entity || !draft) throw new UserError('draft_missing', t('draft.missing'));
  const { policy, approvals, count } = await stateOf(app, chat, draft);
  const person = await personOf(chat, event.actor);
  const verdict = checkApproval(policy, { ...draft, approvals, pending: draft.status === 'pending' }, person, entity.version, count);
  if (!verdict.ok) {
    await audit(app, draft, event.actor, 'refused', draft.status, draft.status, `approve: ${verdict.reason}`);
    app.log.warn({ draftId: draft.id, user: person.user, reason: verdict.reason }, 'approval refused');
    throw new UserError(verdict.reason, t(`draft.refused.${verdict.reason}`, { version: entity.version, current: draft.version }));
  }
  const counted = await app.stores.approvals.add(draft.id, { user: person.user, step: verdict.step, version: draft.version, at: app.clock.now() });
  if (!counted) throw new UserError('already_approved', t('draft.refused.already_approved', { version: draft.version, current: draft.version }));
  await audit(app, draft, event.actor, 'approve', 'pending', 'pending', policy.steps[verdict.step]?.name);
  const after = await stateOf(app, chat, draft);
  if (after.state.complete) {
    // Two approvers finishing at once both land here; the ledger's unique key lets one decide.
    const claim = await app.stores.ledger.begin(`decision:${draft.id}:v${draft.version}:approved`, 'decision');
    if (claim.status === 'started') {
      const to: DraftStatus = draft.scheduledAt ? 'scheduled' : 'approved';
      const decided = { ...draft, status: to, decidedBy: event.actor.name, decidedAt: app.clock.now() };
      await app.stores.drafts.update(draft.id, draft, { status: to, decidedBy: decided.decidedBy, decidedAt: decided.decidedAt });
      await audit(app, draft, event.actor, 'approve', 'pending', to);
      await app.stores.ledger.complete(claim.entry.key, { status: to });
      await scheduleFollowUps(app, decided, policy);
      await refreshCard(app, chat, decided);
      await inThread(chat, decided, to === 'scheduled' ? t('draft.outcome.scheduled', { who: event.actor.name, when: formatWhen(decided.scheduledAt!) }) : t('draft.outcome.approved', { who: event.actor.name }));
      return;
    }
  }
  await refreshCard(app, chat, draft);
}

const reasons = ['tone', 'facts', 'legal', 'typo', 'other'] as const;

/** The forms a card's buttons open: which move they lead to, and their fields for this draft. */
/** What the schedule form suggests from the account's engagement history. */
interface ScheduleHint {
  at: Date;
  slots: string;
}

const forms: Record<'changes' | 'edit' | 'schedule' | 'assign', { needs: DraftAction; build(draft: Draft, t: Translate, hint?: ScheduleHint): Omit<Form, 'id'> }> = {
  changes: {
    needs: 'request_changes',
    build: (_draft, t) => ({
      title: t('draft.form.changes.title'),
      submitLabel: t('draft.form.send'),
      fields: [
        { kind: 'select', id: 'reason', label: t('draft.form.changes.reason'), required: true, options: reasons.map((r) => ({ label: t(`draft.reason.${r}`), value: r })) },
        { kind: 'text', id: 'comment', label: t('draft.form.changes.comment'), multiline: true, required: false, maxLength: 1_000 },
      ],
    }),
  },
  edit: {
    needs: 'edit',
    build: (draft, t) => ({
      title: t('draft.form.edit.title'),
      submitLabel: t('draft.form.save'),
      fields: [
        { kind: 'text', id: 'text', label: t('draft.form.edit.text'), multiline: true, required: true, maxLength: MAX_DRAFT_CHARS, initial: draft.text },
        { kind: 'text', id: 'networks', label: t('draft.form.edit.networks'), required: false, initial: draft.networks.join(', ') },
      ],
    }),
  },
  schedule: {
    needs: 'schedule',
    build: (draft, t, hint) => ({
      title: t('draft.form.schedule.title'),
      submitLabel: t('draft.form.save'),
      fields: [
        {
          kind: 'datetime',
          id: 'when',
          label: hint ? t('draft.form.schedule.whenSuggested', { slots: hint.slots }) : t('draft.form.schedule.when'),
          required: true,
          ...(draft.scheduledAt ? { initial: draft.scheduledAt } : hint ? { initial: hint.at } : {}),
        },
      ],
    }),
  },
  assign: {
    needs: 'assign',
    build: (_draft, t) => ({
      title: t('draft.form.assign.title'),
      submitLabel: t('draft.form.save'),
      fields: [
        { kind: 'user', id: 'assignee', label: t('draft.form.assign.who'), required: true },
        { kind: 'datetime', id: 'due', label: t('draft.form.assign.due'), required: false },
      ],
    }),
  },
};

/** History read for the best time to post: enough weeks to see a pattern, bounded. */
const HISTORY_POSTS = 500;

/** Best hours of the week for the first of the networks with a connected account and history. */
async function learnedSlots(app: FlowContext, workspace: string, networks: readonly NetworkId[], zone: string): Promise<{ network: NetworkId; slots: Slot[] } | undefined> {
  const team = (await app.stores.metrics.history({ workspace }, HISTORY_POSTS * 4)).map((p) => ({ at: p.publishedAt, engagement: p.engagement }));
  if (team.length === 0) return undefined;
  for (const network of networks) {
    const account = await app.stores.accounts.forNetwork(workspace, network);
    if (!account) continue;
    const own = (await app.stores.metrics.history({ accountId: account.id }, HISTORY_POSTS)).map((p) => ({ at: p.publishedAt, engagement: p.engagement }));
    const slots = bestSlots(own, team, zone);
    if (slots?.length) return { network, slots };
  }
  return undefined;
}

/** The schedule form's suggestion: the next free best hour, and the best hours in words. */
async function scheduleHint(app: FlowContext, draft: Draft): Promise<ScheduleHint | undefined> {
  const settings = await app.stores.settings.get(draft.workspace);
  const zone = settings.timezone ?? 'UTC';
  const learned = await learnedSlots(app, draft.workspace, draft.networks, zone);
  if (!learned) return undefined;
  const at = nextFreeSlot(learned.slots, app.clock.now(), zone, [], QUEUE_GAP_MS);
  return at ? { at, slots: `${describeSlots(learned.slots)} (${zone})` } : undefined;
}

async function onAction(app: FlowContext, event: ActionClicked, id: ActionId, chat: ChatAdapter): Promise<void> {
  const t = translator(event.actor.locale);
  const action = id.action === 'more' ? event.value ?? '' : id.action;
  switch (action) {
    case 'approve':
      return approve(app, chat, event, id, t);
    case 'changes':
    case 'edit':
    case 'schedule':
    case 'assign': {
      const form = forms[action];
      const draft = await load(app, id.entityId, t, form.needs);
      const hint = action === 'schedule' ? await scheduleHint(app, draft) : undefined;
      return event.respond.openForm({ id: draftAction(action, draft), ...form.build(draft, t, hint) });
    }
    case 'reject': {
      const draft = await load(app, id.entityId, t, 'reject');
      return decide(app, chat, draft, event.actor, 'reject', 'rejected', t);
    }
    case 'regenerate': {
      const draft = await load(app, id.entityId, t, 'regenerate');
      const settings = await app.stores.settings.get(draft.workspace);
      const variants = await app.assistant.draftVariants({ text: draft.text, networks: draft.networks, ...(settings.voice ? { voice: settings.voice } : {}) });
      return newVersion(app, chat, draft, event.actor, { variants }, 'regenerate', t);
    }
    case 'queue': {
      const draft = await load(app, id.entityId, t, 'schedule');
      const settings = await app.stores.settings.get(draft.workspace);
      const zone = settings.timezone ?? 'UTC';
      // The account's own slots; without any, its best hours of the week from engagement history.
      const own = draft.networks.map((network) => settings.slots.find((s) => s.network === network)).find(Boolean) ?? (await learnedSlots(app, draft.workspace, draft.networks, zone));
      if (!own) throw new UserError('no_slots', t('queue.noSlots', { networks: draft.networks.join(', ') }));
      const others = await app.stores.drafts.list(draft.workspace, { statuses: ['scheduled', 'approved', 'pending'], limit: 500 });
      const taken = others.filter((d) => d.id !== draft.id && d.scheduledAt && d.networks.includes(own.network)).map((d) => d.scheduledAt!);
      const when = nextFreeSlot(own.slots, app.clock.now(), zone, taken, QUEUE_GAP_MS);
      if (!when) throw new UserError('queue_full', t('queue.full', { network: own.network }));
      const to: DraftStatus = draft.status === 'approved' ? 'scheduled' : draft.status;
      await transition(app, chat, draft, event.actor, 'schedule', { scheduledAt: when, status: to }, t, `queue: ${formatWhen(when)}`);
      return event.respond.ephemeral({ text: t('queue.added', { id: draft.id, when: formatWhen(when) }) });
    }
    case 'history': {
      const draft = await load(app, id.entityId, t, 'create');
      return event.respond.ephemeral({ text: await historyText(app, draft.id, t) });
    }
    default:
      throw new UserError('unknown_action', t('chat.staleAction'));
  }
}

/**
 * Every move of a draft: write it only if nobody moved the draft meanwhile, record it, reschedule
 * its reminders and due check, and show it on the card.
 */
async function transition(app: FlowContext, chat: ChatAdapter, draft: Draft, actor: Actor, action: DraftAction, changes: Partial<Omit<Draft, 'id'>>, t: Translate, comment?: string): Promise<Draft> {
  if (!(await app.stores.drafts.update(draft.id, draft, changes))) throw new UserError('changed_meanwhile', t('draft.changedMeanwhile'));
  const next: Draft = { ...draft, ...changes };
  await audit(app, next, actor, action, draft.status, next.status, comment);
  await scheduleFollowUps(app, next, await policyOf(app, draft));
  await refreshCard(app, chat, next);
  return next;
}

async function decide(app: FlowContext, chat: ChatAdapter, draft: Draft, actor: Actor, action: DraftAction, to: DraftStatus, t: Translate): Promise<void> {
  await transition(app, chat, draft, actor, action, { status: to, decidedBy: actor.name, decidedAt: app.clock.now() }, t);
}

/** A new version: approvals of the old one no longer count (they are bound to its number). */
async function newVersion(app: FlowContext, chat: ChatAdapter, draft: Draft, actor: Actor, changes: Partial<Draft>, action: DraftAction, t: Translate): Promise<void> {
  const next = await transition(app, chat, draft, actor, action, { ...changes, version: draft.version + 1, status: 'pending' }, t);
  if (changes.text !== undefined && changes.text !== draft.text) {
    await inThread(chat, next, `${t('draft.diffTitle', { who: actor.name, from: draft.version, to: next.version })}\n${renderDiff(wordDiff(draft.text, next.text))}`);
  } else {
    await inThread(chat, next, t('draft.newVersion', { who: actor.name, version: next.version }));
  }
}

const changesSchema = z.object({ reason: z.enum(reasons), comment: z.string().max(1_000).optional() });

async function onForm(app: FlowContext, event: FormSubmitted, id: ActionId, chat: ChatAdapter): Promise<FormResult | void> {
  const t = translator(event.actor.locale);
  const values: FormValues = event.values;
  switch (id.action) {
    case 'changes': {
      const draft = await load(app, id.entityId, t, 'request_changes');
      const parsed = changesSchema.safeParse({ reason: values.reason, comment: values.comment || undefined });
      if (!parsed.success) return { errors: { reason: t('draft.form.changes.pickReason') } };
      const comment = `${parsed.data.reason}: ${parsed.data.comment ?? ''}`.trim();
      const next = await transition(app, chat, draft, event.actor, 'request_changes', { status: 'changes_requested' }, t, comment);
      const reason = t(`draft.reason.${parsed.data.reason}`);
      await inThread(chat, next, t('draft.changesRequested', { who: event.actor.name, reason, comment: parsed.data.comment ?? '' }).trim());
      await chat.notifyUser(userRef(draft, draft.authorId), { text: t('draft.changesRequestedDm', { id: draft.id, who: event.actor.name, reason, comment: parsed.data.comment ?? '' }).trim() });
      return;
    }
    case 'edit': {
      const draft = await load(app, id.entityId, t, 'edit');
      const text = (values.text ?? '').trim();
      if (!text) return { errors: { text: t('draft.empty') } };
      if ([...text].length > MAX_DRAFT_CHARS) return { errors: { text: t('draft.tooLong', { length: [...text].length, max: MAX_DRAFT_CHARS }) } };
      let targets: NetworkId[];
      try {
        targets = parseNetworks(values.networks, draft.networks, t);
      } catch (error) {
        return { errors: { networks: (error as Error).message } };
      }
      const variants = targets.map((network) => ({ network, posts: fitToNetwork(text, network).posts, source: 'person' as const }));
      return newVersion(app, chat, draft, event.actor, { text, networks: targets, variants }, 'edit', t);
    }
    case 'schedule': {
      const draft = await load(app, id.entityId, t, 'schedule');
      let when: Date | undefined;
      try {
        when = parseWhen(values.when, app.clock.now(), t, (await app.stores.settings.get(draft.workspace)).timezone);
      } catch (error) {
        return { errors: { when: (error as Error).message } };
      }
      if (!when) return { errors: { when: t('draft.badDate', { value: '' }) } };
      const to: DraftStatus = draft.status === 'approved' ? 'scheduled' : draft.status;
      await transition(app, chat, draft, event.actor, 'schedule', { scheduledAt: when, status: to }, t, formatWhen(when));
      return;
    }
    case 'assign': {
      const draft = await load(app, id.entityId, t, 'assign');
      const assignee = values.assignee?.replace(/^<@!?([\w]+)>$/, '$1').trim();
      if (!assignee) return { errors: { assignee: t('draft.form.assign.pick') } };
      let due: Date | undefined;
      try {
        due = parseWhen(values.due, app.clock.now(), t, (await app.stores.settings.get(draft.workspace)).timezone);
      } catch (error) {
        return { errors: { due: (error as Error).message } };
      }
      await transition(app, chat, draft, event.actor, 'assign', { assigneeId: assignee, ...(due ? { dueAt: due } : {}) }, t, `${assignee}${due ? ` ${formatWhen(due)}` : ''}`);
      await chat.notifyUser(userRef(draft, assignee), { text: t('draft.assignedDm', { id: draft.id, who: event.actor.name, due: due ? formatWhen(due) : '—' }) });
      return;
    }
    default:
      throw new UserError('unknown_form', t('chat.staleAction'));
  }
}

export async function historyText(app: FlowContext, draftId: string, t: Translate): Promise<string> {
  const entries = await app.stores.audit.history(draftId);
  if (entries.length === 0) return t('draft.missing');
  const lines = entries.map((e) => `${formatWhen(e.at)} · ${e.actorName} · ${t(`draft.action.${e.action}`)} · v${e.version}${e.from !== e.to ? ` · ${e.from ?? '∅'} → ${e.to ?? '∅'}` : ''}${e.comment ? ` · ${e.comment}` : ''}`);
  return `${t('draft.historyTitle', { id: draftId })}\n${lines.join('\n')}`;
}

const emojiNames: Record<string, string> = { memo: '📝', pencil2: '✏️', mega: '📣', loudspeaker: '📢', white_check_mark: '✅', star: '⭐' };

function imagesOf(files: readonly FileRef[]): DraftImage[] {
  return files.filter((f) => !f.mimeType || f.mimeType.startsWith('image/')).map((f) => ({ url: f.url, alt: f.alt ?? f.name }));
}

/** The draft reaction in a watched channel, and "@Herald draft …". */
async function onConversation(app: FlowContext, event: ConversationEvent, chat: ChatAdapter): Promise<void> {
  const t = translator(event.actor.locale);
  if (event.type === 'reaction') {
    const settings = await app.stores.settings.get(wsKey(event.message));
    const wanted = settings.draftReaction;
    if (event.emoji !== wanted && event.emoji !== emojiNames[wanted]) return;
    if (!settings.watchedChannels.includes(event.message.channel)) return;
    // Several people reacting with the emoji make one draft.
    const claim = await app.stores.ledger.begin(`reaction-draft:${serializeRef(event.message)}`, 'draft');
    if (claim.status !== 'started') return;
    const message = await chat.fetchMessage(event.message);
    if (!message) return;
    try {
      const draft = await createDraft(app, chat, { author: event.actor, channel: event.message, text: message.text, source: event.message, images: imagesOf(message.files) });
      await app.stores.ledger.complete(claim.entry.key, { draftId: draft.id });
      await chat.reply(event.message, { text: t('draft.created', { id: draft.id }) });
    } catch (error) {
      await app.stores.ledger.fail(claim.entry.key, error instanceof Error ? error.message : String(error));
      if (error instanceof UserError) await chat.reply(event.message, { text: error.message });
      else throw error;
    }
    return;
  }
  if (event.type === 'mention') {
    const match = /^\s*draft\b\s*([\s\S]*)$/i.exec(event.text);
    if (!match) return;
    try {
      const draft = await createDraft(app, chat, { author: event.actor, channel: event.message, text: match[1] ?? '', source: event.message, images: imagesOf(event.files) });
      await chat.reply(event.message, { text: t('draft.created', { id: draft.id }) });
    } catch (error) {
      // A mention has no private answer channel: a refusal goes to the thread, to its author's eyes.
      if (error instanceof UserError) await chat.reply(event.message, { text: error.message });
      else throw error;
    }
  }
}

const remindSchema = z.object({ draftId: z.string().regex(/^d-[a-z0-9]+$/), version: z.number().int().min(1), escalate: z.boolean() });

export default defineFlow({
  name: FLOW,
  jobs: (app) => [
    defineJob({
      name: JobNames.approvalRemind,
      schema: remindSchema,
      async handler({ draftId, version, escalate }, { log }) {
        const draft = await app.stores.drafts.get(draftId);
        if (!draft || draft.status !== 'pending' || draft.version !== version) return;
        const chat = app.chat.get(userRef(draft, '').platform);
        if (!chat) return;
        const settings = await app.stores.settings.get(draft.workspace);
        const t = translator(settings.locale);
        const { policy, state, stepName } = await stateOf(app, chat, draft);
        const minutes = Math.round((app.clock.now().getTime() - draft.updatedAt.getTime()) / 60_000);
        const step = state.currentStep === undefined ? undefined : policy.steps[state.currentStep];
        const spec = escalate ? policy.escalateTo ?? step?.approvers : step?.approvers;
        const people = new Set(spec?.users ?? []);
        for (const group of spec?.groups ?? []) for (const user of await chat.groupMembers(userRef(draft, '').workspace, group)) people.add(user);
        people.delete(draft.authorId);
        const text = t(escalate ? 'draft.escalation' : 'draft.reminder', { id: draft.id, minutes, step: stepName ?? '', have: state.have, need: state.need });
        await inThread(chat, draft, text);
        for (const user of [...people].slice(0, 20)) await chat.notifyUser(userRef(draft, user), { text });
        log.info({ draftId, escalate, notified: people.size }, escalate ? 'approval escalated' : 'approvers reminded');
        if (!escalate) {
          const delay = Math.max(1, policy.escalateAfterMinutes - policy.remindAfterMinutes) * 60_000;
          await app.scheduler.at(new Date(app.clock.now().getTime() + delay), JobNames.approvalRemind, { draftId, version, escalate: true });
        }
      },
    }),
    defineJob({
      name: JobNames.publishDue,
      // `at`: the time it was scheduled for; a job left over from an earlier time of the draft does nothing.
      schema: z.object({ draftId: z.string().regex(/^d-[a-z0-9]+$/), at: z.iso.datetime().optional() }),
      // A transient database error (a failover) must not strand a due draft.
      retry: { maxRetries: 5, delayMs: 2_000, maxDelayMs: 60_000 },
      // Posts fall due together (the top of the hour): start them all, up to the process's limit.
      concurrency: app.config.SCHEDULER_MAX_CONCURRENCY,
      // One per scheduled post: the audit trail and the ledger keep the history, not the job.
      removeOnComplete: true,
      async handler({ draftId, at }, { log }) {
        const draft = await app.stores.drafts.get(draftId);
        if (!draft) return;
        if (at && draft.scheduledAt?.toISOString() !== at) {
          log.info({ draftId, at, scheduledAt: draft.scheduledAt }, 'due job for a time the draft no longer has: nothing to do');
          return;
        }
        const chat = app.chat.get(userRef(draft, '').platform);
        const settings = await app.stores.settings.get(draft.workspace);
        const t = translator(settings.locale);
        if (draft.status === 'pending' || draft.status === 'changes_requested') {
          // Fail closed: nothing unapproved reaches a network.
          if (!(await app.stores.drafts.update(draft.id, draft, { status: 'expired' }))) return;
          const expired = { ...draft, status: 'expired' as const };
          await app.stores.audit.append({ draftId, actorId: 'herald', actorName: 'Herald', action: 'expire', from: draft.status, to: 'expired', version: draft.version, comment: 'not approved at its scheduled time' });
          log.warn({ draftId, status: draft.status }, 'draft not approved at its scheduled time: not published');
          if (chat) {
            await refreshCard(app, chat, expired);
            await chat.notifyUser(userRef(draft, draft.authorId), { text: t('draft.expiredDm', { id: draft.id, when: draft.scheduledAt ? formatWhen(draft.scheduledAt) : '' }) });
          }
          return;
        }
        // A run that died after marking the draft publishing but before fanning out carries on.
        const stranded = draft.status === 'publishing' && (await app.stores.deliveries.forVersion(draft.id, draft.version)).length === 0;
        if (draft.status !== 'scheduled' && !stranded) return;
        await startPublishing(app, draft, log);
      },
    }),
  ],
  chat: (app) => ({
    actions: { [FLOW]: (event, id, chat) => onAction(app, event, id, chat) },
    forms: { [FLOW]: (event, id, chat) => onForm(app, event, id, chat) },
    shortcuts: [
      {
        declaration: allShortcuts.find((s) => s.id === SHORTCUT_DRAFT)!,
        async run(event, chat) {
          const draft = await createDraft(app, chat, {
            author: event.actor,
            channel: { platform: event.message.platform, workspace: event.message.workspace, channel: event.message.channel },
            text: event.text,
            source: event.message,
            images: imagesOf(event.files),
          });
          await event.respond.ephemeral({ text: translator(event.actor.locale)('draft.created', { id: draft.id }) });
        },
      },
    ],
    listeners: [(event, chat) => onConversation(app, event, chat)],
  }),
});
