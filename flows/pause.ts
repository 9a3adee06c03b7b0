import { encodeActionId } from '../src/chat/action-id.ts';
import type { Message } from '../src/chat/model.ts';
import type { ActionClicked, Actor, ChatAdapter, ConversationRef, Membership } from '../src/chat/port.ts';
import type { Draft } from '../src/core/draft.ts';
import { UserError } from '../src/core/errors.ts';
import { isApprover } from '../src/core/policy.ts';
import { defineFlow, type FlowContext } from '../src/flow.ts';
import { translator, type Translate } from '../src/i18n/catalogue.ts';
import { JobNames } from '../src/jobs/names.ts';
import { refreshCard } from './approval.ts';
import { draftAction, formatWhen, parseEntity } from './approval-card.ts';

export const PAUSE = 'pause';

interface Who {
  actor: Actor;
  channel: ConversationRef;
  membership: Membership;
}

const workspaceOf = (channel: ConversationRef): string => `${channel.platform}:${channel.workspace}`;

/** Admins and approvers hold the kill switch (an on-call person is usually one of them). */
async function requireSwitchHolder(app: FlowContext, who: Who, t: Translate): Promise<void> {
  const settings = await app.stores.settings.get(workspaceOf(who.channel));
  const person = { user: who.actor.ref.user, isAdmin: who.membership.isAdmin, groups: who.membership.groups };
  if (who.membership.isAdmin || settings.policy.steps.some((step) => isApprover(step.approvers, person))) return;
  throw new UserError('not_allowed', t('pause.notAllowed'));
}

async function teamChannel(app: FlowContext, channel: ConversationRef): Promise<ConversationRef> {
  const settings = await app.stores.settings.get(workspaceOf(channel));
  return { platform: channel.platform, workspace: channel.workspace, channel: settings.approvalsChannel ?? channel.channel };
}

export async function pausePublishing(app: FlowContext, chat: ChatAdapter, who: Who & { reason: string }): Promise<void> {
  const t = translator(who.actor.locale);
  await requireSwitchHolder(app, who, t);
  const workspace = workspaceOf(who.channel);
  await app.stores.settings.update(workspace, { paused: { reason: who.reason, by: who.actor.name, at: app.clock.now() } });
  app.log.warn({ workspace, by: who.actor.ref.user, reason: who.reason }, 'publishing paused');
  const scheduled = await app.stores.drafts.list(workspace, { statuses: ['scheduled', 'publishing'], limit: 200 });
  await chat.post(await teamChannel(app, who.channel), { text: t('pause.announce', { who: who.actor.name, reason: who.reason, count: scheduled.length }) });
}

/** Drafts whose deliveries were held while publishing was paused. */
async function heldDrafts(app: FlowContext, workspace: string): Promise<Draft[]> {
  const publishing = await app.stores.drafts.list(workspace, { statuses: ['publishing'], limit: 200 });
  const held: Draft[] = [];
  for (const draft of publishing) {
    const deliveries = await app.stores.deliveries.forVersion(draft.id, draft.version);
    if (deliveries.some((d) => d.status === 'held')) held.push(draft);
  }
  return held;
}

function heldCard(draft: Draft, t: Translate): Message {
  return {
    text: t('pause.heldPost', { id: draft.id, when: draft.scheduledAt ? formatWhen(draft.scheduledAt) : '—' }),
    card: {
      title: t('pause.heldPost', { id: draft.id, when: draft.scheduledAt ? formatWhen(draft.scheduledAt) : '—' }),
      body: draft.text.length > 280 ? `${draft.text.slice(0, 279)}…` : draft.text,
      actions: [
        { kind: 'button', actionId: encodeActionId({ flow: PAUSE, action: 'now', entityId: `${draft.id}@${draft.version}` }), label: t('pause.publishNow'), style: 'primary' },
        { kind: 'button', actionId: encodeActionId({ flow: PAUSE, action: 'reschedule', entityId: `${draft.id}@${draft.version}` }), label: t('pause.reschedule') },
        { kind: 'button', actionId: encodeActionId({ flow: PAUSE, action: 'return', entityId: `${draft.id}@${draft.version}` }), label: t('pause.returnToDraft') },
      ],
    },
  };
}

