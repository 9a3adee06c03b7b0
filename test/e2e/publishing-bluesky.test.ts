import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import type { ConversationRef } from '../../src/chat/port.ts';
import { parseRef } from '../../src/chat/port.ts';
import { JobNames } from '../../src/jobs/names.ts';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import type { ObservedMessage } from '../support/chat-harness.ts';
import { waitForIndexing, xrpc, type BlueskyNetworkUrls } from '../support/bluesky-network.ts';
import { createDiscordHarness } from '../support/harness-discord.ts';
import type { ChatHarness } from '../support/chat-harness.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * Publishing to Bluesky from Discord, end to end: the real local AT Protocol network (blueskyNetwork,
 * started by the global setup), the Discord emulator, Herald from its configuration.
 */
const provided = inject('blueskyNetwork');
type Json = Record<string, unknown>;

describe('publishing to Bluesky from Discord', () => {
  let net: BlueskyNetworkUrls;
  let harness: ChatHarness;
  let database: TestDatabase;
  let herald: Herald;
  let account: { did: string; handle: string; accessJwt: string; appPassword: string; appPasswordName: string };

  const call = (method: string, options: Parameters<typeof xrpc>[2] = {}) => xrpc(net.pds, method, options);
  const postsOnPds = async (): Promise<Json[]> => (await call('com.atproto.repo.listRecords', { query: { repo: account.did, collection: 'app.bsky.feed.post', limit: '100' } })).records as Json[];

  beforeAll(async () => {
    if (!provided.ok) throw new Error(`the local Bluesky network is not running: ${provided.error}`);
    net = provided;
    [harness, database] = await Promise.all([createDiscordHarness(), openTestDatabase('bsky_flow')]);
    const handle = `brand${randomBytes(3).toString('hex')}.test`;
    const created = await call('com.atproto.server.createAccount', { body: { handle, email: `${handle}@example.com`, password: `pw-${randomBytes(8).toString('hex')}` } });
    const appPasswordName = 'herald';
    const app = await call('com.atproto.server.createAppPassword', { body: { name: appPasswordName }, token: created.accessJwt as string });
    account = { did: created.did as string, handle, accessJwt: created.accessJwt as string, appPassword: app.password as string, appPasswordName };
    await waitForIndexing(net.control);
    herald = await startTestHerald({
      dbName: database.name,
      flows: allFlows,
      commands: allCommands,
      env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: randomBytes(32).toString('hex'), PUBLISH_RETRY_BASE_MS: '200', PUBLISH_MAX_ATTEMPTS: '2' },
    });
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    await harness.runCommand(harness.users.admin, 'herald policy', { approvers: harness.approverGroup, required: 'any' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Policy saved')), 15_000);
    await harness.runCommand(harness.users.admin, 'herald settings', { networks: 'bluesky' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('default networks: bluesky')), 15_000);
  }, 120_000);

  afterAll(async () => {
    await herald?.stop();
    await harness?.close();
    await database?.cleanup();
  });

  const cardText = (ref: ConversationRef): ObservedMessage | undefined => harness.messagesIn({ platform: ref.platform, workspace: ref.workspace, channel: ref.channel }).find((m) => m.ref.message === ref.message);
  const dueDraft = async (text: string): Promise<{ id: string; card: ConversationRef }> => {
    await harness.runCommand(harness.users.member, 'draft new', { text, when: 'in 2h' });
    const doc = await eventually(() => database.db.collection('drafts').findOne({ text, card: { $exists: true } }));
    const id = String(doc._id);
    const card = parseRef(String(doc.card))!;
    const approve = await harness.waitFor(() => cardText(card)?.buttons.find((b) => b.label === 'Approve'), 10_000);
    await harness.clickButton(harness.users.approver, card, approve.actionId);
    await harness.waitFor(() => cardText(card)?.text.includes('scheduled for'), 10_000);
    await herald.scheduler.now(JobNames.publishDue, { draftId: id });
    return { id, card };
  };

  it('connects the Bluesky account in a private modal and publishes with facets, once, linking the post', async () => {
    await harness.runCommand(harness.users.admin, 'herald accounts');
    const list = await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Connected accounts')), 10_000);
    await harness.clickButton(harness.users.admin, list.ref, list.buttons.find((b) => b.label === 'Connect Bluesky')!.actionId);
    await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Connect Bluesky');
    await harness.submitOpenForm(harness.users.admin, { identifier: account.handle, password: account.appPassword, service: net.pds });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.startsWith('Connected Bluesky account')), 15_000);

    const { id, card } = await dueDraft('Spring collection launch #herald https://example.com/spring');
    await eventually(() => database.db.collection('drafts').findOne({ _id: id as never, status: 'published' }), 20_000);
    const posts = await postsOnPds();
    const ours = posts.filter((p) => String((p.value as Json).text).includes('Spring collection'));
    expect(ours).toHaveLength(1);
    const facets = ((ours[0]!.value as Json).facets ?? []) as { features: { $type: string }[] }[];
    expect(facets.map((f) => f.features[0]?.$type).sort()).toEqual(['app.bsky.richtext.facet#link', 'app.bsky.richtext.facet#tag']);
    const shown = await harness.waitFor(() => cardText(card)?.text.includes('✅ published') && cardText(card), 10_000);
    expect(shown.text).toContain(`https://bsky.app/profile/${account.handle}/post/${String(ours[0]!.uri).split('/').pop()}`);
  });

  it('a revoked app password fails the post with Reconnect, marks the account and tells the channel once', async () => {
    await call('com.atproto.server.revokeAppPassword', { body: { name: account.appPasswordName }, token: account.accessJwt });
    const { id, card } = await dueDraft('This one meets a revoked password.');
    await eventually(() => database.db.collection('drafts').findOne({ _id: id as never, status: 'failed' }), 20_000);
    const shown = await harness.waitFor(() => cardText(card)?.text.includes('❌ failed') && (cardText(card)?.buttons.length ?? 0) > 0 && cardText(card), 10_000);
    expect(shown.text).toContain('credentials no longer work');
    expect(shown.buttons.map((b) => b.label)).toEqual(['Retry', 'Reconnect Bluesky']);
    expect((await database.db.collection('accounts').findOne({ network: 'bluesky' }))?.health).toBe('failing');
    await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes('stopped working')), 10_000);
    await harness.waitFor(() => harness.dmsTo(harness.users.member).find((m) => m.text.includes(id)), 10_000);
    expect((await postsOnPds()).filter((p) => String((p.value as Json).text).includes('revoked password'))).toHaveLength(0);
  });
});
