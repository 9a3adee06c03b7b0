import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import type { ConversationRef } from '../../src/chat/port.ts';
import { parseRef } from '../../src/chat/port.ts';
import type { Draft } from '../../src/core/draft.ts';
import { JobNames } from '../../src/jobs/names.ts';
import { allCommands } from '../../commands/index.ts';
import { allFlows } from '../../flows/index.ts';
import type { ChatHarness, ObservedMessage } from '../support/chat-harness.ts';
import { createDiscordHarness } from '../support/harness-discord.ts';
import { createSlackHarness } from '../support/harness-slack.ts';
import { createFakeOpenAI, type FakeOpenAI } from '../emulators/openai/server.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { scheduledJobs } from '../support/jobs.ts';
import { solidPng } from '../support/png.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

/**
 * The approval flow end to end, on each platform: Herald started from its configuration against the
 * platform's emulator, people acting through the emulator, outcomes read from the emulator and the
 * database.
 */
const platforms: [string, () => Promise<ChatHarness>][] = [
  ['slack', createSlackHarness],
  ['discord', createDiscordHarness],
];

for (const [platform, createHarness] of platforms) {
  describe(`approval flow on ${platform}`, () => {
    let harness: ChatHarness;
    let database: TestDatabase;
    let herald: Herald;
    let model: FakeOpenAI;

    const start = async (): Promise<Herald> => {
      const env = { ...harness.heraldEnv(), OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'sk-test', OPENAI_MODEL: 'fake-model' };
      const started = await startTestHerald({ dbName: database.name, flows: allFlows, commands: allCommands, env });
      await eventually(() => started.chat.all().every((a) => a.isReady()), 15_000);
      return started;
    };
    const restart = async (): Promise<void> => {
      await herald.stop();
      herald = await start();
    };

    beforeAll(async () => {
      // A model that writes one post per requested network: the source text, shortened.
      model = await createFakeOpenAI((request) => {
        const system = request.messages[0]?.content ?? '';
        const source = (request.messages[1]?.content ?? '').replace(/<\/?source_message>/g, '').trim();
        const wanted = [...system.matchAll(/^- (\w+): at most/gm)].map((m) => m[1]);
        return JSON.stringify({ variants: wanted.map((network) => ({ network, posts: [source.slice(0, 200)] })) });
      });
      harness = await createHarness();
      database = await openTestDatabase(`e2e_${platform}`);
      herald = await start();
      await harness.runCommand(harness.users.admin, 'herald policy', { approvers: harness.approverGroup, required: '2' });
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('Policy saved')));
      await harness.runCommand(harness.users.admin, 'herald settings', { networks: 'bluesky,x' });
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).find((m) => m.text.includes('default networks: bluesky, x')));
    }, 60_000);

    afterAll(async () => {
      await herald?.stop();
      await harness?.close();
      await database?.cleanup();
      await model?.close();
    });

    const drafts = () => database.db.collection('drafts');
    const latestDraft = async (author: string): Promise<Draft> => {
      const doc = await eventually(() => drafts().find({ authorId: author }).sort({ createdAt: -1 }).limit(1).next());
      const { _id, ...rest } = doc as unknown as Draft & { _id: string };
      return { ...rest, id: _id };
    };
    const cardOf = (draft: Draft): ConversationRef => parseRef(draft.card!)!;
    const cardShown = (ref: ConversationRef): ObservedMessage | undefined => harness.messagesIn({ ...ref, message: undefined } as ConversationRef).find((m) => m.ref.message === ref.message);
    const waitCard = (ref: ConversationRef, check: (m: ObservedMessage) => boolean) => harness.waitFor(() => { const m = cardShown(ref); return m && check(m) ? m : undefined; }, 10_000);
    const button = (ref: ConversationRef, label: string): string => {
      const found = cardShown(ref)?.buttons.find((b) => b.label === label);
      if (!found) throw new Error(`no ${label} button on the card: ${JSON.stringify(cardShown(ref)?.buttons)}`);
      return found.actionId;
    };
    const waitDraft = (id: string, check: (d: Record<string, unknown>) => boolean) => eventually(async () => { const d = await drafts().findOne({ _id: id as never }); return d && check(d) ? d : undefined; }, 10_000);

    it('message → shortcut → card → request changes → edit (diff in thread) → two approvals → scheduled, surviving restarts', async () => {
      const author = harness.users.member;
      const source = await harness.postMessage(author, harness.channel, 'Our autumn collection launches on Monday. Come see it at the Lyon store!');
      await harness.useShortcut(author, source, 'draft-from-message');
      const created = await latestDraft(author.user);
      await waitDraft(created.id, (d) => typeof d.card === 'string');
      const draft = await latestDraft(author.user);
      expect(draft.source).toContain(source.message);
      expect(draft.networks).toEqual(['bluesky', 'x']);
      const card = cardOf(draft);
      const shown = await waitCard(card, (m) => m.buttons.length > 0);
      expect(shown.text).toContain('Bluesky');
      expect(shown.text).toMatch(/\d+\/300/);
      expect(shown.text).toMatch(/\d+\/280/);
      expect(shown.buttons.map((b) => b.label)).toEqual(['Approve', 'Request changes', 'Edit', 'Schedule', 'Reject']);
      expect(draft.sourceLink).toBeTruthy();
      expect(shown.text).toContain(draft.sourceLink);
      expect(shown.text).toContain(`by ${draft.authorName}`);
      expect(shown.text).toContain('version 1');
      await restart();

      // Request changes: a form, a note in the card's thread, a DM to the author.
      await harness.clickButton(harness.users.approver, card, button(card, 'Request changes'));
      await harness.waitFor(() => harness.openFormTitle(harness.users.approver) === 'Request changes');
      await harness.submitOpenForm(harness.users.approver, { reason: 'facts', comment: 'The store is in Lyon Part-Dieu.' });
      await waitDraft(draft.id, (d) => d.status === 'changes_requested');
      await harness.waitFor(() => harness.threadOf(card).find((m) => m.text.includes('requested changes (Facts)')));
      await harness.waitFor(() => harness.dmsTo(author).find((m) => m.text.includes(draft.id) && m.text.includes('Lyon Part-Dieu')));
      await restart();

      // Edit: a new version and a word diff in the thread.
      await harness.clickButton(author, card, button(card, 'Edit'));
      await harness.waitFor(() => harness.openFormTitle(author) === 'Edit the draft');
      await harness.submitOpenForm(author, { text: 'Our autumn collection launches on Monday. Come see it at the Lyon Part-Dieu store!', networks: 'bluesky, x' });
      await waitDraft(draft.id, (d) => d.version === 2 && d.status === 'pending');
      const diff = await harness.waitFor(() => harness.threadOf(card).find((m) => m.text.includes('version 1 → 2')));
      expect(diff.text).toContain('Part-Dieu');
      await restart();

      // Schedule, then two approvals (admin and approver are both in the approver group).
      await harness.clickButton(author, card, button(card, 'Schedule'));
      await harness.waitFor(() => harness.openFormTitle(author) === 'Schedule the draft');
      const when = new Date(Date.now() + 3 * 86_400_000);
      await harness.submitOpenForm(author, { when: when.toISOString().slice(0, 16).replace('T', ' ') });
      await waitDraft(draft.id, (d) => d.scheduledAt instanceof Date);
      await harness.clickButton(harness.users.approver, card, button(card, 'Approve'));
      await waitCard(card, (m) => m.text.includes('approvals 1/2'));
      await restart();
      await harness.clickButton(harness.users.admin, card, button(card, 'Approve'));
      const done = await waitDraft(draft.id, (d) => d.status === 'scheduled');
      expect(done.decidedAt).toBeInstanceOf(Date);
      await waitCard(card, (m) => m.text.includes('scheduled for') && m.buttons.every((b) => b.label !== 'Approve'));
      const [job, ...others] = await scheduledJobs(database.db, { name: JobNames.publishDue, 'data.draftId': draft.id });
      expect(others).toHaveLength(0);
      expect(job?.nextRunAt.toISOString().slice(0, 16)).toBe(when.toISOString().slice(0, 16));
      expect(await scheduledJobs(database.db, { name: JobNames.approvalRemind, 'data.draftId': draft.id })).toHaveLength(0);
      expect(job?.data.at).toBe((done.scheduledAt as Date).toISOString());
      // A due job left over from a time the draft no longer has (a cancel that raced its move into
      // the queue) does nothing: the draft stays scheduled for its own time.
      await herald.scheduler.now(JobNames.publishDue, { draftId: draft.id, at: new Date(when.getTime() - 3_600_000).toISOString() });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect((await waitDraft(draft.id, () => true)).status).toBe('scheduled');

      // The audit trail: every transition, in order.
      await harness.runCommand(author, 'draft history', { text: draft.id });
      const history = await harness.waitFor(() => harness.ephemeralsFor(author).find((m) => m.text.includes(`History of draft ${draft.id}`)));
      const order = ['created', 'requested changes', 'edited', 'scheduled', 'approved'].map((a) => history.text.indexOf(a));
      expect(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!))).toBe(true);
    }, 90_000);

    /** A fresh draft by `author` through /draft, with its card on screen. */
    const newDraft = async (author = harness.users.member, options: Record<string, string> = {}): Promise<{ draft: Draft; card: ConversationRef }> => {
      const before = await drafts().countDocuments({ authorId: author.user });
      await harness.runCommand(author, 'draft new', { text: `Post ${before + 1} from ${author.user}: our stores open at nine.`, ...options });
      const draft = await eventually(async () => ((await drafts().countDocuments({ authorId: author.user })) > before ? latestDraft(author.user) : undefined));
      const withCard = await eventually(async () => (await drafts().findOne({ _id: draft.id as never, card: { $exists: true } })) && latestDraft(author.user));
      const card = cardOf(withCard);
      await waitCard(card, (m) => m.buttons.length > 0);
      return { draft: withCard, card };
    };
    const ephemeralSaying = (user: typeof harness.users.member, text: string) => harness.waitFor(() => harness.ephemeralsFor(user).find((m) => m.text.includes(text)), 10_000);
    const setPolicy = async (options: Record<string, string>) => {
      const before = harness.ephemeralsFor(harness.users.admin).filter((m) => m.text.includes('Policy saved')).length;
      await harness.runCommand(harness.users.admin, 'herald policy', options);
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).filter((m) => m.text.includes('Policy saved')).length > before);
    };

    it('refuses a person outside the approver group and audits the attempt', async () => {
      const { draft, card } = await newDraft(harness.users.approver);
      await harness.clickButton(harness.users.member, card, button(card, 'Approve'));
      await ephemeralSaying(harness.users.member, 'not an approver');
      const refusal = await eventually(() => database.db.collection('draft_audit').findOne({ draftId: draft.id, action: 'refused' }));
      expect(refusal).toMatchObject({ comment: 'approve: not_approver', actorId: harness.users.member.user });
      expect(await database.db.collection('approvals').countDocuments({ draftId: draft.id })).toBe(0);
    });

    it('forbids self-approval unless the policy allows it', async () => {
      const { draft, card } = await newDraft(harness.users.approver);
      await harness.clickButton(harness.users.approver, card, button(card, 'Approve'));
      await ephemeralSaying(harness.users.approver, 'approve their own drafts');
      expect(await database.db.collection('approvals').countDocuments({ draftId: draft.id })).toBe(0);
      await setPolicy({ self: 'allowed' });
      await harness.clickButton(harness.users.approver, card, button(card, 'Approve'));
      await eventually(async () => (await database.db.collection('approvals').countDocuments({ draftId: draft.id })) === 1);
      await setPolicy({ self: 'forbidden' });
    });

    it('counts a double click once, and two approvers clicking at once both', async () => {
      const { draft, card } = await newDraft();
      const approve = button(card, 'Approve');
      await Promise.all([harness.clickButton(harness.users.approver, card, approve), harness.clickButton(harness.users.approver, card, approve)]);
      await eventually(async () => (await database.db.collection('approvals').countDocuments({ draftId: draft.id })) === 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(await database.db.collection('approvals').countDocuments({ draftId: draft.id })).toBe(1);

      const second = await newDraft();
      const approveSecond = button(second.card, 'Approve');
      await Promise.all([harness.clickButton(harness.users.approver, second.card, approveSecond), harness.clickButton(harness.users.admin, second.card, approveSecond)]);
      await waitDraft(second.draft.id, (d) => d.status === 'approved');
      expect(await database.db.collection('approvals').countDocuments({ draftId: second.draft.id })).toBe(2);
      await new Promise((r) => setTimeout(r, 300));
      expect(await database.db.collection('draft_audit').countDocuments({ draftId: second.draft.id, action: 'approve', to: 'approved' })).toBe(1);
      await waitCard(second.card, (m) => m.text.includes('Approved by'));
    });

    it('refuses approval of an older version, and an edit resets approvals', async () => {
      const { draft, card } = await newDraft();
      const approveV1 = button(card, 'Approve');
      await harness.clickButton(harness.users.approver, card, approveV1);
      await waitCard(card, (m) => m.text.includes('approvals 1/2'));
      await harness.clickButton(harness.users.member, card, button(card, 'Edit'));
      await harness.waitFor(() => harness.openFormTitle(harness.users.member) === 'Edit the draft');
      await harness.submitOpenForm(harness.users.member, { text: 'A different text altogether.', networks: 'bluesky' });
      await waitDraft(draft.id, (d) => d.version === 2);
      await waitCard(card, (m) => m.text.includes('approvals 0/2') && m.text.includes('version 2'));
      // A person whose screen still shows version 1 clicks its Approve.
      await harness.clickStaleButton(harness.users.admin, card, approveV1);
      await ephemeralSaying(harness.users.admin, 'This card shows version 1, but the draft is now at version 2');
      expect(await database.db.collection('approvals').countDocuments({ draftId: draft.id, version: 2 })).toBe(0);
    });

    it('adds a second step for drafts labelled legal', async () => {
      await setPolicy({ 'label-step': `legal=${harness.mention(harness.users.admin)}` });
      const { draft, card } = await newDraft(harness.users.member, { labels: 'legal' });
      await harness.clickButton(harness.users.approver, card, button(card, 'Approve'));
      await waitCard(card, (m) => m.text.includes('approvals 1/2'));
      await harness.clickButton(harness.users.admin, card, button(card, 'Approve'));
      await waitCard(card, (m) => m.text.includes('approvals 0/1 (legal)'));
      expect((await drafts().findOne({ _id: draft.id as never }))?.status).toBe('pending');
      await harness.clickButton(harness.users.admin, card, button(card, 'Approve'));
      await waitDraft(draft.id, (d) => d.status === 'approved');
      const plain = await newDraft();
      await harness.clickButton(harness.users.approver, plain.card, button(plain.card, 'Approve'));
      await harness.clickButton(harness.users.admin, plain.card, button(plain.card, 'Approve'));
      await waitDraft(plain.draft.id, (d) => d.status === 'approved');
    });

    it('"any" needs one approval; "all" needs every eligible member of the group', async () => {
      await setPolicy({ required: 'any' });
      const one = await newDraft();
      await harness.clickButton(harness.users.approver, one.card, button(one.card, 'Approve'));
      await waitDraft(one.draft.id, (d) => d.status === 'approved');
      await setPolicy({ required: 'all' });
      // The author is in the group; excluded from "all", the one other member must approve.
      const own = await newDraft(harness.users.approver);
      await waitCard(own.card, (m) => m.text.includes('approvals 0/1'));
      const all = await newDraft();
      await waitCard(all.card, (m) => m.text.includes('approvals 0/2'));
      await setPolicy({ required: '2' });
    });

    it('does not publish a draft still pending at its time, and tells the author why', async () => {
      const when = new Date(Date.now() + 5 * 60_000).toISOString().slice(0, 16).replace('T', ' ');
      const { draft, card } = await newDraft(harness.users.member, { when });
      // Creation has finished scheduling its own due check once that job exists.
      await eventually(async () => (await scheduledJobs(database.db, { name: JobNames.publishDue, 'data.draftId': draft.id }))[0]);
      await herald.scheduler.now(JobNames.publishDue, { draftId: draft.id });
      await waitDraft(draft.id, (d) => d.status === 'expired');
      await harness.waitFor(() => harness.dmsTo(harness.users.member).find((m) => m.text.includes(draft.id) && m.text.includes('was not approved by')));
      await waitCard(card, (m) => m.text.includes('not approved in time') && m.buttons.length === 0);
    });

    it('answers bad input with a clear message and creates nothing', async () => {
      const author = harness.users.member;
      const before = await drafts().countDocuments();
      await harness.runCommand(author, 'draft new', { text: 'x'.repeat(3_001) });
      await ephemeralSaying(author, 'The draft has 3001 characters');
      await harness.runCommand(author, 'draft new', { text: 'Hello', networks: 'myspace' });
      await ephemeralSaying(author, 'does not know the network(s) myspace');
      await harness.runCommand(author, 'draft new', { text: 'Hello', when: '2020-01-01 10:00' });
      await ephemeralSaying(author, 'is in the past');
      await harness.runCommand(author, 'draft new', { text: 'Hello', when: 'next blue moon' });
      await ephemeralSaying(author, 'is not a time Herald understands');
      await harness.runCommand(author, 'draft new', { text: '   ' });
      await ephemeralSaying(author, 'The draft is empty');
      await harness.runCommand(author, 'draft new', { text: 'Look at this', networks: 'instagram' });
      await ephemeralSaying(author, 'Instagram posts need an image');
      expect(await drafts().countDocuments()).toBe(before);
      // Every command was timed from its arrival: the adapters feed herald_event_handling_seconds.
      const histogram = await herald.metrics.registry.getSingleMetricAsString('herald_event_handling_seconds');
      const count = new RegExp(`herald_event_handling_seconds_count\\{platform="${platform}",kind="command"\\} (\\d+)`).exec(histogram);
      expect(Number(count?.[1] ?? 0)).toBeGreaterThanOrEqual(6);
    });

    it('reminds approvers, escalates, and a decision cancels both', async () => {
      await setPolicy({ remind: '30', escalate: '90', 'escalate-to': harness.mention(harness.users.admin) });
      const { draft, card } = await newDraft();
      const remind = await eventually(async () => (await scheduledJobs(database.db, { name: JobNames.approvalRemind, 'data.draftId': draft.id }))[0]);
      expect(remind.nextRunAt.getTime() - Date.now()).toBeGreaterThan(25 * 60_000);
      await herald.scheduler.now(JobNames.approvalRemind, { draftId: draft.id, version: 1, escalate: false });
      await harness.waitFor(() => harness.threadOf(card).find((m) => m.text.startsWith('Reminder:') && m.text.includes(draft.id)));
      await harness.waitFor(() => harness.dmsTo(harness.users.approver).find((m) => m.text.startsWith('Reminder:') && m.text.includes(draft.id)));
      const escalation = await eventually(async () => (await scheduledJobs(database.db, { name: JobNames.approvalRemind, 'data.draftId': draft.id, 'data.escalate': true }))[0]);
      expect(escalation.nextRunAt.getTime() - Date.now()).toBeGreaterThan(55 * 60_000);
      await herald.scheduler.now(JobNames.approvalRemind, { draftId: draft.id, version: 1, escalate: true });
      await harness.waitFor(() => harness.dmsTo(harness.users.admin).find((m) => m.text.startsWith('Escalation:') && m.text.includes(draft.id)));
      await harness.clickButton(harness.users.admin, card, button(card, 'Reject'));
      await waitDraft(draft.id, (d) => d.status === 'rejected');
      await waitCard(card, (m) => m.text.includes('Rejected by') && m.buttons.length === 0);
      expect(await scheduledJobs(database.db, { name: JobNames.approvalRemind, 'data.draftId': draft.id })).toHaveLength(0);
      await setPolicy({ remind: '240', escalate: '480' });
    });

    it('assigns a draft to a writer, who finds it in /herald mine', async () => {
      const { draft, card } = await newDraft();
      await harness.selectOption(harness.users.admin, card, cardShown(card)!.selects[0]!.actionId, 'assign');
      await harness.waitFor(() => harness.openFormTitle(harness.users.admin) === 'Assign the draft');
      const due = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16).replace('T', ' ');
      await harness.submitOpenForm(harness.users.admin, { assignee: harness.users.approver.user, due });
      await waitDraft(draft.id, (d) => d.assigneeId === harness.users.approver.user);
      await harness.waitFor(() => harness.dmsTo(harness.users.approver).find((m) => m.text.includes(`assigned draft ${draft.id}`)));
      await harness.runCommand(harness.users.approver, 'herald mine');
      const mine = await ephemeralSaying(harness.users.approver, 'To write');
      expect(mine.text.split('To approve')[0]).toContain(draft.id);
      expect(mine.text.split('To approve')[1]).toContain(draft.id);
    });

    it('starts drafts from the draft reaction in a watched channel and from a mention', async () => {
      const answered = harness.ephemeralsFor(harness.users.admin).length;
      await harness.runCommand(harness.users.admin, 'herald settings', { watch: 'here', reaction: harness.platform === 'slack' ? 'memo' : '📝' });
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.admin).length > answered && harness.ephemeralsFor(harness.users.admin).at(-1)?.text.includes(`watched channels: ${harness.channel.channel}`));
      const message = await harness.postMessage(harness.users.member, harness.channel, 'Reaction-made draft: new opening hours from December.');
      await harness.react(harness.users.approver, message, harness.platform === 'slack' ? 'memo' : '📝');
      await harness.react(harness.users.admin, message, harness.platform === 'slack' ? 'memo' : '📝');
      const fromReaction = await eventually(() => drafts().findOne({ text: 'Reaction-made draft: new opening hours from December.' }));
      // Whoever reacted first is the author; the second reaction makes no second draft.
      expect([harness.users.approver.user, harness.users.admin.user]).toContain(fromReaction.authorId);
      await new Promise((r) => setTimeout(r, 500));
      expect(await drafts().countDocuments({ text: 'Reaction-made draft: new opening hours from December.' })).toBe(1);
      const mention = await harness.mentionBot(harness.users.member, harness.channel, 'draft Mention-made draft for Friday.');
      const fromMention = await eventually(() => drafts().findOne({ text: 'Mention-made draft for Friday.' }));
      expect(fromMention.source).toContain(mention.message);
      await harness.waitFor(() => harness.threadOf(mention).find((m) => m.text.includes(`Draft ${String(fromMention._id)} is ready`)));
    });

    it('brings a message’s images along, writes in the brand voice, and regenerates on request', async () => {
      await harness.runCommand(harness.users.admin, 'herald voice', { text: 'warm, brief, no jargon', avoid: 'synergy, disrupt' });
      await ephemeralSaying(harness.users.admin, 'Brand voice saved');
      const author = harness.users.member;
      const source = await harness.postMessage(author, harness.channel, 'New shop window for the holidays.', [{ name: 'window.png', png: solidPng(40, 20), alt: 'The shop window at night' }]);
      const calls = model.requests.length;
      await harness.useShortcut(author, source, 'draft-from-message');
      const draft = await eventually(async () => {
        const d = await drafts().findOne({ text: 'New shop window for the holidays.', card: { $exists: true } });
        return d ? latestDraft(author.user) : undefined;
      });
      expect(draft.images).toHaveLength(1);
      expect(draft.images[0]?.alt).toBe('The shop window at night');
      expect(draft.variants.map((v) => v.source)).toEqual(['model', 'model']);
      expect(model.requests.length).toBe(calls + 1);
      expect(model.requests.at(-1)?.messages[0]?.content).toContain('Brand voice: warm, brief, no jargon. Never use: synergy, disrupt.');
      const card = cardOf(draft);
      await waitCard(card, (m) => m.selects.length > 0);
      await harness.selectOption(harness.users.approver, card, cardShown(card)!.selects[0]!.actionId, 'regenerate');
      await waitDraft(draft.id, (d) => d.version === 2 && d.status === 'pending');
      expect(model.requests.length).toBe(calls + 2);
      await harness.waitFor(() => harness.threadOf(card).find((m) => m.text.includes('made version 2')));
    });
  });
}
