import { describe, expect, it } from 'vitest';
import { buildApplicationCommands } from '../../src/chat/discord/commands.ts';
import { flattenCommand, ignoreReason, messageEvent, modalValues, parseGatewayMessage, parseInteraction, parseReaction, reactionEvent } from '../../src/chat/discord/events.ts';
import type { GatewayMessage } from '../../src/chat/discord/events.ts';
import { threadNameFrom } from '../../src/chat/discord/outgoing.ts';
import { formatDateTime, renderForm, renderMessage, truncate } from '../../src/chat/discord/render.ts';
import type { Card, Form } from '../../src/chat/model.ts';

const card: Card = {
  title: 'Draft d1',
  body: 'Our autumn collection launches on Monday.',
  fields: [
    { label: 'Status', value: 'pending', short: true },
    { label: 'Networks', value: '' },
  ],
  context: 'by Alice · v1',
  image: { url: 'https://example.org/a.png', alt: 'A shop window' },
  actions: [
    { kind: 'button', actionId: 'approval:approve:d1', label: 'Approve', style: 'primary' },
    { kind: 'button', actionId: 'approval:edit:d1', label: 'Edit' },
    { kind: 'button', actionId: 'approval:reject:d1', label: 'Reject', style: 'danger', confirm: { title: 'Reject?', text: 'Sure?', confirm: 'Reject', deny: 'Keep' } },
    { kind: 'link', label: 'Open', url: 'https://example.org/d1' },
    { kind: 'select', actionId: 'approval:more:d1', placeholder: 'More…', options: [{ label: 'Assign', value: 'assign' }, { label: 'Label', value: 'label', description: 'Add a label' }], initial: 'label' },
  ],
};

describe('renderMessage', () => {
  it('renders a card as one embed, buttons in one row and the select on a row of its own', () => {
    const out = renderMessage({ text: 'Draft d1 needs review', card });
    expect(out.content).toBe('Draft d1 needs review');
    expect(out.embeds).toEqual([{
      title: 'Draft d1',
      description: 'Our autumn collection launches on Monday.',
      fields: [{ name: 'Status', value: 'pending', inline: true }, { name: 'Networks', value: '\u200b', inline: false }],
      footer: { text: 'by Alice · v1' },
      image: { url: 'https://example.org/a.png' },
    }]);
    expect(out.components).toEqual([
      {
        type: 1,
        components: [
          { type: 2, style: 1, label: 'Approve', custom_id: 'approval:approve:d1' },
          { type: 2, style: 2, label: 'Edit', custom_id: 'approval:edit:d1' },
          // No confirm dialog on Discord: the button stays a plain danger button.
          { type: 2, style: 4, label: 'Reject', custom_id: 'approval:reject:d1' },
          { type: 2, style: 5, label: 'Open', url: 'https://example.org/d1' },
        ],
      },
      {
        type: 1,
        components: [{
          type: 3, custom_id: 'approval:more:d1', placeholder: 'More…', min_values: 1, max_values: 1,
          options: [{ label: 'Assign', value: 'assign' }, { label: 'Label', value: 'label', description: 'Add a label', default: true }],
        }],
      },
    ]);
    expect(out.allowed_mentions).toEqual({ parse: [], users: [] });
  });

  it('clears embeds and components when there is no card (so an edit removes the buttons)', () => {
    expect(renderMessage({ text: 'Approved by Bob' })).toMatchObject({ content: 'Approved by Bob', embeds: [], components: [] });
  });

  it('wraps more than five buttons onto a second row', () => {
    const actions = Array.from({ length: 7 }, (_, i) => ({ kind: 'button' as const, actionId: `f:a:${i}`, label: `B${i}` }));
    const rows = renderMessage({ text: 't', card: { title: 'x', actions } }).components;
    expect(rows.map((r) => r.components.length)).toEqual([5, 2]);
  });

  it('keeps content within 2000 characters without splitting an emoji', () => {
    const text = `${'a'.repeat(1998)}👍🏽 and more`;
    const content = renderMessage({ text }).content;
    expect(content.length).toBeLessThanOrEqual(2000);
    expect(content).toBe(`${'a'.repeat(1998)}…`);
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('👩‍👩‍👧‍👦 family', 12)).toBe('👩‍👩‍👧‍👦…');
  });

  it('fits an oversized card into the 6000-character embed budget', () => {
    const big: Card = { title: 'T', body: 'b'.repeat(4096), fields: Array.from({ length: 25 }, (_, i) => ({ label: `F${i}`, value: 'v'.repeat(1024) })) };
    const [embed] = renderMessage({ text: '', card: big }).embeds;
    const size = (embed!.title?.length ?? 0) + (embed!.description?.length ?? 0) + (embed!.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(size).toBeLessThanOrEqual(6000);
    expect(embed!.description).toHaveLength(4096);
  });
});

