/**
 * Discord-specific proof beyond the shared chat contract: command registration, the 3-second rule,
 * gateway outages and garbage, modals, threads and uploads, membership. Herald's real adapter runs
 * against the Discord emulator through test/support/harness-discord.ts.
 */
import '@slack/bolt'; // Bolt's newer undici in the same process: the pitfall the adapter's own agent avoids
import { afterEach, describe, expect, it } from 'vitest';
import { createDiscordAdapter } from '../../src/chat/discord/adapter.ts';
import type { CommandDeclaration, FormResult, InboundEvent, InboundHandler, ShortcutDeclaration } from '../../src/chat/port.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import type { EmulatorState } from '../emulators/discord/index.ts';
import { createDiscordHarness, type DiscordHarness, type DiscordHarnessOptions } from '../support/harness-discord.ts';
import { captureLogger } from '../support/log.ts';
import { solidPng } from '../support/png.ts';

const declarations: CommandDeclaration[] = [
  { name: 'herald ping', description: 'Check Herald', options: [] },
  { name: 'herald slow', description: 'Takes its time', options: [{ name: 'mode', description: 'How', required: false, choices: ['answer', 'silent', 'form'] }] },
  { name: 'draft', description: 'Draft a post', options: [{ name: 'text', description: 'Text', required: false }] },
];
const shortcuts: ShortcutDeclaration[] = [{ id: 'draft-from-message', name: 'Draft a post from this', description: 'Turn a message into a draft' }];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let harness: DiscordHarness | undefined;
afterEach(async () => {
  await harness?.adapter.stop();
  await harness?.close();
  harness = undefined;
});

async function setup(handler: InboundHandler, options: DiscordHarnessOptions['adapter'] = {}) {
  const capture = captureLogger('debug');
  const metrics: Metrics = createMetrics({ defaultMetrics: false });
  const h = await createDiscordHarness({ log: capture.log, adapter: { metrics, ...options } });
  harness = h;
  await h.adapter.registerCommands(declarations, shortcuts);
  await h.adapter.start(handler);
  const warnings = (msg: string) => capture.lines().filter((l) => l.level === 'warn' && l.msg === msg);
  return { h, capture, metrics, warnings, ids: h.emulator.ids };
}

/** Records every event; answers through `answer` when given. */
function recorder(answer?: (event: InboundEvent) => Promise<FormResult | void>) {
  const events: InboundEvent[] = [];
  const handler: InboundHandler = async (event) => {
    events.push(event);
    return answer?.(event);
  };
  return { events, handler };
}

