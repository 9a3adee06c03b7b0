import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestHandler } from '../../src/http/server.ts';
import type { Form } from '../../src/chat/model.ts';
import type { FormResult, InboundEvent, InboundHandler } from '../../src/chat/port.ts';
import { createSlackAdapter } from '../../src/chat/slack/adapter.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { createSlackEmulator } from '../../src/sandbox/slack-emulator/index.ts';
import { createSlackHarness, type SlackHarness } from '../support/harness-slack.ts';
import { captureLogger } from '../support/log.ts';

/**
 * What the shared chat contract cannot say about Slack: HTTP mode, view-submission errors, event
 * redelivery, the app_mention/message pair, bots, malformed envelopes, start-up outages, shortcuts.
 */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

type Respond = (event: InboundEvent) => Promise<FormResult | void>;

function recorder(respond?: Respond): { events: InboundEvent[]; handler: InboundHandler } {
  const events: InboundEvent[] = [];
  return {
    events,
    handler: async (event) => {
      events.push(event);
      return respond?.(event);
    },
  };
}

async function started(respond?: Respond, options: Parameters<typeof createSlackHarness>[0] = {}) {
  const capture = captureLogger('debug');
  const metrics = createMetrics({ defaultMetrics: false });
  const harness: SlackHarness = await createSlackHarness({ log: capture.log, ...options, adapter: { metrics, ...options.adapter } });
  const { events, handler } = recorder(respond);
  cleanups.push(async () => {
    await harness.adapter.stop();
    await harness.close();
  });
  await harness.adapter.start(handler);
  return { harness, emu: harness.emulator, events, capture, metrics };
}

const logged = (capture: ReturnType<typeof captureLogger>, msg: string) => capture.lines().filter((l) => l.msg === msg);