describe('renderForm', () => {
  const form: Form = {
    id: 'approval:schedule:d1',
    title: 'Schedule the draft for publication on every network',
    submitLabel: 'Schedule',
    fields: [
      { kind: 'text', id: 'text', label: 'Text', multiline: true, required: true, maxLength: 3000, initial: 'Hello', placeholder: 'What to post' },
      { kind: 'select', id: 'reason', label: 'Reason', options: [{ label: 'Facts', value: 'facts' }, { label: 'Tone', value: 'tone' }], initial: 'tone', required: true },
      { kind: 'datetime', id: 'when', label: 'When', initial: new Date('2025-03-07T14:05:33Z') },
      { kind: 'user', id: 'assignee', label: 'Assignee', initial: '123456789012345678' },
      { kind: 'text', id: 'note', label: 'Note' },
    ],
  };

  it('renders labels around text inputs, a string select, a datetime text input and a user select', () => {
    const modal = renderForm(form);
    expect(modal.custom_id).toBe('approval:schedule:d1');
    expect(modal.title).toHaveLength(45);
    expect(modal.components).toEqual([
      { type: 18, label: 'Text', component: { type: 4, custom_id: 'text', style: 2, required: true, max_length: 3000, value: 'Hello', placeholder: 'What to post' } },
      {
        type: 18, label: 'Reason',
        component: { type: 3, custom_id: 'reason', required: true, min_values: 1, max_values: 1, options: [{ label: 'Facts', value: 'facts' }, { label: 'Tone', value: 'tone', default: true }] },
      },
      { type: 18, label: 'When (UTC)', component: { type: 4, custom_id: 'when', style: 1, required: false, placeholder: 'YYYY-MM-DD HH:MM', max_length: 32, value: '2025-03-07 14:05' } },
      { type: 18, label: 'Assignee', component: { type: 5, custom_id: 'assignee', required: false, min_values: 0, max_values: 1, default_values: [{ id: '123456789012345678', type: 'user' }] } },
      { type: 18, label: 'Note', component: { type: 4, custom_id: 'note', style: 1, required: false } },
    ]);
  });

  it('refuses a form Discord cannot show rather than dropping fields', () => {
    const fields = Array.from({ length: 6 }, (_, i) => ({ kind: 'text' as const, id: `f${i}`, label: `F${i}` }));
    expect(() => renderForm({ id: 'f:a:1', title: 'Too many', submitLabel: 'Save', fields })).toThrow(/1 to 5/);
  });

  it('says UTC in a datetime label even when the label is cut to Discord’s 45 characters', () => {
    const long = renderForm({ id: 'f:a:1', title: 'Schedule', submitLabel: 'Save', fields: [{ kind: 'datetime', id: 'when', label: 'Publish at — best times from engagement: mon 09:00; tue 10:00 (Europe/Paris)' }] });
    const label = (long.components[0] as { label: string }).label;
    expect(label).toHaveLength(45);
    expect(label.endsWith('… (UTC)')).toBe(true);
  });

  it('formats datetimes in UTC as the placeholder says', () => {
    expect(formatDateTime(new Date('2030-12-31T23:59:59Z'))).toBe('2030-12-31 23:59');
  });
});

describe('buildApplicationCommands', () => {
  const declarations = [
    { name: 'herald ping', description: 'Check Herald', options: [] },
    { name: 'herald policy', description: 'Approval policy', options: [
      { name: 'approvers', description: 'Who approves', required: false },
      { name: 'required', description: 'How many', required: true, choices: ['1', '2', 'all'] },
    ] },
    { name: 'draft', description: 'Draft a post', options: [{ name: 'text', description: 'The text', required: true }] },
  ];

  it('groups "herald x" as sub-commands, keeps one-word commands plain, and adds message commands', () => {
    const body = buildApplicationCommands(declarations, [{ id: 'draft-from-message', name: 'Draft a post from this', description: 'd' }]);
    expect(body).toEqual([
      {
        type: 1, name: 'herald', description: 'ping, policy',
        options: [
          { type: 1, name: 'ping', description: 'Check Herald', options: [] },
          {
            type: 1, name: 'policy', description: 'Approval policy',
            options: [
              { type: 3, name: 'required', description: 'How many', required: true, choices: [{ name: '1', value: '1' }, { name: '2', value: '2' }, { name: 'all', value: 'all' }] },
              { type: 3, name: 'approvers', description: 'Who approves', required: false },
            ],
          },
        ],
      },
      { type: 1, name: 'draft', description: 'Draft a post', options: [{ type: 3, name: 'text', description: 'The text', required: true }] },
      { type: 3, name: 'Draft a post from this' },
    ]);
  });

  it('refuses what Discord would refuse', () => {
    expect(() => buildApplicationCommands([{ name: 'draft', description: 'd', options: [] }, { name: 'draft new', description: 'n', options: [] }], [])).toThrow(/both a command and a group/);
    expect(() => buildApplicationCommands([], [{ id: 's', name: 'x'.repeat(33), description: '' }])).toThrow(/1 to 32/);
    expect(() => buildApplicationCommands([], [{ id: 'a', name: 'Same', description: '' }, { id: 'b', name: 'Same', description: '' }])).toThrow(/two shortcuts/);
  });
});

