import { encodeActionId } from '../src/chat/action-id.ts';
import type { CardAction, Message } from '../src/chat/model.ts';
import type { Translate } from '../src/i18n/catalogue.ts';
import type { Incident } from '../src/store/crisis.ts';
import type { StoredItem } from '../src/store/inbox.ts';

export const CRISIS = 'crisis';

const excerpt = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const at = (date: Date): string => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** "negative spike, VIP complaint": what the incident is about, in the team's words. */
export function incidentWhat(incident: Pick<Incident, 'kinds'>, t: Translate): string {
  return incident.kinds.map((kind) => t(`crisis.kind.${kind}`)).join(', ');
}

/**
 * The incident card: what happened, volume against baseline, sentiment split, examples with
 * links, who acknowledged; the five buttons while it is not resolved, its outcome once it is.
 */
export function incidentCard(incident: Incident, samples: readonly StoredItem[], accounts: ReadonlyMap<string, string>, t: Translate): Message {
  const title = t('crisis.title', { id: incident.id, what: incidentWhat(incident, t) });
  const status =
    incident.status === 'resolved'
      ? t('crisis.status.resolved', { who: incident.resolvedBy ?? '', cause: incident.summary?.cause ?? '' })
      : incident.status === 'acknowledged'
        ? t('crisis.status.acknowledged', { who: incident.acknowledgedBy ?? '' })
        : t('crisis.status.open');
  const button = (action: string, label: string, style?: 'primary' | 'danger'): CardAction => ({ kind: 'button', actionId: encodeActionId({ flow: CRISIS, action, entityId: incident.id }), label, ...(style ? { style } : {}) });
  const actions: CardAction[] =
    incident.status === 'resolved'
      ? []
      : [
          ...(incident.status === 'open' ? [button('ack', t('crisis.button.ack'), 'primary')] : []),
          button('escalate', t('crisis.button.escalate')),
          button('pause', t('crisis.button.pause'), 'danger'),
          button('holding', t('crisis.button.holding')),
          button('resolve', t('crisis.button.resolve')),
        ];
  const { negative, neutral, positive } = incident.sentiment;
  const lines = samples.map((item) => `• @${item.author.handle}: ${excerpt(item.text, 200)} <${item.url}>`);
  return {
    text: `${title} · ${status}`,
    card: {
      title,
      ...(lines.length ? { body: [t('crisis.samples'), ...lines].join('\n') } : {}),
      fields: [
        { label: t('crisis.field.status'), value: status, short: true },
        { label: t('crisis.field.opened'), value: at(incident.openedAt), short: true },
        ...(incident.volume
          ? [
              {
                label: t('crisis.field.volume'),
                value: t('crisis.field.volumeValue', { observed: incident.volume.observed, minutes: incident.volume.windowMinutes, expected: incident.volume.expected, ratio: (incident.volume.observed / Math.max(0.1, incident.volume.expected)).toFixed(1) }),
                short: false,
              },
            ]
          : []),
        { label: t('crisis.field.sentiment'), value: t('crisis.field.sentimentValue', { negative, neutral, positive }), short: true },
        { label: t('crisis.field.accounts'), value: incident.accounts.map((id) => accounts.get(id) ?? id).join(', ') || '—', short: true },
        { label: t('crisis.field.signals'), value: String(incident.signals), short: true },
      ],
      actions,
    },
  };
}
