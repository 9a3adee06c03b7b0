import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.ts';
import { observeItems } from '../../flows/crisis.ts';
import { allFlows } from '../../flows/index.ts';
import type { Herald } from '../../src/app.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { Sentiment } from '../../src/core/inbox.ts';
import { JobNames } from '../../src/jobs/names.ts';
import type { Account } from '../../src/store/accounts.ts';
import type { Incident } from '../../src/store/crisis.ts';
import { itemIdFor, type StoredItem } from '../../src/store/inbox.ts';
import type { ObservedMessage } from '../support/chat-harness.ts';
import { createSlackHarness, type SlackHarness } from '../support/harness-slack.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { makeDue, scheduledJobs } from '../support/jobs.ts';
import { captureLogger } from '../support/log.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * Crisis detection and on-call on Slack, with an injected clock and replayed item timelines: four
 * weeks of ordinary traffic are counted first, then pages of items go through observeItems (what
 * the inbox calls after storing a page) at the times the clock is set to. The clock stands two
 * weeks ahead of real time, so no scheduled step fires by itself: a step "arrives" when the test
 * makes its job due, as time would.
 */

function movableClock(): Clock & { set(at: Date): void } {
  let now = new Date();
  return { now: () => new Date(now), set: (at) => (now = at) };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('crisis detection and on-call', () => {
  let harness: SlackHarness;
  let database: TestDatabase;
  let herald: Herald;
  let account: Account;
  const clock = movableClock();
  const captured = captureLogger('info');
  const encryptionKey = randomBytes(32).toString('hex');
  // A Monday 12:00 UTC at least two weeks ahead.
  const start = new Date(Date.now() + 14 * 86_400_000);
  start.setUTCDate(start.getUTCDate() + ((8 - start.getUTCDay()) % 7));
  start.setUTCHours(12, 0, 0, 0);
  let serial = 0;

  const boot = (): Promise<Herald> =>
    startTestHerald({ dbName: database.name, flows: allFlows, commands: allCommands, clock, log: captured.log, env: { ...harness.heraldEnv(), HERALD_ENCRYPTION_KEY: encryptionKey, CHAT_MESSAGES_PER_SECOND: '20' } });
  const incidents = () => database.db.collection<Incident & { _id: string }>('incidents');
  const cards = (): ObservedMessage[] => harness.messagesIn(harness.channel).filter((m) => m.text.includes('Incident inc-'));
  const cardOf = (id: string): ObservedMessage | undefined => cards().find((m) => m.text.includes(id));
  const button = (card: ObservedMessage, label: string): string => card.buttons.find((b) => b.label === label)!.actionId;
  const pages = (user: SlackHarness['users']['member']): ObservedMessage[] => harness.dmsTo(user).filter((m) => m.text.includes('You are on call'));
  const says = (user: SlackHarness['users']['member'], text: string): Promise<ObservedMessage> => harness.waitFor(() => harness.ephemeralsFor(user).find((m) => m.text.includes(text)), 10_000);
  /** Time arrives for a scheduled step: its job becomes due now, as it would when the clock got there. */
  const arrive = async (incidentId: string, step: number): Promise<void> => {
    expect(await makeDue(herald, database.db, { name: JobNames.crisisPage, 'data.incidentId': incidentId, 'data.step': step })).toBe(1);
  };
  /** No escalation step due or running. */
  const settled = (): Promise<unknown> =>
    eventually(async () => {
      const steps = await scheduledJobs(database.db, { name: JobNames.crisisPage });
      return steps.every((job) => !job.lockedAt && (job.lastFinishedAt || !job.nextRunAt || (job.nextRunAt as Date).getTime() > Date.now()));
    }, 15_000);

  /** A page of items the inbox stored at `at`, observed as the inbox would. */
  async function replay(at: Date, counts: Partial<Record<Sentiment, number>>, extra: Partial<StoredItem> = {}): Promise<StoredItem[]> {
    clock.set(at);
    const items: StoredItem[] = [];
    for (const sentiment of ['negative', 'neutral', 'positive'] as const) {
      for (let i = 0; i < (counts[sentiment] ?? 0); i += 1) {
        serial += 1;
        const remoteId = `x-${serial}`;
        items.push({
          id: itemIdFor('x', remoteId),
          remoteId,
          kind: 'mention',
          author: { handle: `fan${serial}`, followers: 10 },
          text: sentiment === 'negative' ? `terrible service, item ${serial}` : sentiment === 'positive' ? `love it ${serial}` : `a question ${serial}`,
          url: `https://x.example/status/${remoteId}`,
          createdAt: at,
          workspace: account.workspace,
          accountId: account.id,
          network: 'x',
          receivedAt: at,
          labels: { sentiment, urgency: 'normal', topic: 'other', language: 'en', source: 'lexicon' },
          vip: false,
          conversationId: `c-${serial.toString(16).padStart(12, '0')}`,
          starts: true,
          channel: harness.channel.channel,
          delivery: 'carded',
          ...extra,
        });
      }
    }
    await herald.stores.inbox.insertItems(items);
    await observeItems(herald.context, account, await herald.stores.settings.get(account.workspace), items, captured.log);
    await settled();
    return items;
  }

  beforeAll(async () => {
    [harness, database] = await Promise.all([createSlackHarness(), openTestDatabase('crisis_flow')]);
    clock.set(new Date(start.getTime() - 29 * 86_400_000));
    herald = await boot();
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    account = await herald.stores.accounts.connect({ workspace: `slack:${harness.channel.workspace}`, network: 'x', handle: 'brand', connectedBy: harness.users.admin.user, credentials: { token: 'not-used' } });
    await harness.runCommand(harness.users.admin, 'herald settings', { approvals: 'here' });
    await says(harness.users.admin, 'Approvals channel');
    await harness.runCommand(harness.users.admin, 'herald crisis', { action: 'channel' });
    await says(harness.users.admin, 'Crisis channel');
    await harness.runCommand(harness.users.admin, 'herald crisis', { action: 'watch', phrase: 'Data Breach' });
    await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('“Data Breach”')), 10_000);
    // The approver is on call this week, the admin next; the approver group is paged on escalation.
    await harness.runCommand(harness.users.admin, 'herald oncall', {
      people: `${harness.mention(harness.users.approver)},${harness.mention(harness.users.admin)}`,
      handover: '09:00',
      every: '7',
      timezone: 'Europe/Bucharest',
      ack: '10',
      escalation: `@${harness.approverGroup}`,
    });
    await says(harness.users.admin, 'On call:');
    // Four weeks of an ordinary rhythm: busy days, quiet nights.
    const history: { at: Date; sentiment: Sentiment }[] = [];
    for (let hour = start.getTime() - 28 * 86_400_000; hour < start.getTime() - HOUR; hour += HOUR) {
      const day = new Date(hour).getUTCHours() >= 7 && new Date(hour).getUTCHours() < 21;
      const mix: [Sentiment, number][] = day ? [['negative', 2], ['neutral', 10], ['positive', 6]] : [['neutral', 1], ['positive', 1]];
      for (const [sentiment, count] of mix) for (let i = 0; i < count; i += 1) history.push({ at: new Date(hour + ((i * 7) % 60) * MINUTE), sentiment });
    }
    await herald.stores.crisis.recordVolumes(account.id, history);
  }, 120_000);

  afterAll(async () => {
    await herald?.stop();
    await harness?.close();
    await database?.cleanup();
  });

  it('ordinary traffic and a positive spike page no one; a negative spike opens one incident and pages the person on call', async () => {
    for (const minutes of [-40, -30, -20, -10]) await replay(new Date(start.getTime() + minutes * MINUTE), { neutral: 2, positive: 1 });
    await replay(start, { positive: 45, neutral: 6, negative: 1 });
    await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes('Trending on brand')), 10_000);
    expect(await incidents().countDocuments()).toBe(0);
    expect(pages(harness.users.approver)).toHaveLength(0);

    await replay(new Date(start.getTime() + 20 * MINUTE), { negative: 25, neutral: 2 });
    await replay(new Date(start.getTime() + 25 * MINUTE), { negative: 20, neutral: 1 });
    const incident = await eventually(() => incidents().findOne({}), 10_000);
    expect(await incidents().countDocuments()).toBe(1);
    expect(incident.kinds).toEqual(['spike']);
    const card = await harness.waitFor(() => cardOf(incident._id), 10_000);
    expect(card.text).toContain('negative spike');
    // Volume against the baseline, the sentiment split, and examples with their links.
    expect(card.text).toMatch(/\d+ negative in 10 min, [\d.]+ expected \(×\d+\.\d\)/);
    expect(card.text).toMatch(/\d+ negative · \d+ neutral · \d+ positive/);
    expect(card.text).toContain('terrible service');
    expect(card.text).toContain('https://x.example/status/');
    expect(card.buttons.map((b) => b.label)).toEqual(['Acknowledge', 'Escalate', 'Pause all publishing', 'Draft holding statement', 'Resolve']);
    const page = await harness.waitFor(() => pages(harness.users.approver)[0], 10_000);
    expect(page.text).toContain(incident._id);
    expect(pages(harness.users.admin)).toHaveLength(0);
    const thread = await harness.waitFor(() => harness.threadOf(card.ref).length >= 2 && harness.threadOf(card.ref), 10_000);
    expect(thread.map((m) => m.text).join('\n')).toMatch(/Signal: \d+ negative items in \d+ min on brand/);
    const paged = thread.find((m) => m.text.includes('Paged'))!;
    expect(paged.text).toContain(`Paged <@${harness.users.approver.user}> (step 0)`);
    expect(paged.pinged).toEqual([harness.users.approver.user]);
    // The next step waits for the acknowledgement time (10 min) from the page.
    const [next] = await scheduledJobs(database.db, { name: JobNames.crisisPage, 'data.incidentId': incident._id, 'data.step': 1 });
    expect(next?.nextRunAt.toISOString()).toBe(new Date(start.getTime() + 30 * MINUTE).toISOString());
  }, 90_000);

  it('without an acknowledgement the next person and the escalation group are paged; an acknowledgement stops the chain', async () => {
    const incident = (await incidents().findOne({ status: 'open' }))!;
    clock.set(new Date(start.getTime() + 30 * MINUTE));
    await arrive(incident._id, 1);
    await harness.waitFor(() => pages(harness.users.admin)[0], 10_000);
    await harness.waitFor(() => pages(harness.users.approver).length === 2, 10_000);
    const card = cardOf(incident._id)!;
    await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes('(step 1)')), 10_000);

    // Someone outside the rotation, the escalation people, the approvers and the admins cannot act.
    await harness.clickButton(harness.users.member, card.ref, button(card, 'Acknowledge'));
    await says(harness.users.member, 'Only the on-call rotation');
    await harness.clickButton(harness.users.admin, card.ref, button(card, 'Acknowledge'));
    await harness.waitFor(() => cardOf(incident._id)?.text.includes('Acknowledged by'), 10_000);
    expect((await incidents().findOne({ _id: incident._id }))?.status).toBe('acknowledged');
    expect(cardOf(incident._id)!.buttons.map((b) => b.label)).not.toContain('Acknowledge');

    const before = [pages(harness.users.admin).length, pages(harness.users.approver).length];
    clock.set(new Date(start.getTime() + 40 * MINUTE));
    await arrive(incident._id, 2);
    await settled();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect([pages(harness.users.admin).length, pages(harness.users.approver).length]).toEqual(before);
    expect(await scheduledJobs(database.db, { name: JobNames.crisisPage, 'data.incidentId': incident._id, 'data.step': 3 })).toHaveLength(0);
  }, 60_000);

  it('a holding statement goes to the approvals channel marked urgent; pause holds publishing; resolve asks for the cause and stores the summary', async () => {
    const incident = (await incidents().findOne({ status: 'acknowledged' }))!;
    const card = cardOf(incident._id)!;
    await harness.clickButton(harness.users.approver, card.ref, button(card, 'Draft holding statement'));
    const draft = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text.includes('We have seen your messages')), 10_000);
    const stored = await eventually(() => database.db.collection('drafts').findOne({ labels: incident._id }), 10_000);
    expect(stored.urgent).toBe(true);
    expect(draft.buttons.map((b) => b.label)).toContain('Approve');
    await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes(`draft ${String(stored._id)} awaits approval`)), 10_000);

    await harness.clickButton(harness.users.admin, card.ref, button(card, 'Pause all publishing'));
    await eventually(async () => (await herald.stores.settings.get(`slack:${harness.channel.workspace}`)).paused?.reason === `incident ${incident._id}`, 10_000);
    await harness.waitFor(() => harness.threadOf(card.ref).find((m) => m.text.includes('paused all publishing')), 10_000);

    clock.set(new Date(start.getTime() + 90 * MINUTE));
    await harness.clickButton(harness.users.admin, card.ref, button(card, 'Resolve'));
    await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Resolve the incident', 10_000);
    await harness.submitOpenForm(harness.users.admin, { cause: 'A courier strike delayed every parcel' });
    await harness.waitFor(() => cardOf(incident._id)?.text.includes('Resolved by'), 10_000);
    const resolved = (await incidents().findOne({ _id: incident._id }))!;
    expect(resolved.status).toBe('resolved');
    expect(resolved.summary).toMatchObject({ timeToAcknowledgeMs: 10 * MINUTE, timeToResolveMs: 70 * MINUTE, cause: 'A courier strike delayed every parcel', actions: ['holding-statement', 'paused'] });
    expect(resolved.summary?.pages).toBe(3);
    const timeline = await herald.stores.crisis.timeline(incident._id);
    expect(timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['signal', 'page', 'escalated', 'acknowledged', 'action', 'resolved']));
    expect(cardOf(incident._id)!.buttons).toHaveLength(0);
    await harness.runCommand(harness.users.admin, 'herald resume');
  }, 60_000);

  it('a watchlist phrase opens a new incident, a VIP complaint joins it, and a restart between page and escalation still escalates once', async () => {
    const base = start.getTime() + 3 * HOUR;
    await replay(new Date(base), { neutral: 1 }, { text: 'Was there a data breach? My card was charged twice' });
    const incident = await eventually(() => incidents().findOne({ status: 'open' }), 10_000);
    expect(incident.kinds).toEqual(['watchlist']);
    await harness.waitFor(() => pages(harness.users.approver).find((m) => m.text.includes(incident._id)), 10_000);

    // A negative message from a VIP joins the open incident; a friendly one from the same VIP raises nothing.
    await replay(new Date(base + 5 * MINUTE), { positive: 1 }, { author: { handle: 'bigcritic', followers: 200 }, vip: true });
    expect((await incidents().findOne({ _id: incident._id }))?.kinds).toEqual(['watchlist']);
    await replay(new Date(base + 6 * MINUTE), { negative: 1 }, { author: { handle: 'bigcritic', followers: 200 }, vip: true });
    await eventually(async () => (await incidents().findOne({ _id: incident._id }))?.kinds.includes('vip'), 10_000);
    expect(await incidents().countDocuments({ status: 'open' })).toBe(1);
    await harness.waitFor(() => cardOf(incident._id)?.text.includes('VIP complaint'), 10_000);

    // Restart while step 1 waits.
    await herald.stop();
    herald = await boot();
    await eventually(() => herald.chat.all().every((a) => a.isReady()), 15_000);
    const before = pages(harness.users.admin).filter((m) => m.text.includes(incident._id)).length;
    clock.set(new Date(base + 10 * MINUTE));
    await arrive(incident._id, 1);
    await harness.waitFor(() => pages(harness.users.admin).filter((m) => m.text.includes(incident._id)).length === before + 1, 10_000);
    // The same step again (a redelivered job) pages nobody twice.
    await herald.scheduler.now(JobNames.crisisPage, { incidentId: incident._id, step: 1, manual: false });
    await settled();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(pages(harness.users.admin).filter((m) => m.text.includes(incident._id))).toHaveLength(before + 1);
    expect(await scheduledJobs(database.db, { name: JobNames.crisisPage, 'data.incidentId': incident._id, 'data.step': 2 })).toHaveLength(1);
  }, 90_000);

  it('a negative message from a VIP or a high-reach author opens an incident on its own; a negative one from anyone else does not', async () => {
    const open = (await incidents().findOne({ status: 'open' }))!;
    const card = cardOf(open._id)!;
    await harness.clickButton(harness.users.admin, card.ref, button(card, 'Resolve'));
    await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Resolve the incident', 10_000);
    await harness.submitOpenForm(harness.users.admin, { cause: 'A false rumour' });
    await eventually(async () => (await incidents().findOne({ _id: open._id }))?.status === 'resolved', 10_000);

    const base = start.getTime() + 5 * HOUR;
    await replay(new Date(base), { negative: 1 }, { author: { handle: 'someone', followers: 300 } });
    expect(await incidents().countDocuments({ status: { $ne: 'resolved' } })).toBe(0);
    await replay(new Date(base + MINUTE), { negative: 1 }, { author: { handle: 'bigcritic', followers: 300 }, vip: true });
    const vip = await eventually(() => incidents().findOne({ status: 'open' }), 10_000);
    expect(vip.kinds).toEqual(['vip']);
    await harness.waitFor(() => cardOf(vip._id)?.text.includes('VIP complaint'), 10_000);

    await herald.stores.crisis.transition(vip._id, ['open'], { status: 'resolved' });
    await herald.stores.crisis.releaseOpen(vip.workspace, vip._id);
    await replay(new Date(base + 2 * MINUTE), { negative: 1 }, { author: { handle: 'famous', followers: 2_000_000 } });
    const reach = await eventually(() => incidents().findOne({ status: 'open' }), 10_000);
    expect(reach.kinds).toEqual(['reach']);
    await harness.waitFor(() => harness.threadOf(cardOf(reach._id)!.ref).find((m) => m.text.includes('high-reach author @famous')), 10_000);
  }, 60_000);

  it('past retention, timelines and samples go and counts older than six weeks too; the summaries stay', async () => {
    expect(await database.db.collection('incident_events').countDocuments()).toBeGreaterThan(0);
    clock.set(new Date(start.getTime() + 31 * 86_400_000));
    await herald.scheduler.now(JobNames.crisisPurge, { weeks: 6, retentionDays: 30 });
    await eventually(async () => (await database.db.collection('incident_events').countDocuments()) === 0, 10_000);
    expect(await incidents().countDocuments({ samples: { $ne: [] } })).toBe(0);
    expect((await incidents().findOne({ 'summary.cause': 'A courier strike delayed every parcel' }))?.summary?.timeToResolveMs).toBe(70 * MINUTE);
    // Counting started 29 days before `start`; at `start` + 31 days everything before + 31 − 42 days is gone.
    const weeks = await database.db.collection<{ weekStart: Date }>('crisis_volumes').find({}).toArray();
    expect(weeks.length).toBeGreaterThan(0);
    expect(weeks.every((week) => week.weekStart.getTime() >= start.getTime() + 31 * 86_400_000 - 7 * 7 * 86_400_000)).toBe(true);
    expect(captured.lines().some((line) => line.msg === 'crisis counts and incident timelines past retention deleted' && Number(line.volumes) > 0)).toBe(true);
  }, 30_000);
});
