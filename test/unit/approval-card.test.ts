import { describe, expect, it } from 'vitest';
import { draftAction, draftCard, parseEntity } from '../../flows/approval-card.ts';
import { parseNetworks, parseWhen } from '../../flows/approval.ts';
import { decodeActionId } from '../../src/chat/action-id.ts';
import type { Draft } from '../../src/core/draft.ts';
import { translator } from '../../src/i18n/catalogue.ts';

const t = translator('en');
const draft: Draft = {
  id: 'd-abcdefgh',
  workspace: 'slack:T1',
  authorId: 'U1',
  authorName: 'Ana',
  status: 'pending',
  version: 3,
  text: 'Hello',
  networks: ['bluesky', 'x'],
  variants: [
    { network: 'bluesky', posts: ['Hello Bluesky'], source: 'model' },
    { network: 'x', posts: ['One 1/2', 'Two 2/2'], source: 'fallback' },
  ],
  labels: ['legal'],
  images: [],
  sourceLink: 'https://example.slack.com/archives/C1/p1',
  scheduledAt: new Date('2026-12-01T14:30:00Z'),
  createdAt: new Date(),
  updatedAt: new Date(),
};

describe('the draft card', () => {
  it('shows one preview per network with its length against the limit, and who, where, when, which version', () => {
    const message = draftCard(draft, { currentStep: 0, have: 1, need: 2, complete: false, stepName: 'review' }, t);
    const card = message.card!;
    expect(card.title).toBe('Draft d-abcdefgh · waiting for approval');
    expect(card.fields).toEqual([
      { label: 'Bluesky · 13/300', value: 'Hello Bluesky' },
      { label: 'X · thread of 2, longest 7/280 · trimmed automatically', value: '1. One 1/2\n2. Two 2/2' },
    ]);
    expect(card.context).toBe('by Ana · from https://example.slack.com/archives/C1/p1 · version 3 · for 2026-12-01 14:30 UTC · approvals 1/2 (review) · labels: legal');
    const buttons = card.actions!.filter((a) => a.kind === 'button').map((a) => a.label);
    expect(buttons).toEqual(['Approve', 'Request changes', 'Edit', 'Schedule', 'Reject']);
    expect(card.actions!.find((a) => a.kind === 'select')).toMatchObject({ options: [{ value: 'queue' }, { value: 'regenerate' }, { value: 'assign' }, { value: 'history' }] });
  });

  it('carries the version in every action id, within 100 characters', () => {
    const id = draftAction('approve', draft);
    expect(id.length).toBeLessThanOrEqual(100);
    expect(parseEntity(decodeActionId(id)!.entityId)).toEqual({ draftId: 'd-abcdefgh', version: 3 });
    expect(parseEntity('d-abc@x')).toBeUndefined();
  });

  it('shows a decided card with its outcome and who decided, and no buttons', () => {
    const rejected = draftCard({ ...draft, status: 'rejected', decidedBy: 'Bob' }, { have: 0, need: 0, complete: true }, t).card!;
    expect(rejected.body).toBe('Rejected by Bob.');
    expect(rejected.actions).toEqual([]);
    const scheduled = draftCard({ ...draft, status: 'scheduled', decidedBy: 'Bob' }, { have: 0, need: 0, complete: true }, t).card!;
    expect(scheduled.body).toBe('Approved by Bob, scheduled for 2026-12-01 14:30 UTC.');
    expect(scheduled.actions!.some((a) => a.kind === 'button' && a.label === 'Approve')).toBe(false);
  });

  it('speaks French and Romanian', () => {
    expect(draftCard(draft, { have: 0, need: 1, complete: false }, translator('fr')).card!.title).toBe('Brouillon d-abcdefgh · en attente d’approbation');
    expect(draftCard(draft, { have: 0, need: 1, complete: false }, translator('ro')).card!.title).toBe('Ciorna d-abcdefgh · așteaptă aprobare');
  });
});

describe('draft options', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  it('parses networks, aliases and refuses unknown ones with the list of known ones', () => {
    expect(parseNetworks('Bluesky, twitter  mastodon', ['x'], t)).toEqual(['bluesky', 'x', 'mastodon']);
    expect(parseNetworks(undefined, ['linkedin'], t)).toEqual(['linkedin']);
    expect(() => parseNetworks('bluesky,myspace', [], t)).toThrow('Herald does not know the network(s) myspace. Use one or more of: bluesky, x, mastodon, threads, linkedin, instagram.');
  });

  it('reads times as UTC unless they say otherwise, and refuses the past', () => {
    expect(parseWhen('2026-12-01 14:30', now, t)?.toISOString()).toBe('2026-12-01T14:30:00.000Z');
    expect(parseWhen('2026-12-01T14:30:00+01:00', now, t)?.toISOString()).toBe('2026-12-01T13:30:00.000Z');
    expect(parseWhen('', now, t)).toBeUndefined();
    expect(() => parseWhen('2026-11-23 12:00', now, t)).toThrow(/in the past/);
    expect(() => parseWhen('soon', now, t)).toThrow(/not a time Herald understands/);
  });
});
