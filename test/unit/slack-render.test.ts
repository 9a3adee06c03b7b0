import { describe, expect, it } from 'vitest';
import type { Form, Message } from '../../src/chat/model.ts';
import type { InboundEvent, Responder } from '../../src/chat/port.ts';
import { translate, type ReplyContext, type SlackIdentity, type Translation } from '../../src/chat/slack/events.ts';
import { buildSlackManifest } from '../../src/chat/slack/manifest.ts';
import { LINK_ACTION_PREFIX, escapeText, renderForm, renderMessage, truncate, viewErrors } from '../../src/chat/slack/render.ts';

type Block = Record<string, unknown>;
const blocksOf = (message: Message): Block[] => (renderMessage(message).blocks ?? []) as unknown as Block[];

describe('Slack rendering of messages', () => {
  it('sends plain text escaped and without blocks when there is no card', () => {
    expect(renderMessage({ text: 'Q&A <tomorrow> at 5 > 4' })).toEqual({ text: 'Q&amp;A &lt;tomorrow&gt; at 5 &gt; 4' });
  });

  it('renders a card: bold title with body, side-by-side short fields, long fields alone, context, image, actions', () => {
    const message: Message = {
      text: 'Draft d1 needs review',
      card: {
        title: 'Draft <d1>',
        body: 'Launch *today* & tomorrow',
        fields: [
          { label: 'Status', value: 'pending', short: true },
          { label: 'Networks', value: 'bluesky, x', short: true },
          { label: 'Text', value: 'A long post body' },
        ],
        context: 'by alice · 2 approvals needed',
        image: { url: 'https://cdn.example/p.png', alt: 'Preview' },
        actions: [
          { kind: 'button', actionId: 'approval:approve:d1', label: 'Approve', style: 'primary' },
          { kind: 'button', actionId: 'approval:reject:d1', label: 'Reject', style: 'danger', confirm: { title: 'Reject?', text: 'Sure?', confirm: 'Reject', deny: 'Keep' } },
          { kind: 'link', label: 'Open', url: 'https://example.com/d1' },
          { kind: 'select', actionId: 'approval:network:d1', placeholder: 'Network', options: [{ label: 'X', value: 'x' }, { label: 'Bluesky', value: 'bluesky' }], initial: 'bluesky' },
          { kind: 'button', actionId: 'approval:edit:d1', label: 'Edit' },
        ],
      },
    };
    const rendered = renderMessage(message);
    expect(rendered.text).toBe('Draft d1 needs review');
    expect(rendered.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '*Draft &lt;d1&gt;*\nLaunch *today* &amp; tomorrow' } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Status*\npending' },
          { type: 'mrkdwn', text: '*Networks*\nbluesky, x' },
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: '*Text*\nA long post body' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'by alice · 2 approvals needed' }] },
      { type: 'image', image_url: 'https://cdn.example/p.png', alt_text: 'Preview' },
      {
        type: 'actions',
        elements: [
          { type: 'button', action_id: 'approval:approve:d1', text: { type: 'plain_text', text: 'Approve', emoji: true }, style: 'primary' },
          {
            type: 'button',
            action_id: 'approval:reject:d1',
            text: { type: 'plain_text', text: 'Reject', emoji: true },
            style: 'danger',
            confirm: {
              title: { type: 'plain_text', text: 'Reject?', emoji: true },
              text: { type: 'plain_text', text: 'Sure?', emoji: true },
              confirm: { type: 'plain_text', text: 'Reject', emoji: true },
              deny: { type: 'plain_text', text: 'Keep', emoji: true },
              style: 'danger',
            },
          },
          { type: 'button', action_id: `${LINK_ACTION_PREFIX}2`, text: { type: 'plain_text', text: 'Open', emoji: true }, url: 'https://example.com/d1' },
        ],
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'static_select',
            action_id: 'approval:network:d1',
            placeholder: { type: 'plain_text', text: 'Network', emoji: true },
            options: [
              { text: { type: 'plain_text', text: 'X', emoji: true }, value: 'x' },
              { text: { type: 'plain_text', text: 'Bluesky', emoji: true }, value: 'bluesky' },
            ],
            initial_option: { text: { type: 'plain_text', text: 'Bluesky', emoji: true }, value: 'bluesky' },
          },
        ],
      },
      { type: 'actions', elements: [{ type: 'button', action_id: 'approval:edit:d1', text: { type: 'plain_text', text: 'Edit', emoji: true } }] },
    ]);
  });

  it('splits more than ten short fields across sections and falls back to the title for the notification text', () => {
    const fields = Array.from({ length: 13 }, (_, i) => ({ label: `F${i}`, value: String(i), short: true }));
    const rendered = renderMessage({ text: '', card: { title: 'Weekly metrics', fields } });
    expect(rendered.text).toBe('Weekly metrics');
    const sections = (rendered.blocks as unknown as Block[]).filter((b) => Array.isArray(b.fields));
    expect(sections.map((s) => (s.fields as unknown[]).length)).toEqual([10, 3]);
  });

  it('cuts text that is over Slack’s limits instead of failing the post', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    const [, actions] = blocksOf({ text: 'x', card: { title: 't', actions: [{ kind: 'button', actionId: 'a:b:c', label: 'L'.repeat(200) }] } });
    const label = ((actions!.elements as Block[])[0]!.text as { text: string }).text;
    expect(label).toHaveLength(75);
    expect(label.endsWith('…')).toBe(true);
    const [section] = blocksOf({ text: 'x', card: { title: 'T', body: 'b'.repeat(5_000) } });
    expect(((section!.text as { text: string }).text).length).toBe(3_000);
  });

  it('escapes only the three characters Slack treats as control characters', () => {
    expect(escapeText('a & b < c > d * _ ~')).toBe('a &amp; b &lt; c &gt; d * _ ~');
  });
});