describe('gateway payloads → events', () => {
  const bot = '900';
  const message = (over: Partial<GatewayMessage> & Record<string, unknown> = {}): GatewayMessage => {
    const parsed = parseGatewayMessage({ id: '10', channel_id: '20', guild_id: '1', author: { id: '30', username: 'alice', global_name: 'Alice' }, content: 'hello', ...over });
    if (!parsed.ok) throw new Error(parsed.issues.join());
    return parsed.message;
  };

  it('flattens sub-commands and stringifies option values', () => {
    expect(flattenCommand('herald', [{ type: 1, name: 'ping', options: [{ type: 3, name: 'a', value: 'b' }, { type: 4, name: 'n', value: 2 }] }])).toEqual({ command: 'herald ping', options: { a: 'b', n: '2' } });
    expect(flattenCommand('draft', [{ type: 3, name: 'text', value: 'hi' }])).toEqual({ command: 'draft', options: { text: 'hi' } });
  });

  it('reads modal values from labels and legacy rows; empty inputs are absent', () => {
    expect(modalValues([
      { type: 18, component: { type: 4, custom_id: 'title', value: ' A title ' } },
      { type: 18, component: { type: 3, custom_id: 'reason', values: ['facts'] } },
      { type: 18, component: { type: 5, custom_id: 'who', values: [] } },
      { type: 1, components: [{ type: 4, custom_id: 'body', value: '' }] },
    ])).toEqual({ title: 'A title', reason: 'facts', who: undefined, body: undefined });
  });

  it('maps an interaction in a thread to a ref naming the parent channel and the thread', () => {
    const parsed = parseInteraction({
      id: '1', token: 't', application_id: '2', type: 3, guild_id: '3', channel_id: '50', locale: 'fr',
      channel: { id: '50', type: 11, parent_id: '40' }, member: { user: { id: '7', username: 'bob' }, nick: 'Bobby' },
      data: { custom_id: 'approval:approve:d1', component_type: 2 }, message: { id: '60' },
    });
    expect(parsed).toMatchObject({ ok: true, interaction: {
      actor: { ref: { platform: 'discord', workspace: '3', user: '7' }, name: 'Bobby', locale: 'fr' },
      channel: { channel: '40', thread: '50' },
      message: { channel: '40', message: '60', thread: '50' },
      body: { kind: 'component', customId: 'approval:approve:d1' },
    } });
  });

  it('tells unanswerable payloads from answerable but unsupported ones', () => {
    expect(parseInteraction({ type: 3, data: null })).toMatchObject({ ok: false });
    expect(parseInteraction('nonsense')).toMatchObject({ ok: false });
    const unknownType = parseInteraction({ id: '1', token: 't', application_id: '2', type: 42, user: { id: '7' }, channel_id: '5' });
    expect(unknownType).toMatchObject({ ok: true, interaction: { body: { kind: 'unsupported', reason: 'interaction type 42' } } });
    const badData = parseInteraction({ id: '1', token: 't', application_id: '2', type: 3, user: { id: '7' }, channel_id: '5', data: null });
    expect(badData).toMatchObject({ ok: true, interaction: { body: { kind: 'unsupported' } } });
  });

  it('ignores its own messages, other bots, webhooks and system messages', () => {
    expect(ignoreReason(message({ author: { id: bot, bot: true } }), bot)).toBe('own message');
    expect(ignoreReason(message({ author: { id: '31', bot: true } }), bot)).toBe('bot author');
    expect(ignoreReason(message({ webhook_id: '5' }), bot)).toBe('webhook message');
    expect(ignoreReason(message({ type: 18 }), bot)).toBe('system message type 18');
    expect(ignoreReason(message(), bot)).toBeUndefined();
  });

  it('strips the mention of Herald, and turns thread messages into replies under the starter message', () => {
    const mention = messageEvent(message({ content: `<@${bot}> draft Hello`, mentions: [{ id: bot }] }), { type: 0 }, bot);
    expect(mention).toMatchObject({ type: 'mention', text: 'draft Hello', message: { workspace: '1', channel: '20', message: '10' } });
    const reply = messageEvent(message({ channel_id: '77' }), { type: 11, parentId: '20' }, bot);
    expect(reply).toMatchObject({ type: 'thread-reply', message: { channel: '20', message: '10', thread: '77' }, parent: { channel: '20', message: '77', thread: '77' } });
    expect(messageEvent(message(), { type: 0 }, bot)).toMatchObject({ type: 'message', text: 'hello', actor: { name: 'Alice' } });
  });

  it('names reactions by their unicode character or custom name', () => {
    const parsed = parseReaction({ user_id: '7', channel_id: '20', message_id: '10', guild_id: '1', emoji: { id: '55', name: 'shipit' } });
    if (!parsed.ok) throw new Error('reaction did not parse');
    expect(reactionEvent(parsed.reaction, { type: 0 })).toMatchObject({ emoji: 'shipit', message: { channel: '20', message: '10' } });
    expect(parseReaction({ emoji: {} })).toMatchObject({ ok: false });
  });

  it('names threads after the first words of their starter message', () => {
    expect(threadNameFrom('<@900>  Our autumn collection launches on Monday at the Lyon store, come!')).toBe('Our autumn collection launches on Monday at the');
    expect(threadNameFrom('   ')).toBeUndefined();
  });
});