/** Ends the pause; every held post gets a card asking what to do. Nothing is published by resuming. */
export async function resumePublishing(app: FlowContext, chat: ChatAdapter, who: Who): Promise<Message> {
  const t = translator(who.actor.locale);
  await requireSwitchHolder(app, who, t);
  const workspace = workspaceOf(who.channel);
  const settings = await app.stores.settings.get(workspace);
  if (!settings.paused) return { text: t('pause.notPaused') };
  await app.stores.settings.resume(workspace);
  const held = await heldDrafts(app, workspace);
  app.log.warn({ workspace, by: who.actor.ref.user, held: held.length }, 'publishing resumed');
  const channel = await teamChannel(app, who.channel);
  await chat.post(channel, {
    text: t('pause.resumed', { who: who.actor.name, count: held.length }),
    ...(held.length > 1
      ? { card: { title: t('pause.resumed', { who: who.actor.name, count: held.length }), actions: [{ kind: 'button' as const, actionId: encodeActionId({ flow: PAUSE, action: 'all', entityId: who.channel.workspace }), label: t('pause.publishAll') }] } }
      : {}),
  });
  for (const draft of held) await chat.post(channel, heldCard(draft, t));
  return { text: t('pause.resumedEphemeral', { count: held.length }) };
}

async function releaseHeld(app: FlowContext, chat: ChatAdapter, draft: Draft): Promise<void> {
  for (const delivery of await app.stores.deliveries.forVersion(draft.id, draft.version)) {
    if (delivery.status !== 'held') continue;
    await app.stores.deliveries.set(draft.id, draft.version, { network: delivery.network, status: 'pending', attempts: 0, at: app.clock.now() });
    await app.scheduler.now(JobNames.publishNetwork, { draftId: draft.id, version: draft.version, network: delivery.network, attempt: 1, manual: false });
  }
  await refreshCard(app, chat, draft);
}

async function onAction(app: FlowContext, event: ActionClicked, action: string, entityId: string, chat: ChatAdapter): Promise<void> {
  const t = translator(event.actor.locale);
  const membership = await chat.membership(event.actor.ref);
  await requireSwitchHolder(app, { actor: event.actor, channel: event.channel, membership }, t);
  const workspace = workspaceOf(event.channel);
  if ((await app.stores.settings.get(workspace)).paused) throw new UserError('still_paused', t('pause.stillPaused'));
  if (action === 'all') {
    const held = await heldDrafts(app, workspace);
    for (const draft of held) await releaseHeld(app, chat, draft);
    await chat.update(event.message, { text: t('pause.allReleased', { who: event.actor.name, count: held.length }) });
    return;
  }
  const entity = parseEntity(entityId);
  const draft = entity ? await app.stores.drafts.get(entity.draftId) : null;
  if (!entity || !draft || draft.version !== entity.version || draft.status !== 'publishing') throw new UserError('gone', t('chat.staleAction'));
  const audit = (to: Draft['status'], comment: string) => app.stores.audit.append({ draftId: draft.id, actorId: event.actor.ref.user, actorName: event.actor.name, action: 'return', from: 'publishing', to, version: draft.version, comment });
  switch (action) {
    case 'now':
      await releaseHeld(app, chat, draft);
      await chat.update(event.message, { text: t('pause.decided', { id: draft.id, who: event.actor.name, decision: t('pause.publishNow') }) });
      return;
    case 'reschedule': {
      if (!(await app.stores.drafts.update(draft.id, draft, { status: 'approved' }))) throw new UserError('changed_meanwhile', t('draft.changedMeanwhile'));
      await audit('approved', 'held by the pause: reschedule');
      await refreshCard(app, chat, draft);
      await chat.update(event.message, { text: t('pause.decided', { id: draft.id, who: event.actor.name, decision: t('pause.reschedule') }) });
      // The approval flow's own schedule form: the submission sets the new time and its due job.
      await event.respond.openForm({
        id: draftAction('schedule', draft),
        title: t('draft.form.schedule.title'),
        submitLabel: t('draft.form.save'),
        fields: [{ kind: 'datetime', id: 'when', label: t('draft.form.schedule.when'), required: true }],
      });
      return;
    }
    case 'return': {
      if (!(await app.stores.drafts.update(draft.id, draft, { status: 'pending', version: draft.version + 1 }))) throw new UserError('changed_meanwhile', t('draft.changedMeanwhile'));
      await audit('pending', 'held by the pause: back to review');
      await refreshCard(app, chat, draft);
      await chat.update(event.message, { text: t('pause.decided', { id: draft.id, who: event.actor.name, decision: t('pause.returnToDraft') }) });
      return;
    }
    default:
      throw new UserError('unknown_action', t('chat.staleAction'));
  }
}

export default defineFlow({
  name: PAUSE,
  chat: (app) => ({
    actions: { [PAUSE]: (event, id, chat) => onAction(app, event, id.action, id.entityId, chat) },
  }),
});