describe('Slack rendering of forms', () => {
  const form: Form = {
    id: 'approval:edit:d1',
    title: 'Edit the draft before it goes out',
    submitLabel: 'Save changes now please',
    fields: [
      { kind: 'text', id: 'text', label: 'Text', required: true, multiline: true, maxLength: 280, initial: 'Hello', placeholder: 'What to say' },
      { kind: 'select', id: 'network', label: 'Network', options: [{ label: 'X', value: 'x' }, { label: 'Bluesky', value: 'bluesky' }], initial: 'x' },
      { kind: 'datetime', id: 'when', label: 'When', initial: new Date('2026-01-01T09:30:00Z'), required: true },
      { kind: 'user', id: 'owner', label: 'Owner', initial: 'U_ALICE' },
    ],
  };

  it('renders a modal whose block and action ids are the field ids', () => {
    const view = renderForm(form, { privateMetadata: '{"c":"C1"}' });
    expect(view).toMatchObject({
      type: 'modal',
      callback_id: 'approval:edit:d1',
      title: { type: 'plain_text', text: 'Edit the draft before i…' },
      submit: { type: 'plain_text', text: 'Save changes now please' },
      private_metadata: '{"c":"C1"}',
    });
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    expect(view.close).toBeUndefined();
    expect(view.blocks).toEqual([
      {
        type: 'input',
        block_id: 'text',
        label: { type: 'plain_text', text: 'Text', emoji: true },
        optional: false,
        element: {
          type: 'plain_text_input',
          action_id: 'text',
          multiline: true,
          max_length: 280,
          initial_value: 'Hello',
          placeholder: { type: 'plain_text', text: 'What to say', emoji: true },
        },
      },
      {
        type: 'input',
        block_id: 'network',
        label: { type: 'plain_text', text: 'Network', emoji: true },
        optional: true,
        element: {
          type: 'static_select',
          action_id: 'network',
          options: [
            { text: { type: 'plain_text', text: 'X', emoji: true }, value: 'x' },
            { text: { type: 'plain_text', text: 'Bluesky', emoji: true }, value: 'bluesky' },
          ],
          initial_option: { text: { type: 'plain_text', text: 'X', emoji: true }, value: 'x' },
        },
      },
      {
        type: 'input',
        block_id: 'when',
        label: { type: 'plain_text', text: 'When', emoji: true },
        optional: false,
        element: { type: 'datetimepicker', action_id: 'when', initial_date_time: 1_767_259_800 },
      },
      {
        type: 'input',
        block_id: 'owner',
        label: { type: 'plain_text', text: 'Owner', emoji: true },
        optional: true,
        element: { type: 'users_select', action_id: 'owner', initial_user: 'U_ALICE' },
      },
    ]);
  });

  it('keys view errors by input block, folding errors for unknown fields into the first field', () => {
    expect(viewErrors({ text: 'too long' }, ['text', 'when'])).toEqual({ text: 'too long' });
    expect(viewErrors({ when: 'in the past', _form: 'quota reached' }, ['text', 'when'])).toEqual({ when: 'in the past', text: 'quota reached' });
    expect(viewErrors({ text: 'too long', other: 'bad' }, ['text'])).toEqual({ text: 'too long · bad' });
    expect(viewErrors({}, ['text'])).toBeUndefined();
    expect(viewErrors(undefined, ['text'])).toBeUndefined();
    expect(viewErrors({ text: 'x' }, [])).toBeUndefined();
  });
});

