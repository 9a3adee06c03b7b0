import { encodeActionId } from '../src/chat/action-id.ts';
import type { Card, CardAction, Message } from '../src/chat/model.ts';
import type { Draft } from '../src/core/draft.ts';
import { measure, networks } from '../src/core/networks.ts';
import type { Progress } from '../src/core/policy.ts';
import type { Translate } from '../src/i18n/catalogue.ts';

export const FLOW = 'approval';

/** Buttons carry the version they were shown for, so a click on an outdated card is refused. */
export function draftAction(action: string, draft: Pick<Draft, 'id' | 'version'>): string {
  return encodeActionId({ flow: FLOW, action, entityId: `${draft.id}@${draft.version}` });
}

export function parseEntity(entityId: string): { draftId: string; version: number } | undefined {
  const match = /^(d-[a-z0-9]+)@(\d+)$/.exec(entityId);
  return match ? { draftId: match[1]!, version: Number(match[2]) } : undefined;
}

/** Previews stay readable at chat size and within Discord's 1,024-character field limit. */
const PREVIEW_CHARS = 900;

function preview(posts: readonly string[]): string {
  const joined = posts.length === 1 ? posts[0]! : posts.map((p, i) => `${i + 1}. ${p}`).join('\n');
  return joined.length > PREVIEW_CHARS ? `${joined.slice(0, PREVIEW_CHARS - 1)}…` : joined;
}

export function formatWhen(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The draft's card in the approvals channel: one preview per network with its length against the
 * limit, who wrote it, where from, its status, schedule and version, and the buttons that move it.
 */
export function draftCard(draft: Draft, state: Progress & { stepName?: string }, t: Translate): Message {
  const status = t(`draft.status.${draft.status}`);
  const fields = draft.variants.map((variant) => {
    const limit = networks[variant.network];
    const lengths = variant.posts.map((post) => measure(post, variant.network));
    const counted = variant.posts.length === 1 ? `${lengths[0]}/${limit.maxLength}` : t('draft.thread', { count: variant.posts.length, longest: Math.max(...lengths), limit: limit.maxLength });
    const delivery = draft.deliveries?.find((d) => d.network === variant.network);
    const state = delivery ? ` · ${t(`delivery.${delivery.status}`)}` : '';
    const detail = delivery?.url ? `${delivery.url}\n` : delivery?.reason && delivery.status !== 'published' ? `${delivery.reason}\n` : '';
    return { label: `${limit.label} · ${counted}${variant.source === 'fallback' ? ` · ${t('draft.fallbackNote')}` : ''}${state}`, value: `${detail}${preview(variant.posts)}` };
  });
  const context = [
    t('draft.context.author', { name: draft.authorName }),
    draft.sourceLink ? t('draft.context.source', { link: draft.sourceLink }) : undefined,
    t('draft.context.version', { version: draft.version }),
    draft.scheduledAt ? t('draft.context.scheduled', { when: formatWhen(draft.scheduledAt) }) : t('draft.context.unscheduled'),
    draft.status === 'pending' && !state.complete ? t('draft.context.approvals', { have: state.have, need: state.need, step: state.stepName ?? '' }) : undefined,
    draft.assigneeId ? t('draft.context.assignee', { user: draft.assigneeId }) : undefined,
    draft.labels.length > 0 ? t('draft.context.labels', { labels: draft.labels.join(', ') }) : undefined,
  ].filter(Boolean);

  const decided = draft.status === 'rejected' || draft.status === 'expired' || draft.status === 'published';
  const failures = (draft.deliveries ?? []).filter((d) => d.status === 'failed');
  const actions: CardAction[] = decided || draft.status === 'publishing'
    ? []
    : draft.status === 'failed'
      ? [
          { kind: 'button', actionId: encodeActionId({ flow: 'publishing', action: 'retry', entityId: `${draft.id}@${draft.version}` }), label: t('delivery.retry'), style: 'primary' },
          ...[...new Set(failures.filter((d) => d.fix === 'reconnect').map((d) => d.network))].map((network) => ({
            kind: 'button' as const,
            actionId: encodeActionId({ flow: 'accounts', action: 'connect', entityId: network }),
            label: t('delivery.reconnect', { network: networks[network].label }),
          })),
        ]
      : [
        ...(draft.status === 'pending' ? [{ kind: 'button' as const, actionId: draftAction('approve', draft), label: t('draft.button.approve'), style: 'primary' as const }] : []),
        { kind: 'button', actionId: draftAction('changes', draft), label: t('draft.button.changes') },
        { kind: 'button', actionId: draftAction('edit', draft), label: t('draft.button.edit') },
        { kind: 'button', actionId: draftAction('schedule', draft), label: t('draft.button.schedule') },
        {
          kind: 'button',
          actionId: draftAction('reject', draft),
          label: t('draft.button.reject'),
          style: 'danger',
          confirm: { title: t('draft.confirmReject.title'), text: t('draft.confirmReject.text'), confirm: t('draft.button.reject'), deny: t('draft.confirmReject.deny') },
        },
        {
          kind: 'select',
          actionId: draftAction('more', draft),
          placeholder: t('draft.more'),
          options: [
            { label: t('draft.button.queue'), value: 'queue' },
            { label: t('draft.button.regenerate'), value: 'regenerate' },
            { label: t('draft.button.assign'), value: 'assign' },
            { label: t('draft.button.history'), value: 'history' },
          ],
        },
      ];
  const outcome = decided || draft.status === 'approved' || draft.status === 'scheduled' || draft.status === 'failed' ? outcomeLine(draft, t) : undefined;
  const card: Card = {
    title: `${draft.urgent ? '🚨 ' : ''}${t('draft.title', { id: draft.id })} · ${status}`,
    ...(outcome ? { body: outcome } : {}),
    fields,
    context: context.join(' · '),
    actions,
  };
  return { text: `${t('draft.title', { id: draft.id })} · ${status}`, card };
}

function outcomeLine(draft: Draft, t: Translate): string {
  const who = draft.decidedBy ?? '';
  switch (draft.status) {
    case 'scheduled':
      return t('draft.outcome.scheduled', { who, when: draft.scheduledAt ? formatWhen(draft.scheduledAt) : '' });
    case 'approved':
      return t('draft.outcome.approved', { who });
    case 'rejected':
      return t('draft.outcome.rejected', { who });
    case 'expired':
      return t('draft.outcome.expired');
    case 'published':
      return t('draft.outcome.published');
    case 'failed':
      return t('draft.outcome.failed');
    default:
      return t(`draft.status.${draft.status}`);
  }
}
