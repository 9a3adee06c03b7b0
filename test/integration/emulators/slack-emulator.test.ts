import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createSlackEmulator, type SlackEmulator } from '../../../src/sandbox/slack-emulator/index.ts';

const retryConfig = { retries: 3, factor: 1, minTimeout: 10, maxTimeout: 20 };
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function emulator(options?: Parameters<typeof createSlackEmulator>[0]): Promise<SlackEmulator> {
  const emu = await createSlackEmulator(options);
  cleanups.push(() => emu.close());
  return emu;
}

/** A real Bolt App in Socket Mode against the emulator; stopped (and disconnected) after the test. */
async function socketApp(emu: SlackEmulator): Promise<App> {
  const receiver = new SocketModeReceiver({
    appToken: emu.appToken,
    logLevel: LogLevel.ERROR,
    installerOptions: { clientOptions: { slackApiUrl: emu.apiUrl, retryConfig } },
  });
  const app = new App({
    token: emu.botToken,
    appToken: emu.appToken,
    socketMode: true,
    receiver,
    botId: emu.botId,
    botUserId: emu.botUserId,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: emu.apiUrl, retryConfig },
  });
  await app.start();
  cleanups.push(async () => {
    const disconnected = new Promise((resolve) => receiver.client.once('disconnected', resolve));
    await app.stop();
    await disconnected;
  });
  return app;
}