describe('Slack app manifest', () => {
  const commands = [
    { name: 'herald help', description: 'List the Herald commands you can run', options: [] },
    { name: 'herald ping', description: 'Check Herald is alive', options: [] },
    { name: 'herald policy', description: 'Set the approval policy', options: [{ name: 'approvers', description: 'Who approves', required: true }, { name: 'mode', description: 'Mode', required: false, choices: ['any', 'all'] }] },
    { name: 'draft', description: 'Start a draft', options: [{ name: 'text', description: 'The post', required: false }] },
  ];
  const shortcuts = [{ id: 'draft-from-message', name: 'Draft a post from this message', description: 'Turns the message into a draft' }];

  it('declares one slash command per root, usage hints, message shortcuts, scopes and events (Socket Mode)', () => {
    const manifest = buildSlackManifest({ commands, shortcuts, socketMode: true });
    expect(manifest.features.slash_commands).toEqual([
      { command: '/herald', description: 'help · ping · policy', usage_hint: 'help | ping | policy approvers:<approvers> [mode:any|all]', should_escape: true },
      { command: '/draft', description: 'Start a draft', usage_hint: '[text:<text>]', should_escape: true },
    ]);
    expect(manifest.features.shortcuts).toEqual([{ name: 'Draft a post from this…', type: 'message', callback_id: 'draft-from-message', description: 'Turns the message into a draft' }]);
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining(['chat:write', 'chat:write.public', 'commands', 'files:write', 'im:write', 'users:read', 'usergroups:read', 'reactions:read', 'channels:history', 'groups:history', 'im:history', 'app_mentions:read']),
    );
    expect(manifest.settings).toEqual({
      event_subscriptions: { bot_events: ['app_mention', 'message.channels', 'message.groups', 'message.im', 'reaction_added'] },
      interactivity: { is_enabled: true },
      org_deploy_enabled: false,
      socket_mode_enabled: true,
      token_rotation_enabled: false,
    });
    expect(manifest.display_information.name).toBe('Herald');
    expect(manifest.features.bot_user).toEqual({ display_name: 'Herald', always_online: true });
  });

  it('points commands, events and interactivity at the request URL in HTTP mode, and leaves out empty lists', () => {
    const url = 'https://herald.example.com/slack/events';
    const manifest = buildSlackManifest({ commands, shortcuts: [], socketMode: false, requestUrl: url, appName: 'Herald Staging' });
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    expect(manifest.settings.event_subscriptions.request_url).toBe(url);
    expect(manifest.settings.interactivity.request_url).toBe(url);
    expect(manifest.features.slash_commands?.every((c) => c.url === url)).toBe(true);
    expect(manifest.features.shortcuts).toBeUndefined();
    expect(manifest.display_information.name).toBe('Herald Staging');
    expect(() => buildSlackManifest({ commands, shortcuts, socketMode: false })).toThrow(/requestUrl/);
  });
});

