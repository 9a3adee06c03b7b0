import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import type { ConversationRef } from '../../src/chat/port.ts';
import { parseRef } from '../../src/chat/port.ts';
import { JobNames } from '../../src/jobs/names.ts';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import type { ObservedMessage } from '../support/chat-harness.ts';
import { startFaultProxy, startGoToSocial, type FaultProxy, type RunningGoToSocial } from '../support/gotosocial.ts';
import { createSlackHarness, type SlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { scheduledJobs } from '../support/jobs.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';
import { solidPng } from '../support/png.ts';

/**
 * Publishing end to end: Herald from its configuration, the team in the Slack emulator, a real
 * Mastodon-API server (GoToSocial) behind a proxy that injects the failures networks give. Every
 * way of failing must show on the card and reach the author; nothing is posted twice.
 */
describe('publishing to Mastodon, exactly once, telling the truth', () => {
  let gts: RunningGoToSocial;
  let proxy: FaultProxy;
  let harness: SlackHarness;
  let database: TestDatabase;
  let herald: Herald;

  beforeAll(async () => {
    [gts, harness, database] = await Promise.all([startGoToSocial(), createSlackHarness(), openTestDatabase('publishing')]);
    proxy = await startFaultProxy(gts.url);
    // The member lives in Bucharest: Slack tells Herald each person's own time zone.
    harness.emulator.state.users.find((u) => u.id === harness.users.member.user)!.tz = 'Europe/Bucharest';
    herald = await startTestHerald({
      dbName: database.name,
      flows: allFlows,
      commands: allCommands,
      // Chat pacing (1 write per second per channel by default) would queue every card of this
      // file's one channel behind the others; pacing has its own tests.
      env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'), PUBLISH_RETRY_BASE_MS: '200', PUBLISH_MAX_ATTEMPTS: '3', CHAT_MESSAGES_PER_SECOND: '20' },
    });
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    await harness.runCommand(harness.users.admin, 'herald policy', { approvers: harness.approverGroup, required: 'any' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Policy saved')), 20_000);
    await harness.runCommand(harness.users.admin, 'herald settings', { networks: 'mastodon' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('default networks: mastodon')), 20_000);
  }, 120_000);

  // A rule a test did not use up must not fail the next test.
  afterEach(() => proxy?.clear());

  afterAll(async () => {
    await herald?.stop();
    await harness?.close();
    await proxy?.close();
    await gts?.stop();
    await database?.cleanup();
  });

  const statusesOnServer = async (): Promise<{ id: string; content: string; url: string }[]> => {
    const response = await fetch(`${gts.url}/api/v1/accounts/${gts.account.id}/statuses?limit=40`, { headers: { authorization: `Bearer ${gts.account.accessToken}` } });
    return (await response.json()) as { id: string; content: string; url: string }[];
  };
  const cardText = (ref: ConversationRef): ObservedMessage | undefined => harness.messagesIn({ platform: ref.platform, workspace: ref.workspace, channel: ref.channel }).find((m) => m.ref.message === ref.message);
  const postsToStatuses = () => proxy.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/statuses').length;

  /** A draft approved and due now; returns its id and card. */
  const dueDraft = async (text: string, networks = 'mastodon'): Promise<{ id: string; card: ConversationRef }> => {
    await harness.runCommand(harness.users.member, 'draft new', { text, networks, when: 'in 2h' });
    const doc = await eventually(() => database.db.collection('drafts').findOne({ text, card: { $exists: true } })).catch((error: unknown) => {
      throw new Error(`no draft; the author saw: ${harness.ephemeralsFor(harness.users.member).map((m) => m.text).slice(-2).join(' | ')}`, { cause: error });
    });
    const id = String(doc._id);
    const card = parseRef(String(doc.card))!;
    const approve = await harness.waitFor(() => cardText(card)?.buttons.find((b) => b.label === 'Approve'));
    await harness.clickButton(harness.users.approver, card, approve.actionId);
    await eventually(() => database.db.collection('drafts').findOne({ _id: id as never, status: 'scheduled' })).catch(async (error: unknown) => {
      const now = await database.db.collection('drafts').findOne({ _id: id as never });
      throw new Error(`not scheduled (${String(now?.status)}); the approver saw: ${harness.ephemeralsFor(harness.users.approver).map((m) => m.text).slice(-2).join(' | ')}`, { cause: error });
    });
    // The approval has finished its follow-ups (it reschedules the due job) once the card says so.
    await harness.waitFor(() => cardText(card)?.text.includes('scheduled for'), 10_000);
    await herald.scheduler.now(JobNames.publishDue, { draftId: id });
    return { id, card };
  };
  const settled = (id: string, status: 'published' | 'failed') =>
    eventually(() => database.db.collection('drafts').findOne({ _id: id as never, status }), 20_000).catch(async (error: unknown) => {
      const draft = await database.db.collection('drafts').findOne({ _id: id as never });
      const deliveries = await database.db.collection('deliveries').find({ draftId: id }).toArray();
      throw new Error(`draft ${id} is ${String(draft?.status)}, not ${status}; deliveries: ${JSON.stringify(deliveries)}`, { cause: error });
    });

  it('connects the account through a private form and stores its token sealed', async () => {
    await harness.runCommand(harness.users.admin, 'herald accounts');
    const list = await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Connected accounts')));
    expect(list.text).toContain('No account is connected yet.');
    const connect = list.buttons.find((b) => b.label === 'Connect Mastodon')!;
    await harness.clickButton(harness.users.admin, list.ref, connect.actionId);
    await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Connect Mastodon');
    await harness.submitOpenForm(harness.users.admin, { instanceUrl: proxy.url, accessToken: 'not-a-real-token' });
    await harness.waitFor(() => harness.openFormErrors(harness.users.admin)?.accessToken);
    expect(harness.openFormErrors(harness.users.admin)?.accessToken).toContain('no longer work');
    await harness.submitOpenForm(harness.users.admin, { instanceUrl: proxy.url, accessToken: gts.account.accessToken });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.startsWith('Connected Mastodon account')));
    const stored = await database.db.collection('accounts').findOne({ network: 'mastodon' });
    expect(stored?.health).toBe('ok');
    expect(JSON.stringify(stored)).not.toContain(gts.account.accessToken);
    expect(harness.messagesIn(harness.channel).some((m) => m.text.includes(gts.account.accessToken))).toBe(false);
  });

  it('publishes at the scheduled time, once, and the card shows the live link', async () => {
    const before = postsToStatuses();
    const { id, card } = await dueDraft('Our winter opening hours are online.');
    await settled(id, 'published');
    const shown = await harness.waitFor(() => cardText(card)?.text.includes('✅ published') && cardText(card));
    const onServer = (await statusesOnServer()).filter((s) => s.content.includes('winter opening hours'));
    expect(onServer).toHaveLength(1);
    expect(shown.text).toContain(onServer[0]!.url);
    expect(postsToStatuses() - before).toBe(1);
    const ledger = await database.db.collection('ledger').findOne({ key: `publish:${id}:v1:mastodon` });
    expect(ledger).toMatchObject({ state: 'done' });
    // The job running again (a replay after a crash) changes nothing.
    await herald.scheduler.now(JobNames.publishNetwork, { draftId: id, version: 1, network: 'mastodon', attempt: 1, manual: false });
    await new Promise((r) => setTimeout(r, 600));
    expect((await statusesOnServer()).filter((s) => s.content.includes('winter opening hours'))).toHaveLength(1);
  });

  it('a second run of a publication while the first is still calling the network posts nothing: it looks again later', async () => {
    // The first run's post takes 2.5 s to reach the server; meanwhile the same job runs again (a
    // second replica, or a lock the database did not keep).
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, body: /two runs at once/, holdMs: 2_500 });
    const before = postsToStatuses();
    const { id, card } = await dueDraft('Even two runs at once post this once.');
    await eventually(() => database.db.collection('ledger').findOne({ key: `publish:${id}:v1:mastodon`, state: 'pending' }), 10_000);
    await herald.scheduler.now(JobNames.publishNetwork, { draftId: id, version: 1, network: 'mastodon', attempt: 1, manual: false });
    const later = await eventually(async () => (await scheduledJobs(database.db, { name: JobNames.publishNetwork, 'data.draftId': id })).find((job) => job.nextRunAt.getTime() > Date.now() + 20_000), 10_000);
    expect(later.data).toMatchObject({ attempt: 1 });
    await settled(id, 'published');
    await harness.waitFor(() => cardText(card)?.text.includes('✅ published'), 10_000);
    expect(postsToStatuses() - before).toBe(1);
    expect((await statusesOnServer()).filter((s) => s.content.includes('two runs at once'))).toHaveLength(1);
  });

  it('waits out 503s and a 429 with Retry-After, then publishes once', async () => {
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, body: /Retries/, times: 1, answer: { status: 503, body: { error: 'Service Unavailable' } } });
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, body: /Retries/, times: 1, answer: { status: 429, headers: { 'retry-after': '1' }, body: { error: 'Too many requests' } } });
    const started = Date.now();
    const { id, card } = await dueDraft('Retries are part of honest delivery.');
    await settled(id, 'published');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect((await statusesOnServer()).filter((s) => s.content.includes('honest delivery'))).toHaveLength(1);
    const delivery = await database.db.collection('deliveries').findOne({ draftId: id });
    expect(delivery).toMatchObject({ status: 'published', attempts: 3 });
    await harness.waitFor(() => cardText(card)?.text.includes('✅ published'));
  });

  it('stops at once on refused content, shows the reason and Retry, tells the author; Retry publishes', async () => {
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, body: /refuses/, times: 1, answer: { status: 422, body: { error: 'Validation failed: Text character limit of 500 exceeded' } } });
    const before = postsToStatuses();
    const { id, card } = await dueDraft('A post the server refuses once.');
    await settled(id, 'failed');
    expect(postsToStatuses() - before).toBe(1);
    const shown = await harness.waitFor(() => cardText(card)?.text.includes('❌ failed') && (cardText(card)?.buttons.length ?? 0) > 0 && cardText(card), 10_000);
    expect(shown.text).toContain('the network refused the post');
    expect(shown.buttons.map((b) => b.label)).toEqual(['Retry']);
    await harness.waitFor(() => harness.dmsTo(harness.users.member).find((m) => m.text.includes(id) && m.text.includes('refused the post')));
    await harness.clickButton(harness.users.member, card, shown.buttons[0]!.actionId);
    await settled(id, 'published');
    expect((await statusesOnServer()).filter((s) => s.content.includes('server refuses once'))).toHaveLength(1);
  });

  it('gives up on a network that keeps failing after the last attempt, and says so', async () => {
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, body: /strikes/, times: 3, answer: { status: 502, body: { error: 'Bad Gateway' } } });
    const { id, card } = await dueDraft('Three strikes for the gateway.');
    await settled(id, 'failed');
    const shown = await harness.waitFor(() => cardText(card)?.text.includes('❌ failed') && cardText(card));
    expect(shown.text).toContain('the network did not answer');
    expect((await statusesOnServer()).filter((s) => s.content.includes('Three strikes'))).toHaveLength(0);
  });

  it('fails a network with no connected account, and still publishes the others', async () => {
    const { id, card } = await dueDraft('Mastodon yes, Bluesky no.', 'mastodon,bluesky');
    await settled(id, 'failed');
    // The card settles once both networks are done: Mastodon's link, Bluesky's reason and the fixes.
    const shown = await harness.waitFor(() => cardText(card)?.text.includes('No Bluesky account is connected') && cardText(card)?.text.includes('✅ published') && (cardText(card)?.buttons.length ?? 0) > 0 && cardText(card), 10_000);
    expect(shown.buttons.map((b) => b.label)).toEqual(['Retry', 'Reconnect Bluesky']);
    expect((await statusesOnServer()).filter((s) => s.content.includes('Mastodon yes'))).toHaveLength(1);
  });

  it('a revoked token marks the account failing, tells the channel once, and offers Reconnect', async () => {
    proxy.inject({ method: 'POST', path: /^\/api\/v1\/statuses$/, body: /Token/, times: 2, answer: { status: 401, body: { error: 'The access token is invalid' } } });
    const first = await dueDraft('Token trouble one.');
    const second = await dueDraft('Token trouble two.');
    await settled(first.id, 'failed');
    await settled(second.id, 'failed');
    const shown = await harness.waitFor(() => cardText(first.card)?.text.includes('❌ failed') && (cardText(first.card)?.buttons.length ?? 0) > 0 && cardText(first.card), 10_000);
    expect(shown.buttons.map((b) => b.label)).toContain('Reconnect Mastodon');
    expect((await database.db.collection('accounts').findOne({ network: 'mastodon' }))?.health).toBe('failing');
    await new Promise((r) => setTimeout(r, 300));
    const alerts = harness.messagesIn(harness.channel).filter((m) => m.text.includes('stopped working'));
    expect(alerts).toHaveLength(1);
    // Reconnecting makes it healthy again.
    await harness.clickButton(harness.users.admin, first.card, shown.buttons.find((b) => b.label === 'Reconnect Mastodon')!.actionId);
    await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Connect Mastodon');
    await harness.submitOpenForm(harness.users.admin, { instanceUrl: proxy.url, accessToken: gts.account.accessToken });
    await eventually(async () => (await database.db.collection('accounts').findOne({ network: 'mastodon' }))?.health === 'ok');
  });

  it('pause holds every due post; resume publishes nothing until someone decides', async () => {
    await harness.runCommand(harness.users.approver, 'herald pause', { text: 'Crisis: hold everything' });
    await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes('Publishing paused by') && m.text.includes('Crisis: hold everything')));
    const before = postsToStatuses();
    const held = await dueDraft('Held during the crisis.');
    const later = await dueDraft('Held, then rescheduled.');
    const back = await dueDraft('Held, then back to review.');
    await eventually(() => database.db.collection('deliveries').findOne({ draftId: back.id, status: 'held' }));
    await eventually(() => database.db.collection('deliveries').findOne({ draftId: held.id, status: 'held' }));
    await harness.waitFor(() => cardText(held.card)?.text.includes('held by the pause'));
    await new Promise((r) => setTimeout(r, 500));
    expect(postsToStatuses()).toBe(before);

    await harness.runCommand(harness.users.member, 'herald resume');
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('Only admins and approvers')));
    await harness.runCommand(harness.users.approver, 'herald resume');
    const decision = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes(`Held: draft ${held.id}`)));
    expect(decision.buttons.map((b) => b.label)).toEqual(['Publish now', 'Reschedule', 'Return to draft']);
    await new Promise((r) => setTimeout(r, 500));
    expect(postsToStatuses()).toBe(before);
    await harness.clickButton(harness.users.approver, decision.ref, decision.buttons[0]!.actionId);
    await settled(held.id, 'published');
    expect((await statusesOnServer()).filter((s) => s.content.includes('Held during the crisis'))).toHaveLength(1);

    // Reschedule: the draft goes back to approved and the schedule form sets a new time.
    const laterCard = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes(`Held: draft ${later.id}`)));
    await harness.clickButton(harness.users.approver, laterCard.ref, laterCard.buttons[1]!.actionId);
    await harness.waitFor(() => harness.openFormTitle(harness.users.approver) === 'Schedule the draft');
    const when = new Date(Date.now() + 5 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    await harness.submitOpenForm(harness.users.approver, { when });
    const rescheduled = await eventually(() => database.db.collection('drafts').findOne({ _id: later.id as never, status: 'scheduled' }));
    expect((rescheduled.scheduledAt as Date).toISOString().slice(0, 16).replace('T', ' ')).toBe(when);
    // Return to draft: a new version that needs approval again.
    const backCard = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes(`Held: draft ${back.id}`)));
    await harness.clickButton(harness.users.approver, backCard.ref, backCard.buttons[2]!.actionId);
    await eventually(() => database.db.collection('drafts').findOne({ _id: back.id as never, status: 'pending', version: 2 }));
    await harness.waitFor(() => cardText(back.card)?.buttons.some((b) => b.label === 'Approve'));
    expect((await statusesOnServer()).filter((s) => /rescheduled|back to review/.test(s.content))).toHaveLength(0);
  });

  it('shows the calendar in the viewer’s own time zone and flags two posts on one account too close together', async () => {
    await harness.runCommand(harness.users.admin, 'herald settings', { timezone: 'Europe/Paris' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('time zone: Europe/Paris')));
    for (const [text, when] of [
      ['Calendar post A.', '2030-03-04 10:00'],
      ['Calendar post B.', '2030-03-04 10:20'],
      ['Calendar post C.', '2030-03-05 18:00'],
    ] as const) {
      await harness.runCommand(harness.users.member, 'draft new', { text, networks: 'mastodon', when });
      const doc = await eventually(() => database.db.collection('drafts').findOne({ text, card: { $exists: true } }));
      // 10:00 in Paris in March is 09:00 UTC.
      if (text === 'Calendar post A.') expect((doc.scheduledAt as Date).toISOString()).toBe('2030-03-04T09:00:00.000Z');
      await database.db.collection('drafts').updateOne({ _id: doc._id }, { $set: { status: 'scheduled' } });
    }
    // The calendar looks a week ahead: bring the posts into it, keeping their times of day.
    const inDays = async (days: number, text: string, hour: string) =>
      database.db.collection('drafts').updateOne({ text }, { $set: { scheduledAt: new Date(`${new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)}T${hour}:00Z`) } });
    await inDays(2, 'Calendar post A.', '09:00');
    await inDays(2, 'Calendar post B.', '09:20');
    await inDays(3, 'Calendar post C.', '17:00');
    // On Slack the viewer sees their own time zone (set for this member in beforeAll: Bucharest).
    await harness.runCommand(harness.users.member, 'herald calendar');
    const calendar = await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.startsWith('Scheduled posts (Europe/Bucharest)')));
    const lines = calendar.text.split('\n');
    const line = (name: string) => lines.find((l) => l.includes(name)) ?? '';
    expect(line('Calendar post A.')).toMatch(/^• 11:00 · /);
    expect(line('Calendar post A.')).toContain('less than 30 min from another post');
    expect(line('Calendar post B.')).toContain('less than 30 min from another post');
    expect(line('Calendar post C.')).toMatch(/^• 19:00 · /);
    expect(line('Calendar post C.')).not.toContain('less than 30 min');
    expect(line('Calendar post A.')).toContain(gts.account.username);
  });

  it('publishes the source message’s image with its alt text', async () => {
    const source = await harness.postMessage(harness.users.member, harness.channel, 'Our new window display.', [{ name: 'window.png', png: solidPng(48, 24), alt: 'The window display at dusk' }]);
    await harness.useShortcut(harness.users.member, source, 'draft-from-message');
    const doc = await eventually(() => database.db.collection('drafts').findOne({ text: 'Our new window display.', card: { $exists: true } })).catch((error: unknown) => {
      throw new Error(`no draft: ${harness.ephemeralsFor(harness.users.member).map((m) => m.text).slice(-2).join(' | ')}`, { cause: error });
    });
    const id = String(doc._id);
    const card = parseRef(String(doc.card))!;
    await harness.clickButton(harness.users.member, card, (await harness.waitFor(() => cardText(card)?.buttons.find((b) => b.label === 'Schedule'))).actionId);
    await harness.waitFor(() => harness.openFormTitle(harness.users.member) === 'Schedule the draft');
    await harness.submitOpenForm(harness.users.member, { when: new Date(Date.now() + 2 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ') });
    await eventually(() => database.db.collection('drafts').findOne({ _id: id as never, scheduledAt: { $exists: true } }));
    await harness.clickButton(harness.users.approver, card, (await harness.waitFor(() => cardText(card)?.buttons.find((b) => b.label === 'Approve'))).actionId);
    await harness.waitFor(() => cardText(card)?.text.includes('scheduled for'), 10_000);
    await herald.scheduler.now(JobNames.publishDue, { draftId: id });
    await settled(id, 'published');
    const status = (await statusesOnServer()).find((s) => s.content.includes('new window display')) as unknown as { media_attachments: { description: string; type: string }[] };
    expect(status.media_attachments).toHaveLength(1);
    expect(status.media_attachments[0]).toMatchObject({ type: 'image', description: 'The window display at dusk' });
  });

  it('"Add to queue" takes the next free posting slot of the account', async () => {
    await harness.runCommand(harness.users.admin, 'herald slots', { network: 'mastodon', times: 'mon-sun 08:00, 20:00' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.startsWith('Posting slots for mastodon')), 15_000);
    const queued: string[] = [];
    for (const text of ['Queued post one.', 'Queued post two.']) {
      await harness.runCommand(harness.users.member, 'draft new', { text, networks: 'mastodon' });
      const doc = await eventually(() => database.db.collection('drafts').findOne({ text, card: { $exists: true } }));
      const card = parseRef(String(doc.card))!;
      const more = await harness.waitFor(() => cardText(card)?.selects[0], 15_000);
      await harness.selectOption(harness.users.member, card, more.actionId, 'queue');
      const scheduled = await eventually(() => database.db.collection('drafts').findOne({ _id: doc._id, scheduledAt: { $exists: true } }));
      queued.push((scheduled.scheduledAt as Date).toISOString());
    }
    // Europe/Paris (set by the calendar test): 08:00 and 20:00 local; the second takes the slot after the first.
    const local = queued.map((iso) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }).format(new Date(iso)));
    for (const time of local) expect(['08:00', '20:00']).toContain(time);
    expect(new Date(queued[1]!).getTime()).toBeGreaterThan(new Date(queued[0]!).getTime());
    expect(new Date(queued[1]!).getTime() - new Date(queued[0]!).getTime()).toBeLessThanOrEqual(12 * 3_600_000);
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('takes the next free slot')), 15_000);
  });
});