/** A real Bolt App with its HTTPReceiver on 127.0.0.1:0; the emulator is pointed at it. */
async function httpApp(emu: SlackEmulator): Promise<App> {
  const receiver = new HTTPReceiver({ signingSecret: emu.signingSecret, logLevel: LogLevel.ERROR });
  const app = new App({
    token: emu.botToken,
    receiver,
    botId: emu.botId,
    botUserId: emu.botUserId,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: emu.apiUrl, retryConfig },
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  const { port } = server.address() as AddressInfo;
  emu.setDelivery({ httpUrl: `http://127.0.0.1:${port}/slack/events` });
  cleanups.push(async () => {
    await app.stop();
  });
  return app;
}

const approvalBlocks = [
  { type: 'section', block_id: 'draft', text: { type: 'mrkdwn', text: '*Draft* ready for review' } },
  {
    type: 'actions',
    block_id: 'decision',
    elements: [
      { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'draft-1', style: 'primary' },
      { type: 'button', action_id: 'reject', text: { type: 'plain_text', text: 'Reject' }, value: 'draft-1' },
    ],
  },
];

describe('Slack emulator with a real Bolt App (Socket Mode)', () => {
  it('delivers a slash command, the app posts Block Kit, a button click updates the message', async () => {
    const emu = await emulator();
    const app = await socketApp(emu);
    expect(emu.socketConnections).toBe(1);

    app.command('/herald', async ({ ack, command, client }) => {
      await ack();
      await client.chat.postMessage({ channel: command.channel_id, text: `Draft from <@${command.user_id}>`, blocks: approvalBlocks });
    });
    const clicks: { actionId: string; value: string | undefined; container: unknown }[] = [];
    app.action('approve', async ({ ack, body, action, client }) => {
      await ack();
      if (body.type !== 'block_actions' || action.type !== 'button') return;
      clicks.push({ actionId: 'action_id' in action ? action.action_id : '', value: action.value, container: body.container });
      await client.chat.update({
        channel: body.channel?.id ?? '',
        ts: body.message?.ts ?? '',
        text: 'Approved',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `Approved by <@${body.user.id}>` } }],
      });
    });

    const cmd = await emu.userRunsCommand({ user: 'U_ALICE', channel: 'C_APPROVALS', command: '/herald', text: 'draft' });
    expect(cmd).toMatchObject({ acked: true, type: 'slash_commands' });
    expect(cmd.latencyMs).toBeGreaterThanOrEqual(0);
    const posted = await emu.waitFor((e) => e.lastMessage('C_APPROVALS'));
    expect(posted).toMatchObject({ bot_id: emu.botId, text: 'Draft from <@U_ALICE>' });
    expect(posted.blocks?.[1]?.block_id).toBe('decision');

    const click = await emu.userClicksButton({ user: 'U_BOB', channel: 'C_APPROVALS', ts: posted.ts, actionId: 'approve' });
    expect(click.acked).toBe(true);
    const updated = await emu.waitFor((e) => e.messages('C_APPROVALS').find((m) => m.ts === posted.ts && m.edited));
    expect(updated.text).toBe('Approved');
    expect(JSON.stringify(updated.blocks)).toContain('Approved by <@U_BOB>');
    expect(emu.messages('C_APPROVALS')).toHaveLength(1);
    expect(clicks).toEqual([
      { actionId: 'approve', value: 'draft-1', container: { type: 'message', message_ts: posted.ts, channel_id: 'C_APPROVALS', is_ephemeral: false } },
    ]);
  });

  it('opens a modal and records a response_action errors answer to its submission', async () => {
    const emu = await emulator();
    const app = await socketApp(emu);
    app.command('/draft', async ({ ack, body, client }) => {
      await ack();
      await client.views.open({
        trigger_id: body.trigger_id,
        view: {
          type: 'modal',
          callback_id: 'draft_modal',
          title: { type: 'plain_text', text: 'New draft' },
          submit: { type: 'plain_text', text: 'Save' },
          blocks: [
            { type: 'input', block_id: 'title', label: { type: 'plain_text', text: 'Title' }, element: { type: 'plain_text_input', action_id: 'value' } },
            {
              type: 'input',
              block_id: 'network',
              label: { type: 'plain_text', text: 'Network' },
              element: {
                type: 'static_select',
                action_id: 'pick',
                options: [
                  { text: { type: 'plain_text', text: 'LinkedIn' }, value: 'linkedin' },
                  { text: { type: 'plain_text', text: 'Mastodon' }, value: 'mastodon' },
                ],
              },
            },
            { type: 'input', block_id: 'when', label: { type: 'plain_text', text: 'When' }, element: { type: 'datetimepicker', action_id: 'at' } },
          ],
        },
      });
    });
    const submitted: unknown[] = [];
    app.view('draft_modal', async ({ ack, view }) => {
      submitted.push(view.state.values);
      await ack({ response_action: 'errors', errors: { title: 'Title is too long' } });
    });

    await emu.userRunsCommand({ user: 'U_CAROL', channel: 'C_GENERAL', command: '/draft' });
    const view = await emu.waitFor((e) => e.openViews('U_CAROL')[0]);
    expect(view.callback_id).toBe('draft_modal');

    const result = await emu.userSubmitsView({ user: 'U_CAROL', viewId: view.id, values: { value: 'x'.repeat(300), pick: 'mastodon', at: 1_767_225_600 } });
    expect(result.payload).toEqual({ response_action: 'errors', errors: { title: 'Title is too long' } });
    expect(emu.viewErrors(view.id)).toEqual({ title: 'Title is too long' });
    expect(emu.view(view.id)?.status).toBe('open');
    expect(submitted).toEqual([
      {
        title: { value: { type: 'plain_text_input', value: 'x'.repeat(300) } },
        network: { pick: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Mastodon' }, value: 'mastodon' } } },
        when: { at: { type: 'datetimepicker', selected_date_time: 1_767_225_600 } },
      },
    ]);
  });

  it('lands a files.uploadV2 upload in a thread with its title and alt text', async () => {
    const emu = await emulator();
    const app = await socketApp(emu);
    const parent = await app.client.chat.postMessage({ channel: 'C_GENERAL', text: 'Weekly digest' });
    const bytes = Buffer.from('PNG-bytes-'.repeat(100));
    await app.client.filesUploadV2({
      channel_id: 'C_GENERAL',
      thread_ts: parent.ts as string,
      file: bytes,
      filename: 'chart.png',
      title: 'Engagement chart',
      alt_text: 'Bar chart of engagement per network',
      initial_comment: 'Here is the chart',
    });
    const thread = emu.thread('C_GENERAL', parent.ts as string);
    expect(thread).toHaveLength(2);
    expect(thread[0]?.reply_count).toBe(1);
    expect(thread[1]).toMatchObject({
      thread_ts: parent.ts,
      text: 'Here is the chart',
      files: [{ name: 'chart.png', title: 'Engagement chart', alt_txt: 'Bar chart of engagement per network', size: bytes.length }],
    });
    const fileId = thread[1]?.files?.[0]?.id ?? '';
    expect(emu.fileBytes(fileId)?.equals(bytes)).toBe(true);
    expect(emu.messages('C_GENERAL')).toHaveLength(1);
  });

  it('answers 429 with Retry-After; the WebClient waits it out and the message exists once', async () => {
    const emu = await emulator();
    const app = await socketApp(emu);
    emu.rateLimit('chat.postMessage', { retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const res = await app.client.chat.postMessage({ channel: 'C_GENERAL', text: 'Crisis alert' });
    expect(res.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(emu.rateLimitedCount('chat.postMessage')).toBe(1);
    expect(emu.messages('C_GENERAL').filter((m) => m.text === 'Crisis alert')).toHaveLength(1);
  });

  it('redelivers an event with the same event_id and retry info', async () => {
    const emu = await emulator();
    const app = await socketApp(emu);
    const seen: { eventId: unknown; retryNum: number | undefined; retryReason: string | undefined; text: string | undefined }[] = [];
    app.message(async ({ message, body, context }) => {
      seen.push({
        eventId: (body as { event_id?: unknown }).event_id,
        retryNum: context.retryNum,
        retryReason: context.retryReason,
        text: 'text' in message ? message.text : undefined,
      });
    });
    const first = await emu.userPostsMessage({ user: 'U_BOB', channel: 'C_GENERAL', text: 'is the post live?' });
    expect(first.acked).toBe(true);
    const again = await emu.redeliver(first.deliveryId);
    expect(again).toMatchObject({ acked: true, retryAttempt: 1, eventId: first.eventId });
    expect(again.envelopeId).not.toBe(first.envelopeId);
    await emu.waitFor(() => seen.length === 2);
    expect(seen).toEqual([
      { eventId: first.eventId, retryNum: 0, retryReason: '', text: 'is the post live?' },
      { eventId: first.eventId, retryNum: 1, retryReason: 'timeout', text: 'is the post live?' },
    ]);
    expect(emu.messages('C_GENERAL')).toHaveLength(1);
  });

  it('delivers app_mention and message for a mention, and threads replies', async () => {
    const emu = await emulator();
    const app = await socketApp(emu);
    app.event('app_mention', async ({ event, say }) => {
      await say({ text: 'On it', thread_ts: event.ts });
    });
    const messages: string[] = [];
    app.message(async ({ message }) => {
      messages.push(message.ts);
    });
    const res = await emu.userMentionsApp({ user: 'U_ALICE', channel: 'C_GENERAL', text: 'status?' });
    expect(res.acked).toBe(true);
    const root = emu.messages('C_GENERAL')[0];
    expect(root?.text).toBe(`<@${emu.botUserId}> status?`);
    const reply = await emu.waitFor((e) => e.thread('C_GENERAL', root?.ts ?? '')[1]);
    expect(reply).toMatchObject({ text: 'On it', thread_ts: root?.ts, parent_user_id: 'U_ALICE' });
    await emu.waitFor(() => messages.length === 1);
    expect(messages).toEqual([root?.ts]);
  });
});

describe('Slack emulator Web API validation', () => {
  it('answers like Slack for bad tokens, unknown methods and bad arguments', async () => {
    const emu = await emulator();
    const client = new WebClient(emu.botToken, { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
    const bad = new WebClient('xoxb-wrong', { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
    const code = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'ok', (e: { data?: { error?: string } }) => e.data?.error);
    expect(await code(bad.auth.test())).toBe('invalid_auth');
    expect(await code(client.apiCall('chat.nope'))).toBe('unknown_method');
    expect(await code(client.chat.postMessage({ channel: 'C_NOPE', text: 'x' }))).toBe('channel_not_found');
    expect(await code(client.chat.postMessage({ channel: 'C_GENERAL' } as never))).toBe('no_text');
    expect(await code(client.chat.postMessage({ channel: 'C_GENERAL', text: 'x', blocks: [{ text: 'no type' }] as never }))).toBe('invalid_blocks');
    expect(await code(client.chat.postMessage({ channel: 'C_GENERAL', text: 'x'.repeat(40_001) }))).toBe('msg_too_long');
    expect(await code(client.chat.update({ channel: 'C_GENERAL', ts: '1.000100', text: 'x' }))).toBe('message_not_found');
    expect(await code(client.views.open({ trigger_id: 'nope', view: { type: 'modal', title: { type: 'plain_text', text: 't' }, blocks: [] } }))).toBe(
      'invalid_trigger_id',
    );

    emu.failNext('users.info', { status: 503 });
    expect(await code(client.users.info({ user: 'U_ALICE' }))).toBeUndefined();
    expect(emu.failedCount('users.info')).toBe(1);
    const alice = await client.users.info({ user: 'U_ALICE' });
    expect(alice.user?.is_admin).toBe(true);

    const dm = await client.conversations.open({ users: 'U_BOB' });
    await client.chat.postMessage({ channel: dm.channel?.id ?? '', text: 'hi bob' });
    expect(emu.dmWith('U_BOB').map((m) => m.text)).toEqual(['hi bob']);
    await client.chat.postEphemeral({ channel: 'C_GENERAL', user: 'U_CAROL', text: 'only you' });
    expect(emu.ephemeralsFor('U_CAROL').map((e) => e.text)).toEqual(['only you']);
    const group = await client.usergroups.users.list({ usergroup: 'S_APPROVERS' });
    expect(group.users).toEqual(['U_ALICE', 'U_CAROL']);
  });
});

describe('Slack emulator with a real Bolt App (HTTP mode)', () => {
  it('signs deliveries that Bolt verifies, honours ack bodies and retry headers, and is rejected when the signature is bad', async () => {
    const emu = await emulator({ signingSecret: 'http-secret' });
    const app = await httpApp(emu);
    expect(await emu.verifyUrl()).toBe(true);

    app.command('/ping', async ({ ack }) => {
      await ack({ response_type: 'in_channel', text: 'pong' });
    });
    const retries: (number | undefined)[] = [];
    app.event('reaction_added', async ({ context }) => {
      retries.push(context.retryNum);
    });
    const clicked: string[] = [];
    app.action('approve', async ({ ack, action, respond }) => {
      await ack();
      if ('action_id' in action) clicked.push(action.action_id);
      await respond({ replace_original: true, text: 'Approved over HTTP' });
    });

    const cmd = await emu.userRunsCommand({ user: 'U_ALICE', channel: 'C_GENERAL', command: '/ping' });
    expect(cmd).toMatchObject({ acked: true, status: 200 });
    expect(emu.lastMessage('C_GENERAL')).toMatchObject({ text: 'pong', bot_id: emu.botId, source: 'ack' });

    const posted = await app.client.chat.postMessage({ channel: 'C_GENERAL', text: 'Draft', blocks: approvalBlocks });
    const click = await emu.userClicksButton({ user: 'U_BOB', channel: 'C_GENERAL', ts: posted.ts as string, actionId: 'approve' });
    expect(click.acked).toBe(true);
    await emu.waitFor((e) => e.messages('C_GENERAL').find((m) => m.text === 'Approved over HTTP'));
    expect(clicked).toEqual(['approve']);

    const reaction = await emu.userReacts({ user: 'U_CAROL', channel: 'C_GENERAL', ts: posted.ts as string, reaction: 'eyes' });
    await emu.redeliver(reaction.deliveryId);
    await emu.waitFor(() => retries.length === 2);
    expect(retries).toEqual([undefined, 1]);

    const forged = await emu.sendEvent({ type: 'reaction_added', user: 'U_BOB', reaction: 'x', item: { type: 'message', channel: 'C_GENERAL', ts: posted.ts } }, { badSignature: true });
    expect(forged).toMatchObject({ acked: false, status: 401 });
    expect(retries).toHaveLength(2);
  });
});
