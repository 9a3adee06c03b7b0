import { encodeActionId } from '../src/chat/action-id.ts';
import { mention, type CardAction, type Message } from '../src/chat/model.ts';
import type { ConversationRef } from '../src/chat/port.ts';
import { networks } from '../src/core/networks.ts';
import type { Translate } from '../src/i18n/catalogue.ts';
import type { Conversation, InboxSummary, OutboundReply, StoredItem } from '../src/store/inbox.ts';

export const INBOX = 'inbox';

const excerpt = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const followers = (count: number | undefined): string => (count === undefined ? '' : ` · ${new Intl.NumberFormat('en').format(count)}`);
const at = (date: Date): string => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** "sentiment · urgency · topic · language" in the team's words. */
export function labelLine(item: StoredItem, t: Translate): string {
  return [t(`inbox.sentiment.${item.labels.sentiment}`), t(`inbox.urgency.${item.labels.urgency}`), item.labels.topic, item.labels.language].join(' · ');
}

/** A conversation's card: the item it started with, who owns it, and what can be done. */
export function conversationCard(conversation: Conversation, item: StoredItem, t: Translate, options: { ourPostUrl?: string; notePrefix?: string } = {}): Message {
  const network = networks[conversation.network].label;
  const author = item.author.displayName ? `${item.author.displayName} (@${item.author.handle})` : `@${item.author.handle}`;
  const status =
    conversation.status === 'resolved'
      ? t('inbox.status.resolved', { who: conversation.resolvedBy ?? '' })
      : conversation.ownerId
        ? t('inbox.status.owned', { owner: mention(conversation.ownerId) })
        : t('inbox.status.unowned');
  const actions: CardAction[] =
    conversation.status === 'resolved'
      ? [{ kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'reopen', entityId: conversation.id }), label: t('inbox.button.reopen') }]
      : [
          { kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'claim', entityId: conversation.id }), label: t('inbox.button.claim'), style: 'primary' },
          { kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'assign', entityId: conversation.id }), label: t('inbox.button.assign') },
          { kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'suggest', entityId: conversation.id }), label: t('inbox.button.suggest') },
          { kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'resolve', entityId: conversation.id }), label: t('inbox.button.resolve') },
        ];
  actions.push({ kind: 'link', label: t('inbox.button.open'), url: item.url });
  const title = t(`inbox.kind.${item.kind}`, { author: `@${item.author.handle}`, network });
  return {
    text: `${title}: ${excerpt(item.text, 200)}`,
    card: {
      title,
      body: excerpt(item.text, 2_500),
      fields: [
        { label: t('inbox.field.author'), value: `${author}${followers(item.author.followers)}`, short: true },
        { label: t('inbox.field.labels'), value: labelLine(item, t), short: true },
        ...(item.ourPost ? [{ label: t('inbox.field.answers'), value: options.ourPostUrl ?? item.ourPost.url ?? item.ourPost.remoteId, short: false }] : []),
        { label: t('inbox.field.status'), value: status, short: true },
        ...(conversation.slaDueAt && !conversation.firstResponseAt && conversation.status === 'open' ? [{ label: t('inbox.field.sla'), value: at(conversation.slaDueAt), short: true }] : []),
        ...(conversation.risky ? [{ label: t('inbox.field.risk'), value: t('inbox.risky'), short: true }] : []),
      ],
      context: [network, at(item.createdAt), t('inbox.context.messages', { count: conversation.itemCount }), t('inbox.context.replyHint', { prefix: options.notePrefix ?? '//' })].join(' · '),
      actions,
    },
  };
}

/** A further message of the conversation, in the card's thread. */
export function followUpMessage(item: StoredItem, t: Translate): Message {
  return { text: t('inbox.followUp', { author: `@${item.author.handle}`, text: excerpt(item.text, 2_500), url: item.url, labels: labelLine(item, t) }) };
}

/** The approval a risky reply waits for, in the card's thread. */
export function replyApprovalCard(reply: OutboundReply, t: Translate): Message {
  const decided = reply.state !== 'awaiting_approval';
  const outcome = reply.state === 'rejected' ? t('inbox.reply.rejectedBy', { who: reply.decidedBy ?? '' }) : t('inbox.reply.approvedBy', { who: reply.decidedBy ?? '' });
  return {
    text: t('inbox.reply.needsApproval', { author: reply.authorName }),
    card: {
      title: t('inbox.reply.needsApproval', { author: reply.authorName }),
      body: reply.text,
      ...(decided ? { context: outcome } : {}),
      actions: decided
        ? []
        : [
            { kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'approve-reply', entityId: reply.id }), label: t('draft.button.approve'), style: 'primary' },
            { kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'edit-reply', entityId: reply.id }), label: t('draft.button.edit') },
            { kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'reject-reply', entityId: reply.id }), label: t('draft.button.reject'), style: 'danger' },
          ],
    },
  };
}

/** The one message that stands for a burst's other items in a channel. */
export function summaryMessage(summary: InboxSummary, t: Translate): Message {
  const text = t('inbox.summary', { count: summary.count, negative: summary.negative, neutral: summary.neutral, positive: summary.positive, since: at(summary.startedAt) });
  return {
    text,
    card: {
      title: t('inbox.summaryTitle', { count: summary.count }),
      body: text,
      fields: summary.terms.length ? [{ label: t('inbox.field.terms'), value: summary.terms.join(', ') }] : [],
      context: t('inbox.summaryHint'),
      actions: [{ kind: 'button', actionId: encodeActionId({ flow: INBOX, action: 'list', entityId: summary.id }), label: t('inbox.button.list') }],
    },
  };
}

/** Where a conversation's card goes: the channel of the workspace's platform. */
export function channelRef(workspace: string, channel: string): ConversationRef {
  const [platform, chatWorkspace = ''] = workspace.split(':');
  return { platform: platform as ConversationRef['platform'], workspace: chatWorkspace, channel };
}