describe('discord adapter', () => {
  it('registers chat-input and context-menu commands in the guild, or globally, and maps invocations back', async () => {
    const { events, handler } = recorder(async (e) => {
      if (e.type === 'command' || e.type === 'shortcut') await e.respond.ephemeral({ text: `got ${e.type}` });
    });
    const { h, ids } = await setup(handler);
    const guildCommands = h.emulator.state.commands.guild[ids.guildId] ?? [];
    expect(guildCommands.map((c) => [c.name, c.type])).toEqual([['herald', 1], ['draft', 1], ['Draft a post from this', 3]]);
    expect((guildCommands[0]!.options as { name: string; type: number }[]).map((o) => [o.name, o.type])).toEqual([['ping', 1], ['slow', 1]]);
    expect(h.emulator.state.commands.global).toEqual([]);

    // Without a guild id the same set is registered globally (over REST: no gateway needed).
    const global = createDiscordAdapter({ token: h.emulator.botToken, apiUrl: h.emulator.apiUrl, log: captureLogger().log });
    await global.registerCommands(declarations, shortcuts);
    await global.stop();
    expect(h.emulator.state.commands.global.map((c) => [c.name, c.type])).toEqual([['herald', 1], ['draft', 1], ['Draft a post from this', 3]]);

    await h.runCommand(h.users.member, 'herald ping', { a: 'b' });
    const source = await h.postMessage(h.users.approver, h.channel, 'Autumn collection on Monday');
    await h.useShortcut(h.users.member, source, 'draft-from-message');
    await h.waitFor(() => h.ephemeralsFor(h.users.member).filter((m) => m.text.startsWith('got ')).length === 2);
    expect(events.find((e) => e.type === 'command')).toMatchObject({ command: 'herald ping', options: { a: 'b' }, channel: h.channel, actor: { ref: h.users.member, name: 'Dave' } });
    expect(events.find((e) => e.type === 'shortcut')).toMatchObject({ shortcut: 'draft-from-message', text: 'Autumn collection on Monday', message: { channel: h.channel.channel, message: source.message } });
  });

  it('defers a slow handler within 3 s; its later answer arrives, and a silent one leaves no "thinking…"', async () => {
    const { handler } = recorder(async (e) => {
      if (e.type !== 'command') return;
      await sleep(3_300);
      if (e.options.mode === 'answer') await e.respond.ephemeral({ text: 'Done after a while' });
      if (e.options.mode === 'form') await e.respond.openForm({ id: 'f:late:1', title: 'Too late', submitLabel: 'Save', fields: [{ kind: 'text', id: 't', label: 'T' }] });
    });
    const { h, capture } = await setup(handler);
    const answer = h.emulator.userRunsCommand({ user: 'bob', channel: 'approvals', name: 'herald', subcommand: 'slow', options: { mode: 'answer' } });
    const silent = h.emulator.userRunsCommand({ user: 'bob', channel: 'approvals', name: 'herald', subcommand: 'slow', options: { mode: 'silent' } });
    const late = h.emulator.userRunsCommand({ user: 'carol', channel: 'approvals', name: 'herald', subcommand: 'slow', options: { mode: 'form' } });
    const deferred = await answer.response(2_900);
    expect(deferred).toMatchObject({ type: 5, ephemeral: true });
    expect(h.emulator.state.interactions[answer.id]!.response!.at - h.emulator.state.interactions[answer.id]!.created_at).toBeLessThan(3_000);

    await h.waitFor(() => h.ephemeralsFor(h.users.approver).find((m) => m.text === 'Done after a while'), 5_000);
    await h.waitFor(() => h.emulator.state.interactions[silent.id]!.original_deleted);
    expect(h.emulator.interactionResponse(silent.id)?.original).toBeNull();
    // A form asked for after the deferral cannot open: the person is told, with a reference to the log.
    const refusal = await h.waitFor(() => h.ephemeralsFor({ ...h.users.member, user: h.emulator.ids.users.carol }).find((m) => m.text.includes('reference')));
    const reference = /reference ([0-9a-f]{8})/.exec(refusal.text)?.[1];
    expect(capture.lines().find((l) => l.msg === 'form could not open: the interaction was already answered')).toMatchObject({ level: 'error', reference, interactionId: late.id });
    expect(h.emulator.interactionResponse(late.id)?.modal).toBeNull();
    // No 10062 (unknown interaction) or 40060 (already acknowledged): every answer came in time, once.
    expect(h.emulator.requests.filter((r) => /^\/(interactions|webhooks)\//.test(r.path) && r.status >= 400)).toEqual([]);
  });

  it('ignores its own messages and other bots, and hands over people’s messages, mentions and reactions', async () => {
    const { events, handler } = recorder();
    const { h } = await setup(handler);
    const own = await h.adapter.post(h.channel, { text: 'Herald speaking' });
    h.emulator.userPostsMessage({ user: 'Scheduler', channel: 'approvals', content: 'another bot speaking' });
    const person = await h.postMessage(h.users.approver, h.channel, 'a person speaking');
    await h.mentionBot(h.users.member, h.channel, 'draft this please');
    await h.react(h.users.admin, person, '👍');
    await h.react(h.users.admin, own, '🎉');
    await h.waitFor(() => events.filter((e) => e.type === 'reaction').length === 2);
    const said = events.filter((e) => e.type === 'message' || e.type === 'mention').map((e) => [e.type, 'text' in e ? e.text : '']);
    expect(said).toEqual([['message', 'a person speaking'], ['mention', 'draft this please']]);
    expect(events.filter((e) => e.type === 'reaction').map((e) => [e.type === 'reaction' && e.emoji, e.type === 'reaction' && e.message.message])).toEqual([['👍', person.message], ['🎉', own.message]]);
  });

  it('keeps retrying while the gateway is down at start-up, not ready meanwhile, then connects', async () => {
    const capture = captureLogger('debug');
    const h = await createDiscordHarness({ log: capture.log, adapter: { loginBackoff: { initialMs: 50, maxMs: 200 } } });
    harness = h;
    h.emulator.setGatewayAvailable(false);
    const { events, handler } = recorder();
    let started = false;
    const starting = h.adapter.start(handler).then(() => {
      started = true;
    });
    await h.waitFor(() => capture.lines().filter((l) => l.msg === 'could not connect to the Discord gateway').length >= 2, 15_000);
    expect(h.adapter.isReady()).toBe(false);
    expect(started).toBe(false);
    h.emulator.setGatewayAvailable(true);
    await starting;
    expect(h.adapter.isReady()).toBe(true);
    await h.adapter.registerCommands(declarations, shortcuts);
    await h.runCommand(h.users.member, 'herald ping');
    await h.waitFor(() => events.find((e) => e.type === 'command'));
    expect(capture.text()).not.toContain(h.emulator.botToken);
  });

  it('starts again after stop on a fresh Client', async () => {
    const { events, handler } = recorder();
    const { h } = await setup(handler);
    await h.adapter.stop();
    expect(h.adapter.isReady()).toBe(false);
    await h.adapter.start(handler);
    expect(h.adapter.isReady()).toBe(true);
    expect(h.emulator.state.identifies).toHaveLength(2);
    await h.postMessage(h.users.approver, h.channel, 'after the restart');
    await h.waitFor(() => events.find((e) => e.type === 'message'));
    expect(events.filter((e) => e.type === 'message')).toHaveLength(1); // the old Client delivers nothing twice
  });

  it('survives malformed dispatches and answers an unknown interaction type as not recognised', async () => {
    const { events, handler } = recorder(async (e) => {
      if (e.type === 'command') await e.respond.ephemeral({ text: 'still here' });
    });
    const { h, warnings, capture } = await setup(handler);
    h.emulator.dispatch('INTERACTION_CREATE', { type: 3, data: null });
    h.emulator.dispatch('INTERACTION_CREATE', { type: 'nonsense', payload: { nothing: true } });
    h.emulator.dispatch('MESSAGE_CREATE', { id: 5, channel_id: null, author: 'nobody' });
    h.emulator.dispatch('MESSAGE_REACTION_ADD', { guild_id: h.emulator.ids.guildId, emoji: 'x' });

    // A well-formed interaction of a type Herald does not know, with a token the emulator will accept.
    const id = (BigInt(Date.now() - 1_420_070_400_000) << 22n).toString();
    const token = 'aW50ZXJhY3Rpb24.unknown-type-test';
    const channelId = h.emulator.ids.channels.approvals;
    const payload = { id, token, type: 42, application_id: h.emulator.applicationId, channel_id: channelId, guild_id: h.emulator.ids.guildId, member: { user: { id: h.users.member.user, username: 'dave' }, roles: [] }, locale: 'fr', data: {} };
    const record: EmulatorState['interactions'][string] = {
      id, token, type: 42, payload, user_id: h.users.member.user, channel_id: channelId, guild_id: h.emulator.ids.guildId,
      created_at: Date.now(), response: null, followup_ids: [], edits: [], original_deleted: false,
    };
    h.emulator.state.interactions[id] = record;
    h.emulator.dispatch('INTERACTION_CREATE', payload);
    const note = await h.waitFor(() => h.ephemeralsFor(h.users.member).find((m) => m.text.includes('Herald n’a pas reconnu')));
    expect(note).toBeDefined();

    await h.runCommand(h.users.member, 'herald ping');
    await h.waitFor(() => h.ephemeralsFor(h.users.member).find((m) => m.text === 'still here'));
    expect(warnings('malformed interaction ignored')).toHaveLength(2);
    expect(warnings('discord.js could not process a gateway dispatch; skipped').length).toBeGreaterThanOrEqual(1);
    expect(warnings('malformed message dispatch ignored')).toHaveLength(1);
    expect(warnings('malformed reaction dispatch ignored')).toHaveLength(1);
    expect(warnings('interaction not recognised')[0]).toMatchObject({ interactionId: id, interactionType: 42, reason: 'interaction type 42' });
    expect(events.map((e) => e.type)).toEqual(['command']);
    expect(capture.text()).not.toContain(token.split('.')[1]);
  });

  it('round-trips a modal with a select, a user and a datetime field, and lists form errors by label', async () => {
    const { events, handler } = recorder(async (e) => {
      if (e.type === 'command') {
        await e.respond.openForm({
          id: 'demo:save:d7',
          title: 'New draft',
          submitLabel: 'Save',
          fields: [
            { kind: 'text', id: 'title', label: 'Title', required: true, maxLength: 80 },
            { kind: 'select', id: 'network', label: 'Network', options: [{ label: 'Bluesky', value: 'bluesky' }, { label: 'Mastodon', value: 'mastodon' }], required: true },
            { kind: 'user', id: 'reviewer', label: 'Reviewer' },
            { kind: 'datetime', id: 'when', label: 'When', initial: new Date('2030-01-02T03:04:00Z') },
          ],
        });
      }
      if (e.type === 'form' && e.values.title === 'bad') return { errors: { title: 'must not be bad', reviewer: 'pick someone else' } };
      return undefined;
    });
    const { h } = await setup(handler);
    const user = h.users.admin;
    await h.runCommand(user, 'draft');
    await h.waitFor(() => h.openFormTitle(user) === 'New draft');
    const modal = Object.values(h.emulator.state.interactions).find((i) => i.modal)!.modal as { components: { type: number; component: { type: number } }[] };
    expect(modal.components.map((c) => [c.type, c.component.type])).toEqual([[18, 4], [18, 3], [18, 5], [18, 4]]);

    await h.submitOpenForm(user, { title: 'Launch day', network: 'mastodon', reviewer: h.users.approver.user, when: '2030-01-02 09:30' });
    const form = await h.waitFor(() => events.find((e) => e.type === 'form'));
    expect(form).toMatchObject({ formId: 'demo:save:d7', values: { title: 'Launch day', network: 'mastodon', reviewer: h.users.approver.user, when: '2030-01-02 09:30' } });
    expect(h.openFormTitle(user)).toBeUndefined();

    await h.runCommand(user, 'draft');
    await h.waitFor(() => h.openFormTitle(user) === 'New draft');
    await h.submitOpenForm(user, { title: 'bad', network: 'bluesky' });
    const problems = await h.waitFor(() => h.ephemeralsFor(user).find((m) => m.text.includes('must not be bad')));
    expect(problems.text).toBe('The form was not saved: Title: must not be bad; Reviewer: pick someone else');
  });

  it('starts a thread from a card and uploads an image with alt text into it (with Bolt loaded)', async () => {
    const { h, ids } = await setup(recorder().handler);
    const card = await h.adapter.post(h.channel, { text: 'Weekly report <@123> is out', card: { title: 'Report' } });
    const first = await h.adapter.reply(card, { text: 'Chart below' });
    expect(first).toMatchObject({ channel: ids.channels.approvals, thread: card.message });
    const png = solidPng(64, 32);
    await h.adapter.uploadFile(first, { data: png, mimeType: 'image/png', alt: 'Reach per day, rising', filename: 'reach.png', title: 'Reach' });
    await h.adapter.reply(card, { text: 'One more thing' });
    const thread = h.threadOf(card);
    expect(thread.map((m) => m.text)).toEqual(['Chart below', 'Reach', 'One more thing']);
    expect(thread[1]!.images).toEqual([{ alt: 'Reach per day, rising', bytes: png.length, filename: 'reach.png', data: png }]);
    const attachment = (h.emulator.message(thread[1]!.ref.message!)!.attachments as { id: string }[])[0]!;
    expect(h.emulator.attachmentData(attachment.id)?.equals(png)).toBe(true);
    expect(h.emulator.threadOf(card.message!)).toMatchObject({ name: 'Weekly report is out', parent_id: ids.channels.approvals });
    expect(Object.values(h.emulator.state.channels).filter((c) => c.type === 11)).toHaveLength(1);
    expect(await h.adapter.permalink(first)).toBe(`https://discord.com/channels/${ids.guildId}/${card.message}/${first.message}`);
  });

  it('resolves membership, role members, DMs (replies quote, no thread) and messages over REST', async () => {
    const { h, ids } = await setup(recorder().handler);
    const ref = (user: string) => ({ platform: 'discord' as const, workspace: ids.guildId, user });
    expect(await h.adapter.membership(h.users.admin)).toEqual({ isAdmin: true, groups: [ids.roles.approvers, 'Approvers'] }); // guild owner
    expect(await h.adapter.membership(h.users.approver)).toEqual({ isAdmin: false, groups: [ids.roles.approvers, 'Approvers'] });
    expect(await h.adapter.membership(ref(ids.users.carol))).toEqual({ isAdmin: false, groups: [ids.roles.moderator, 'Moderator'] });
    expect(await h.adapter.membership(h.users.member)).toEqual({ isAdmin: false, groups: [] });
    expect(await h.adapter.membership(ref('42'))).toEqual({ isAdmin: false, groups: [] });
    const managers = h.emulator.addRole({ name: 'Managers', permissions: 1n << 5n });
    const erin = h.emulator.addUser({ username: 'erin' });
    h.emulator.addMember({ user: erin.id, roles: [managers.id] });
    await h.waitFor(() => h.emulator.state.roles[managers.id]);
    expect((await h.adapter.membership(ref(erin.id))).isAdmin).toBe(true); // Manage Server

    expect((await h.adapter.groupMembers(ids.guildId, 'approvers')).sort()).toEqual([ids.users.alice, ids.users.bob].sort());
    expect(await h.adapter.groupMembers(ids.guildId, ids.roles.moderator)).toEqual([ids.users.carol]);
    expect(await h.adapter.groupMembers(ids.guildId, 'Nobody')).toEqual([]);

    const dm = await h.adapter.notifyUser(h.users.approver, { text: 'Your draft was approved' });
    expect(dm.workspace).toBe('@me');
    const followUp = await h.adapter.reply(dm, { text: 'Details follow' });
    expect(h.dmsTo(h.users.approver).map((m) => m.text)).toEqual(['Your draft was approved', 'Details follow']);
    expect(h.emulator.message(followUp.message!)).toMatchObject({ channel_id: dm.channel, message_reference: { message_id: dm.message } }); // no threads in DMs

    const posted = await h.postMessage(h.users.approver, h.channel, 'Read me back');
    expect(await h.adapter.fetchMessage(posted)).toEqual({ text: 'Read me back', authorId: ids.users.bob, files: [] });
    expect(await h.adapter.fetchMessage({ ...posted, message: '1' })).toBeUndefined();
  });

  it('observes handling time per event kind and never logs a token', async () => {
    const { handler } = recorder(async (e) => {
      if (e.type === 'command') await e.respond.ephemeral({ text: 'pong' });
    });
    const { h, metrics, capture } = await setup(handler);
    await h.runCommand(h.users.member, 'herald ping');
    await h.waitFor(() => h.ephemeralsFor(h.users.member).find((m) => m.text === 'pong'));
    await h.waitFor(() => capture.lines().find((l) => l.msg === 'interaction handled'));
    const metric = await metrics.registry.getSingleMetricAsString('herald_event_handling_seconds');
    expect(metric).toContain('herald_event_handling_seconds_count{platform="discord",kind="command"} 1');
    const tokens = Object.values(h.emulator.state.interactions).map((i) => i.token);
    for (const secret of [h.emulator.botToken, ...tokens]) expect(capture.text()).not.toContain(secret);
  });
});
