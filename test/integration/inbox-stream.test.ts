import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.ts';
import { scheduleFetches } from '../../flows/inbox.ts';
import { allFlows } from '../../flows/index.ts';
import type { Herald } from '../../src/app.ts';
import type { ObservedMessage } from '../support/chat-harness.ts';
import { startFaultProxy, startGoToSocial, type FaultProxy, type GoToSocialAccount, type RunningGoToSocial } from '../support/gotosocial.ts';
import { createSlackHarness, type SlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { captureLogger } from '../support/log.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * The inbox with Mastodon's streaming API (GoToSocial), on Slack: the account polls only once an
 * hour, so a card that appears within seconds came through the stream. The stream runs through a
 * proxy that can drop it and refuse reconnections; what arrives meanwhile comes when it is back.
 */
describe('inbox streaming (Mastodon)', () => {
  let gts: RunningGoToSocial;
  let proxy: FaultProxy;
  let harness: SlackHarness;
  let database: TestDatabase;
  let herald: Herald;
  let fan: GoToSocialAccount;
  let accountId: string;
  const captured = captureLogger('info');
  const encryptionKey = randomBytes(32).toString('hex');

  const start = (env: Record<string, string> = {}): Promise<Herald> =>
    startTestHerald({
      dbName: database.name,
      flows: allFlows,
      commands: allCommands,
      log: captured.log,
      env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: encryptionKey, INBOX_POLL_SECONDS: '3600', CHAT_MESSAGES_PER_SECOND: '20', ...env },
    });
  const cards = (): ObservedMessage[] => harness.messagesIn(harness.channel).filter((m) => m.buttons.some((b) => b.label === 'Claim'));
  const cardFor = (text: string, timeoutMs: number): Promise<ObservedMessage> => harness.waitFor(() => cards().find((m) => m.text.includes(text)), timeoutMs);
  const mention = async (text: string): Promise<void> => {
    const res = await fetch(`${gts.url}/api/v1/statuses`, { method: 'POST', headers: { authorization: `Bearer ${fan.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ status: `@brand ${text}` }) });
    expect(res.status).toBe(200);
  };
  const polledAt = async (): Promise<number> => (await database.db.collection<{ _id: string; polledAt?: Date }>('inbox_cursors').findOne({ _id: accountId }))?.polledAt?.getTime() ?? 0;

  beforeAll(async () => {
    [gts, harness, database] = await Promise.all([startGoToSocial(), createSlackHarness(), openTestDatabase('inbox_stream')]);
    [proxy, fan] = await Promise.all([startFaultProxy(gts.url), gts.createAccount('fan')]);
    herald = await start();
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    const account = await herald.stores.accounts.connect({
      workspace: `slack:${harness.channel.workspace}`,
      network: 'mastodon',
      handle: `brand@${new URL(gts.url).host}`,
      connectedBy: harness.users.admin.user,
      credentials: { instanceUrl: proxy.url, accessToken: gts.account.accessToken },
    });
    accountId = account.id;
    await harness.runCommand(harness.users.admin, 'herald inbox-rules', { action: 'add', channel: 'here', account: account.handle });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Inbox rules')), 10_000);
    // The first fetch (at once) sets the cursor and opens the stream; the next poll is an hour away.
    await scheduleFetches(herald.context, [accountId]);
    await eventually(async () => (await polledAt()) > 0 && proxy.streams.open === 1, 20_000);
  }, 120_000);

  afterAll(async () => {
    await herald?.stop();
    await harness?.close();
    await proxy?.close();
    await gts?.stop();
    await database?.cleanup();
  });

  it('a mention becomes a card within seconds although the account polls once an hour', async () => {
    const sent = Date.now();
    await mention('is the stream working?');
    await cardFor('is the stream working?', 15_000);
    expect(Date.now() - sent).toBeLessThan(15_000);
    expect(captured.lines().some((line) => line.msg === 'inbox stream opened' && line.accountId === accountId)).toBe(true);
  }, 30_000);

  it('what arrives while the stream is down comes when it reconnects, once', async () => {
    proxy.streams.refuse(true);
    proxy.streams.cut();
    await mention('sent while the stream was down');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(cards().some((m) => m.text.includes('sent while the stream was down'))).toBe(false);
    proxy.streams.refuse(false);
    await cardFor('sent while the stream was down', 30_000);
    await eventually(() => proxy.streams.open === 1, 10_000);
    // A further notification on the new connection, and nothing twice.
    await mention('after the reconnection');
    await cardFor('after the reconnection', 15_000);
    for (const text of ['is the stream working?', 'sent while the stream was down', 'after the reconnection']) {
      expect(cards().filter((m) => m.text.includes(text))).toHaveLength(1);
    }
  }, 60_000);

  it('stopping Herald closes the stream; with INBOX_STREAMING=off only polling reads', async () => {
    await herald.stop();
    await eventually(() => proxy.streams.open === 0, 5_000);
    const attempts = proxy.streams.attempts;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(proxy.streams.attempts).toBe(attempts);

    herald = await start({ INBOX_STREAMING: 'off', INBOX_POLL_SECONDS: '2' });
    const before = await polledAt();
    // Two polls later, no stream was asked for, and a mention still arrives by polling.
    await eventually(async () => (await polledAt()) > before, 15_000);
    await mention('read by polling alone');
    await cardFor('read by polling alone', 20_000);
    expect(proxy.streams.attempts).toBe(attempts);
  }, 60_000);
});
