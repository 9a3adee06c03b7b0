import { describe, expect, it } from 'vitest';
import { conversationCard, replyApprovalCard, summaryMessage } from '../../flows/inbox-card.ts';
import { decodeActionId } from '../../src/chat/action-id.ts';
import { translator } from '../../src/i18n/catalogue.ts';
import type { Conversation, OutboundReply, StoredItem } from '../../src/store/inbox.ts';

const at = new Date('2026-11-20T10:00:00Z');
const item: StoredItem = {
  id: 'i-1',
  remoteId: 'at://did:plc:fan/app.bsky.feed.post/3k',
  kind: 'reply',
  author: { handle: 'fan.bsky.social', displayName: 'Ana Pop', followers: 12_345 },
  text: 'Where is my parcel?',
  url: 'https://bsky.app/profile/fan.bsky.social/post/3k',
  createdAt: at,
  ourPost: { remoteId: 'at://did:plc:brand/app.bsky.feed.post/1', url: 'https://bsky.app/profile/brand/post/1' },
  workspace: 'slack:T1',
  accountId: 'acc-1',
  network: 'bluesky',
  receivedAt: at,
  labels: { sentiment: 'negative', urgency: 'normal', topic: 'delivery', language: 'en', source: 'lexicon' },
  vip: false,
  conversationId: 'c-1',
  starts: true,
  channel: 'C1',
  delivery: 'waiting',
};
const conversation: Conversation = { id: 'c-1', workspace: 'slack:T1', accountId: 'acc-1', network: 'bluesky', channel: 'C1', status: 'open', rootItemId: 'i-1', risky: true, itemCount: 2, createdAt: at, lastItemAt: at, slaDueAt: new Date('2026-11-20T10:30:00Z') };

describe('inbox cards', () => {
  it('shows who wrote what, where, about which post of ours, its labels, owner, deadline and risk', () => {
    const message = conversationCard(conversation, item, translator('en'));
    const card = message.card!;
    expect(card.title).toBe('Reply from @fan.bsky.social on Bluesky');
    expect(card.body).toBe('Where is my parcel?');
    const fields = Object.fromEntries((card.fields ?? []).map((f) => [f.label, f.value]));
    expect(fields).toEqual({
      Author: 'Ana Pop (@fan.bsky.social) · 12,345',
      Labels: '🔴 negative · normal urgency · delivery · en',
      'Answers our post': 'https://bsky.app/profile/brand/post/1',
      Status: 'nobody yet',
      'First response due': '2026-11-20 10:30 UTC',
      Risk: 'replies need an approval',
    });
    expect(card.context).toContain('2 message(s)');
    expect(card.actions?.map((a) => (a.kind === 'link' ? `${a.label}→${a.url}` : a.kind === 'button' ? decodeActionId(a.actionId)?.action : ''))).toEqual(['claim', 'assign', 'suggest', 'resolve', `Open→${item.url}`]);
  });

  it('a resolved conversation offers Reopen and says who resolved it, in the team’s language', () => {
    const message = conversationCard({ ...conversation, status: 'resolved', resolvedBy: 'Ioana', ownerId: 'U1' }, item, translator('ro'));
    expect(message.card?.fields?.find((f) => f.label === 'Stare')?.value).toBe('✅ rezolvat de Ioana');
    expect(message.card?.actions?.map((a) => ('label' in a ? a.label : ''))).toEqual(['Redeschide', 'Deschide']);
    expect(message.card?.fields?.some((f) => f.label === 'Primul răspuns până la')).toBe(false);
  });

  it('a reply awaiting approval has Approve / Edit / Reject; a decided one says the outcome and has none', () => {
    const reply: OutboundReply = { id: 'r-1', conversationId: 'c-1', workspace: 'slack:T1', itemId: 'i-1', text: 'Sorry!', authorId: 'U2', authorName: 'Dan', source: 'x', state: 'awaiting_approval', createdAt: at, updatedAt: at };
    expect(replyApprovalCard(reply, translator('en')).card?.actions?.map((a) => ('label' in a ? a.label : ''))).toEqual(['Approve', 'Edit', 'Reject']);
    const rejected = replyApprovalCard({ ...reply, state: 'rejected', decidedBy: 'Eve' }, translator('fr')).card!;
    expect(rejected.actions).toEqual([]);
    expect(rejected.context).toBe('Refusée par Eve : non envoyée.');
  });

  it('a burst summary counts by sentiment and offers the list', () => {
    const message = summaryMessage({ id: 's-1', workspace: 'slack:T1', channel: 'C1', count: 42, negative: 30, neutral: 8, positive: 4, terms: ['refund', 'late'], startedAt: at, updatedAt: at }, translator('en'));
    expect(message.text).toBe('42 items arrived faster than one card each (since 2026-11-20 10:00 UTC): 30 negative, 8 neutral, 4 positive.');
    expect(message.card?.fields).toEqual([{ label: 'Top terms', value: 'refund, late' }]);
    expect(message.card?.actions?.map((a) => ('label' in a ? a.label : ''))).toEqual(['List them']);
  });
});