describe('Slack payloads → neutral events', () => {
  const identity: SlackIdentity = { teamId: 'T1', botUserId: 'U_BOT', botId: 'B_BOT' };
  const contexts: ReplyContext[] = [];
  const responder = (context: ReplyContext): Responder => {
    contexts.push(context);
    return { ephemeral: async () => undefined, openForm: async () => undefined };
  };
  const event = (body: unknown): InboundEvent => {
    const t = translate(body, identity, responder);
    if (t.kind !== 'event') throw new Error(`expected an event, got ${t.kind}: ${'reason' in t ? t.reason : t.problem}`);
    return t.event;
  };
  const kind = (body: unknown): Translation['kind'] => translate(body, identity, responder).kind;
  const callback = (e: Record<string, unknown>) => ({ type: 'event_callback', team_id: 'T1', event_id: 'Ev1', event: e });

  it('turns a slash command into the command name and its raw text, with mentions as plain ids', () => {
    const e = event({ command: '/herald', text: 'policy approvers:<@U_ALICE|alice> note:&lt;b&gt;', user_id: 'U1', user_name: 'bob', channel_id: 'C1', team_id: 'T1', trigger_id: 'tr', response_url: 'https://r' });
    expect(e).toMatchObject({ type: 'command', command: 'herald', options: { _text: 'policy approvers:<@U_ALICE> note:<b>' }, channel: { platform: 'slack', workspace: 'T1', channel: 'C1' }, actor: { name: 'bob' } });
    expect(contexts.at(-1)).toEqual({ workspace: 'T1', user: 'U1', channel: 'C1', directMessage: false, responseUrl: 'https://r', triggerId: 'tr' });
  });

  it('reads clicks and selections with the message they came from', () => {
    const base = { type: 'block_actions', user: { id: 'U1', username: 'bob' }, team: { id: 'T1' }, trigger_id: 'tr', channel: { id: 'C1' }, container: { type: 'message', message_ts: '1.2', channel_id: 'C1' }, message: { ts: '1.2', thread_ts: '1.0' } };
    expect(event({ ...base, actions: [{ action_id: 'a:b:c', type: 'static_select', selected_option: { value: 'x' } }] })).toMatchObject({
      type: 'action',
      actionId: 'a:b:c',
      value: 'x',
      message: { channel: 'C1', message: '1.2', thread: '1.0' },
    });
    expect(event({ ...base, actions: [{ action_id: 'a:b:c', type: 'users_select', selected_user: 'U9' }] })).toMatchObject({ value: 'U9' });
    expect(event({ ...base, actions: [{ action_id: 'a:b:c', type: 'button' }] })).not.toHaveProperty('value');
    expect(kind({ ...base, actions: [{ action_id: `${LINK_ACTION_PREFIX}0`, type: 'button' }] })).toBe('ignore');
    expect(kind({ ...base, actions: [] })).toBe('malformed');
  });

  it('reads a form submission keyed by field id, with dates as ISO strings and the origin channel for answers', () => {
    const e = event({
      type: 'view_submission',
      user: { id: 'U1', username: 'alice' },
      team: { id: 'T1' },
      view: {
        id: 'V1',
        callback_id: 'approval:edit:d1',
        private_metadata: '{"c":"C1","t":"1.0"}',
        state: {
          values: {
            text: { text: { type: 'plain_text_input', value: 'Hello' } },
            note: { note: { type: 'plain_text_input', value: null } },
            network: { network: { type: 'static_select', selected_option: { value: 'x' } } },
            when: { when: { type: 'datetimepicker', selected_date_time: 1_767_259_800 } },
            owner: { owner: { type: 'users_select', selected_user: 'U9' } },
          },
        },
      },
    });
    expect(e).toMatchObject({ type: 'form', formId: 'approval:edit:d1', values: { text: 'Hello', note: undefined, network: 'x', when: '2026-01-01T09:30:00.000Z', owner: 'U9' } });
    expect(contexts.at(-1)).toMatchObject({ channel: 'C1', thread: '1.0', user: 'U1' });
  });

  it('tells messages from thread replies and ignores bots, Herald, edits and mention duplicates', () => {
    const msg = { type: 'message', channel: 'C1', user: 'U1', text: 'a &amp; b', ts: '2.0', channel_type: 'channel' };
    expect(event(callback(msg))).toMatchObject({ type: 'message', text: 'a & b', message: { channel: 'C1', message: '2.0' } });
    expect(event(callback({ ...msg, thread_ts: '1.0' }))).toMatchObject({ type: 'thread-reply', message: { message: '2.0', thread: '1.0' }, parent: { message: '1.0' } });
    expect(kind(callback({ ...msg, bot_id: 'B_OTHER' }))).toBe('ignore');
    expect(kind(callback({ ...msg, user: 'U_BOT' }))).toBe('ignore');
    expect(kind(callback({ ...msg, subtype: 'message_changed' }))).toBe('ignore');
    expect(kind(callback({ ...msg, text: '<@U_BOT> hi' }))).toBe('ignore');
    expect(event(callback({ ...msg, text: '<@U_BOT> hi', channel_type: 'im' }))).toMatchObject({ type: 'message' });
  });

  it('strips Herald’s mention from an app_mention and reads reactions and message shortcuts', () => {
    expect(event(callback({ type: 'app_mention', channel: 'C1', user: 'U1', text: '<@U_BOT> draft this &gt; now', ts: '3.0' }))).toMatchObject({
      type: 'mention',
      text: 'draft this > now',
      message: { channel: 'C1', message: '3.0' },
    });
    expect(event(callback({ type: 'reaction_added', user: 'U1', reaction: 'memo', item: { type: 'message', channel: 'C1', ts: '3.0' } }))).toMatchObject({
      type: 'reaction',
      emoji: 'memo',
      message: { channel: 'C1', message: '3.0' },
    });
    expect(
      event({ type: 'message_action', callback_id: 'draft-from-message', user: { id: 'U1', name: 'bob' }, team: { id: 'T1' }, trigger_id: 'tr', channel: { id: 'C1' }, message: { ts: '3.0', text: 'launch &lt;soon&gt;', files: [{ id: 'F1', name: 'a.png', url_private: 'https://f/a.png', mimetype: 'image/png' }] } }),
    ).toMatchObject({ type: 'shortcut', shortcut: 'draft-from-message', text: 'launch <soon>', files: [{ name: 'a.png', url: 'https://f/a.png', mimeType: 'image/png' }] });
  });

  it('reports malformed and unknown payloads instead of throwing', () => {
    expect(translate('nonsense', identity, responder)).toMatchObject({ kind: 'malformed' });
    expect(translate({ type: 'nonsense' }, identity, responder)).toMatchObject({ kind: 'malformed', problem: 'unknown payload type "nonsense"' });
    expect(translate({ command: 42 }, identity, responder)).toMatchObject({ kind: 'malformed' });
    expect(translate(callback({ type: 'message' }), identity, responder)).toMatchObject({ kind: 'malformed', facts: { eventId: 'Ev1' } });
    expect(translate(callback({ type: 'channel_created' }), identity, responder)).toMatchObject({ kind: 'ignore' });
    expect(translate({ type: 'view_closed' }, identity, responder)).toMatchObject({ kind: 'ignore' });
  });
});