async function until(check: () => Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function count(metrics: Metrics, kind: string): Promise<number> {
  const { values } = await metrics.eventLatency.get();
  return values.find((v) => v.metricName === 'herald_event_handling_seconds_count' && v.labels.kind === kind && v.labels.platform === 'slack')?.value ?? 0;
}

describe('Slack adapter over HTTP (signed requests on Herald’s own server)', () => {
  it('verifies the URL, delivers a command and a click, refuses a forged request, and answers 503 once stopped', async () => {
    const emu = await createSlackEmulator({ signingSecret: 'http-signing-secret' });
    const mounts: { prefix: string; handler: RequestHandler }[] = [];
    const server: Server = createServer((req, res) => {
      const mount = mounts.find((m) => (req.url ?? '').startsWith(m.prefix));
      if (!mount) return void res.writeHead(404).end();
      Promise.resolve(mount.handler(req, res)).catch(() => res.writeHead(500).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await emu.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    emu.setDelivery({ httpUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events` });

    const capture = captureLogger('debug');
    // No bot ids: start() asks auth.test who Herald is.
    const adapter = createSlackAdapter({
      botToken: emu.botToken,
      signingSecret: emu.signingSecret,
      mount: (prefix, handler) => mounts.push({ prefix, handler }),
      apiUrl: emu.apiUrl,
      log: capture.log,
      retries: 1,
      retryMinTimeoutMs: 10,
    });
    const { events, handler } = recorder(async (event) => {
      if (event.type === 'command') {
        await adapter.post(event.channel, { text: 'Demo card', card: { title: 'Demo', actions: [{ kind: 'button', actionId: 'demo:approve:d1', label: 'Approve', style: 'primary' }] } });
      }
      if (event.type === 'action') await adapter.update(event.message, { text: `Approved by ${event.actor.name}` });
    });
    expect(adapter.isReady()).toBe(false);
    await adapter.start(handler);
    cleanups.unshift(() => adapter.stop());
    expect(adapter.isReady()).toBe(true);
    expect(mounts.map((m) => m.prefix)).toEqual(['/slack/events']);
    expect(await emu.verifyUrl()).toBe(true);

    const command = await emu.userRunsCommand({ user: 'U_ALICE', channel: 'C_GENERAL', command: '/herald', text: 'demo label:"two words"' });
    expect(command).toMatchObject({ acked: true, status: 200 });
    const card = await emu.waitFor((e) => e.lastMessage('C_GENERAL'));
    expect(card).toMatchObject({ bot_id: emu.botId, text: 'Demo card' });

    const click = await emu.userClicksButton({ user: 'U_BOB', channel: 'C_GENERAL', ts: card.ts, actionId: 'demo:approve:d1' });
    expect(click).toMatchObject({ acked: true, status: 200 });
    const updated = await emu.waitFor((e) => e.messages('C_GENERAL').find((m) => m.ts === card.ts && m.edited));
    expect(updated.text).toBe('Approved by bob');
    expect(updated.blocks).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['command', 'action']);
    expect(events[0]).toMatchObject({ command: 'herald', options: { _text: 'demo label:"two words"' }, channel: { workspace: emu.teamId, channel: 'C_GENERAL' } });
    expect(events[1]).toMatchObject({ actionId: 'demo:approve:d1', message: { channel: 'C_GENERAL', message: card.ts } });

    const forged = await emu.sendEvent({ type: 'reaction_added', user: 'U_BOB', reaction: 'x', item: { type: 'message', channel: 'C_GENERAL', ts: card.ts } }, { badSignature: true });
    expect(forged).toMatchObject({ acked: false, status: 401 });
    expect(logged(capture, 'Slack request refused: signature or body did not verify')).toHaveLength(1);

    await adapter.stop();
    expect(adapter.isReady()).toBe(false);
    const afterStop = await emu.userRunsCommand({ user: 'U_ALICE', channel: 'C_GENERAL', command: '/herald', text: 'ping' });
    expect(afterStop).toMatchObject({ acked: false, status: 503 });
    expect(events).toHaveLength(2);
  });
});

describe('Slack adapter in Socket Mode', () => {
  const form: Form = {
    id: 'demo:save:d1',
    title: 'Edit the demo',
    submitLabel: 'Save',
    fields: [
      { kind: 'text', id: 'title', label: 'Title', required: true },
      { kind: 'text', id: 'body', label: 'Body', multiline: true },
      { kind: 'datetime', id: 'when', label: 'When' },
    ],
  };

  it('shows a form handler’s errors next to the field they name, and closes the form once it passes', async () => {
    const { harness, emu, events } = await started(async (event) => {
      if (event.type === 'command') await event.respond.openForm(form);
      if (event.type === 'form' && !/launch/i.test(event.values.body ?? '')) return { errors: { body: 'Say what launches' } };
      return undefined;
    });
    const alice = harness.users.admin;
    await harness.runCommand(alice, 'herald edit');
    const view = await harness.waitFor(() => emu.openViews('U_ALICE')[0]);
    expect(view).toMatchObject({ callback_id: 'demo:save:d1', private_metadata: JSON.stringify({ c: 'C_APPROVALS' }) });

    await harness.submitOpenForm(alice, { title: 'Autumn', body: 'nothing yet' });
    expect(emu.viewErrors(view.id)).toEqual({ body: 'Say what launches' });
    expect(emu.view(view.id)?.status).toBe('open');
    expect(harness.openFormErrors(alice)).toEqual({ body: 'Say what launches' });

    await harness.submitOpenForm(alice, { title: 'Autumn', body: 'The launch is Monday', when: '2026-03-02T09:00:00.000Z' });
    expect(emu.view(view.id)?.status).toBe('closed');
    expect(harness.openFormErrors(alice)).toBeUndefined();
    const forms = events.filter((e) => e.type === 'form');
    expect(forms.map((e) => e.type === 'form' && e.values)).toEqual([
      { title: 'Autumn', body: 'nothing yet', when: undefined },
      { title: 'Autumn', body: 'The launch is Monday', when: '2026-03-02T09:00:00.000Z' },
    ]);
  });

  it('acks a form whose handler is slower than the ack window, and logs the errors that came too late', async () => {
    const { harness, emu, capture } = await started(
      async (event) => {
        if (event.type === 'command') await event.respond.openForm(form);
        if (event.type === 'form') {
          await new Promise((resolve) => setTimeout(resolve, 400));
          return { errors: { title: 'too late to show' } };
        }
        return undefined;
      },
      { adapter: { formAckBudgetMs: 100 } },
    );
    await harness.runCommand(harness.users.admin, 'herald edit');
    const view = await harness.waitFor(() => emu.openViews('U_ALICE')[0]);
    await harness.submitOpenForm(harness.users.admin, { title: 'x' });
    expect(emu.view(view.id)?.status).toBe('closed');
    const late = await harness.waitFor(() => logged(capture, 'Slack form errors came after the ack window; the form closed without them')[0]);
    expect(late).toMatchObject({ level: 'warn', fields: ['title'], user: 'U_ALICE', platform: 'slack' });
  });

  it('hands a redelivered event to the handler once', async () => {
    const { harness, emu, events, capture } = await started();
    const first = await emu.userPostsMessage({ user: 'U_BOB', channel: 'C_APPROVALS', text: 'is the post live?' });
    const again = await emu.redeliver(first.deliveryId);
    expect(again).toMatchObject({ acked: true, retryAttempt: 1, eventId: first.eventId });
    const dropped = await harness.waitFor(() => logged(capture, 'Slack redelivered an event already handled; dropped')[0]);
    expect(dropped).toMatchObject({ eventId: first.eventId, retryNum: 1, channel: 'C_APPROVALS', user: 'U_BOB' });
    await harness.waitFor(() => events.length > 0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'message', text: 'is the post live?', actor: { name: 'bob' } });
  });

  it('delivers a mention once, as AppMentioned with the mention stripped', async () => {
    const { harness, events, capture } = await started();
    const ref = await harness.mentionBot(harness.users.member, harness.channel, 'draft this for Friday & tell <legal>');
    const mention = await harness.waitFor(() => events.find((e) => e.type === 'mention'));
    expect(mention).toMatchObject({ type: 'mention', text: 'draft this for Friday & tell <legal>', message: { channel: 'C_APPROVALS', message: ref.message }, actor: { ref: { user: 'U_BOB' } } });
    await harness.waitFor(() => capture.lines().find((l) => l.reason === 'delivered as app_mention'));
    expect(events.filter((e) => e.type === 'message' || e.type === 'mention')).toHaveLength(1);
  });

  it('ignores messages from bots and from Herald itself', async () => {
    const { harness, emu, events, capture } = await started();
    await emu.sendEvent({ type: 'message', subtype: 'bot_message', channel: 'C_APPROVALS', bot_id: 'B_OTHER', text: 'from another bot', ts: '1700000900.000100' });
    await emu.sendEvent({ type: 'message', channel: 'C_APPROVALS', user: emu.botUserId, bot_id: emu.botId, text: 'Herald itself', ts: '1700000900.000200' });
    await emu.sendEvent({ type: 'message', subtype: 'message_changed', channel: 'C_APPROVALS', ts: '1700000900.000300' });
    await harness.postMessage(harness.users.member, harness.channel, 'a person');
    await harness.waitFor(() => events.find((e) => e.type === 'message'));
    expect(events.map((e) => e.type === 'message' && e.text)).toEqual(['a person']);
    const reasons = capture.lines().filter((l) => l.msg === 'Slack payload ignored').map((l) => l.reason);
    expect(reasons).toEqual(expect.arrayContaining(['bot message', 'Herald’s own message', 'message subtype message_changed']));
  });

  it('acks malformed and unknown envelopes with a warning, never crashes, and keeps serving', async () => {
    const { harness, emu, events, capture } = await started();
    const results = await Promise.all([
      emu.sendEnvelope('interactive', { type: 'nonsense', payload: { nothing: true } }),
      emu.sendEnvelope('interactive', { type: 'block_actions', user: { id: 'U_BOB' } }),
      emu.sendEnvelope('interactive', { type: 'view_submission', user: { id: 'U_BOB' }, view: { id: 'V1' } }),
      emu.sendEnvelope('events_api', { type: 'event_callback', event_id: 'EvBROKEN' }),
      emu.sendEnvelope('events_api', { type: 'event_callback', event_id: 'EvBROKEN2', event: { type: 'message', channel: 42 } }),
      emu.sendEnvelope('slash_commands', { command: '/herald', text: 'ping' }),
    ]);
    expect(results.map((r) => r.acked)).toEqual([true, true, true, true, true, true]);
    const warnings = capture.lines().filter((l) => l.level === 'warn');
    expect(warnings.filter((l) => l.msg === 'Slack payload of an unknown kind acknowledged and ignored').map((l) => l.payloadType)).toEqual(expect.arrayContaining(['nonsense', 'block_actions']));
    expect(warnings.find((l) => l.msg === 'Slack Socket Mode envelope could not be read; acknowledged and ignored')).toBeDefined();
    // Bolt itself throws on some shapes (here a numeric channel); the receiver still acks them.
    expect(warnings.filter((l) => l.msg === 'Slack payload could not be processed').map((l) => l.payloadType)).toEqual(['event_callback']);
    expect(warnings.filter((l) => l.msg === 'Slack payload malformed; acknowledged and ignored').map((l) => l.kind)).toEqual(expect.arrayContaining(['form', 'command']));
    expect(events).toEqual([]);

    await harness.runCommand(harness.users.member, 'herald ping');
    await harness.waitFor(() => events.find((e) => e.type === 'command'));
  });

  it('retries auth.test while Slack is down at start, becoming ready once it answers', async () => {
    const capture = captureLogger('debug');
    const harness = await createSlackHarness({ log: capture.log, adapter: { botUserId: undefined, botId: undefined, teamId: undefined, retries: 0, startBackoffMs: 50 } });
    cleanups.push(async () => {
      await harness.adapter.stop();
      await harness.close();
    });
    harness.emulator.failNext('auth.test', { status: 503, times: 2 });
    const { events, handler } = recorder();
    const starting = harness.adapter.start(handler);
    expect(harness.adapter.isReady()).toBe(false);
    await starting;
    expect(harness.adapter.isReady()).toBe(true);
    expect(harness.emulator.failedCount('auth.test')).toBe(2);
    expect(logged(capture, 'Slack auth.test failed; retrying').map((l) => l.attempt)).toEqual([1, 2]);
    await harness.runCommand(harness.users.member, 'herald ping');
    const command = await harness.waitFor(() => events.find((e) => e.type === 'command'));
    expect(command.actor.ref).toEqual({ platform: 'slack', workspace: harness.emulator.teamId, user: 'U_BOB' });
  });

  it('refuses to start with a token Slack rejects, naming the problem', async () => {
    const emu = await createSlackEmulator();
    cleanups.push(() => emu.close());
    const adapter = createSlackAdapter({ botToken: 'xoxb-wrong', appToken: emu.appToken, apiUrl: emu.apiUrl, log: captureLogger().log, retries: 0 });
    await expect(adapter.start(async () => undefined)).rejects.toThrow(/invalid_auth.*SLACK_BOT_TOKEN/);
    expect(adapter.isReady()).toBe(false);
  });

  it('delivers a message shortcut with the message’s text and lets the handler answer privately', async () => {
    const { harness, events, metrics } = await started(async (event) => {
      if (event.type === 'shortcut') await event.respond.ephemeral({ text: `Drafting from ${event.message.message}` });
    });
    const source = await harness.postMessage(harness.users.member, harness.channel, 'Our autumn <collection> & more');
    await harness.useShortcut(harness.users.approver, source, 'draft-from-message');
    const shortcut = await harness.waitFor(() => events.find((e) => e.type === 'shortcut'));
    expect(shortcut).toMatchObject({
      shortcut: 'draft-from-message',
      text: 'Our autumn <collection> & more',
      files: [],
      message: { platform: 'slack', channel: 'C_APPROVALS', message: source.message },
      actor: { ref: { user: 'U_CAROL' }, name: 'carol' },
    });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.approver).find((m) => m.text === `Drafting from ${source.message}`));
    await until(async () => (await count(metrics, 'shortcut')) === 1);
  });

  it('answers in a DM through the response_url, and reads people, groups, permalinks and messages back', async () => {
    const { harness, emu, events } = await started(async (event) => {
      if (event.type === 'command') await event.respond.ephemeral({ text: 'only you', card: { title: 'Private', body: 'details' } });
    });
    const dm = await harness.adapter.notifyUser(harness.users.member, { text: 'Your draft was approved' });
    expect(harness.dmsTo(harness.users.member).map((m) => m.text)).toEqual(['Your draft was approved']);
    await emu.userRunsCommand({ user: 'U_BOB', channel: dm.channel, command: '/herald', text: 'mine' });
    const answer = await harness.waitFor(() => emu.ephemeralsFor('U_BOB').find((e) => e.text === 'only you'));
    expect(answer).toMatchObject({ channel: dm.channel, source: 'response_url' });
    expect(events[0]).toMatchObject({ type: 'command', channel: { channel: dm.channel } });

    const { adapter } = harness;
    expect(await adapter.membership(harness.users.admin)).toEqual({ isAdmin: true, groups: ['S_APPROVERS', 'approvers'], timeZone: 'Europe/London' });
    expect(await adapter.membership(harness.users.member)).toEqual({ isAdmin: false, groups: [], timeZone: 'Europe/London' });
    expect(await adapter.membership(harness.users.approver)).toEqual({ isAdmin: false, groups: ['S_APPROVERS', 'approvers'], timeZone: 'Europe/London' });
    expect(await adapter.groupMembers(emu.teamId, '@approvers')).toEqual(['U_ALICE', 'U_CAROL']);
    expect(await adapter.groupMembers(emu.teamId, 'S_APPROVERS')).toEqual(['U_ALICE', 'U_CAROL']);
    expect(await adapter.groupMembers(emu.teamId, 'nobody')).toEqual([]);

    const root = await harness.postMessage(harness.users.member, harness.channel, 'root & branch');
    const reply = await harness.replyInThread(harness.users.approver, root, 'a reply');
    expect(await adapter.permalink(root)).toMatch(/\/archives\/C_APPROVALS\/p\d+$/);
    expect(await adapter.fetchMessage(root)).toEqual({ text: 'root & branch', authorId: 'U_BOB', files: [] });
    expect(await adapter.fetchMessage({ ...reply, thread: undefined })).toMatchObject({ text: 'a reply', authorId: 'U_CAROL' });
    expect(await adapter.fetchMessage({ ...root, message: '1.000001' })).toBeUndefined();
  });

  it('reports not ready while Slack recycles the socket, then reconnects and keeps serving', async () => {
    const { harness, emu, events } = await started();
    emu.requestReconnect('refresh_requested');
    await harness.waitFor(() => !harness.adapter.isReady());
    // @slack/socket-mode waits clientPingTimeout (5 s) before it reconnects.
    await harness.waitFor(() => harness.adapter.isReady() && emu.socketConnections === 1, 10_000);
    await harness.runCommand(harness.users.member, 'herald ping');
    await harness.waitFor(() => events.find((e) => e.type === 'command'));
  });

  it('disconnects its socket on stop', async () => {
    const { harness, emu } = await started();
    expect(harness.adapter.isReady()).toBe(true);
    expect(emu.socketConnections).toBe(1);
    await harness.adapter.stop();
    expect(harness.adapter.isReady()).toBe(false);
    await harness.waitFor(() => emu.socketConnections === 0);
  });
});
