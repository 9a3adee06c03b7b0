import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allCommands } from '../../commands/index.ts';
import { encodeActionId } from '../../src/chat/action-id.ts';
import { createDispatcher, type ChatRoutes, type ConversationEvent } from '../../src/chat/dispatcher.ts';
import type { Message } from '../../src/chat/model.ts';
import type { ConversationRef } from '../../src/chat/port.ts';
import { createCommandRegistry, defineCommand, everyone, inGroup, type Command } from '../../src/chat/registry.ts';
import { UserError } from '../../src/core/errors.ts';
import type { ChatHarness } from '../support/chat-harness.ts';
import { createDiscordHarness } from '../support/harness-discord.ts';
import { createSlackHarness } from '../support/harness-slack.ts';
import { captureLogger } from '../support/log.ts';
import { testFlowContext } from '../support/context.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';
import { solidPng } from '../support/png.ts';

/**
 * One scenario set, run against both adapters through their platform emulators. A scenario that
 * passes on one platform and fails on the other is an adapter bug, never a reason to fork a flow.
 */
const platforms: [string, () => Promise<ChatHarness>][] = [
  ['slack', createSlackHarness],
  ['discord', createDiscordHarness],
];

for (const [platform, createHarness] of platforms) {
  describe(`chat contract on ${platform}`, () => {
    let harness: ChatHarness;
    let database: TestDatabase;
    const cards = new Map<string, ConversationRef>();
    const conversation: ConversationEvent[] = [];
    const capture = captureLogger('debug');
    let counter = 0;

    const demoCard = (id: string, status: string): Message => ({
      text: `Demo ${id}: ${status}`,
      card: {
        title: `Demo ${id}`,
        body: 'A card with every kind of action.',
        fields: [
          { label: 'Status', value: status, short: true },
          { label: 'Owner', value: 'Herald', short: true },
        ],
        context: `demo · ${status}`,
        actions: [
          { kind: 'button', actionId: encodeActionId({ flow: 'demo', action: 'approve', entityId: id }), label: 'Approve', style: 'primary' },
          { kind: 'button', actionId: encodeActionId({ flow: 'demo', action: 'edit', entityId: id }), label: 'Edit' },
          { kind: 'button', actionId: encodeActionId({ flow: 'demo', action: 'reject', entityId: id }), label: 'Reject', style: 'danger', confirm: { title: 'Reject?', text: 'This cannot be undone.', confirm: 'Reject', deny: 'Keep' } },
          { kind: 'button', actionId: encodeActionId({ flow: 'retired', action: 'go', entityId: id }), label: 'Old button' },
        ],
      },
    });

    const commands: Command[] = [
      ...allCommands,
      defineCommand({
        name: 'herald demo',
        description: 'Post a demo card',
        options: z.object({ label: z.string().max(20).optional().describe('A label') }),
        permission: everyone,
        async run({ chat, channel }) {
          const id = `d${++counter}`;
          cards.set(id, await chat.post(channel, demoCard(id, 'pending')));
        },
      }) as unknown as Command,
      defineCommand({
        name: 'herald secret',
        description: 'Only approvers may run this',
        options: z.object({}),
        permission: inGroup('APPROVER_GROUP'),
        async run({ chat, channel }) {
          await chat.post(channel, { text: 'secret ran' });
        },
      }) as unknown as Command,
      defineCommand({
        name: 'herald chart',
        description: 'Upload a chart in the thread of the last card',
        options: z.object({}),
        permission: everyone,
        async run({ chat }) {
          const ref = [...cards.values()].at(-1);
          if (!ref) throw new UserError('no_card', 'Post a demo card first.');
          const thread = await chat.reply(ref, { text: 'Chart below' });
          await chat.uploadFile(thread, { data: solidPng(64, 32), mimeType: 'image/png', alt: 'Engagement per day, flat', filename: 'chart.png', title: 'Engagement' });
        },
      }) as unknown as Command,
      defineCommand({
        name: 'herald boom',
        description: 'Fails on purpose',
        options: z.object({}),
        permission: everyone,
        async run() {
          throw new Error('database exploded');
        },
      }) as unknown as Command,
    ];

    beforeAll(async () => {
      harness = await createHarness();
      const routes: ChatRoutes = {
        registry: createCommandRegistry(commands.map((c) => (c.name === 'herald secret' ? { ...c, permission: inGroup(harness.approverGroup) } : c))),
        actions: {
          demo: async (event, id, chat) => {
            const ref = cards.get(id.entityId);
            if (!ref) throw new UserError('gone', 'That card is gone.');
            if (id.action === 'approve') await chat.update(ref, { text: `Approved by ${event.actor.name}`, card: { title: `Demo ${id.entityId}`, context: `Approved by ${event.actor.name}` } });
            if (id.action === 'edit') {
              await event.respond.openForm({
                id: encodeActionId({ flow: 'demo', action: 'save', entityId: id.entityId }),
                title: 'Edit the demo',
                submitLabel: 'Save',
                fields: [
                  { kind: 'text', id: 'title', label: 'Title', required: true, maxLength: 40 },
                  { kind: 'text', id: 'body', label: 'Body', multiline: true, required: false },
                ],
              });
            }
          },
        },
        forms: {
          demo: async (event, id, chat) => {
            const parsed = z.object({ title: z.string().min(3, 'at least 3 characters').refine((t) => !/forbidden/i.test(t), 'must not say forbidden') }).safeParse(event.values);
            if (!parsed.success) return { errors: Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message])) };
            const ref = cards.get(id.entityId);
            if (ref) await chat.reply(ref, { text: `Saved: ${parsed.data.title}` });
            return undefined;
          },
        },
        listeners: [
          async (event) => {
            conversation.push(event);
          },
        ],
      };
      database = await openTestDatabase('contract');
      const app = await testFlowContext(database.db, { log: capture.log, adapters: [harness.adapter] });
      const dispatch = createDispatcher(routes, { log: capture.log, app });
      await harness.adapter.registerCommands(routes.registry.declarations(), []);
      await harness.adapter.start(dispatch(harness.adapter));
    });

    afterAll(async () => {
      await harness.adapter.stop();
      await harness.close();
      await database.cleanup();
    });

    const lastCard = async (): Promise<ConversationRef> => {
      const before = cards.size;
      await harness.runCommand(harness.users.member, 'herald demo');
      return harness.waitFor(() => cards.size > before && [...cards.values()].at(-1));
    };

    it('answers a command with a card', async () => {
      const ref = await lastCard();
      const shown = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.ref.message === ref.message));
      expect(shown.text).toContain('Demo');
      expect(shown.text).toContain('Status');
      expect(shown.buttons.map((b) => b.label)).toEqual(['Approve', 'Edit', 'Reject', 'Old button']);
      expect(shown.buttons[0]?.actionId).toMatch(/^demo:approve:d\d+$/);
    });

    it('updates the card in place when its button is clicked', async () => {
      const ref = await lastCard();
      const card = harness.messagesIn(harness.channel).find((m) => m.ref.message === ref.message);
      await harness.clickButton(harness.users.approver, ref, card!.buttons[0]!.actionId);
      const updated = await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.ref.message === ref.message && m.text.includes('Approved by')));
      expect(updated.edited).toBe(true);
      expect(updated.buttons).toEqual([]);
      expect(harness.messagesIn(harness.channel).filter((m) => m.ref.message === ref.message)).toHaveLength(1);
    });

    it('opens a form and delivers its submission validated', async () => {
      const ref = await lastCard();
      const card = harness.messagesIn(harness.channel).find((m) => m.ref.message === ref.message)!;
      const user = harness.users.admin;
      await harness.clickButton(user, ref, card.buttons[1]!.actionId);
      await harness.waitFor(() => harness.openFormTitle(user) === 'Edit the demo');
      await harness.submitOpenForm(user, { title: 'forbidden words', body: 'x' });
      const errors = harness.openFormErrors(user);
      if (errors) {
        await harness.waitFor(() => harness.openFormErrors(user)?.title);
        expect(harness.openFormErrors(user)?.title).toBe('must not say forbidden');
        await harness.submitOpenForm(user, { title: 'A fine title', body: 'x' });
      } else {
        // Platforms that close the form answer the person with the problem instead.
        await harness.waitFor(() => harness.ephemeralsFor(user).find((m) => m.text.includes('must not say forbidden')));
        await harness.clickButton(user, ref, card.buttons[1]!.actionId);
        await harness.waitFor(() => harness.openFormTitle(user) === 'Edit the demo');
        await harness.submitOpenForm(user, { title: 'A fine title', body: 'x' });
      }
      const saved = await harness.waitFor(() => harness.threadOf(ref).find((m) => m.text.includes('Saved: A fine title')));
      expect(saved).toBeDefined();
      expect(harness.threadOf(ref).filter((m) => m.text.includes('Saved:'))).toHaveLength(1);
    });

    it('hands a thread reply to the handler with its parent ref', async () => {
      const ref = await lastCard();
      await harness.runCommand(harness.users.member, 'herald chart');
      await harness.waitFor(() => harness.threadOf(ref).length > 0);
      await harness.replyInThread(harness.users.member, ref, 'What do we think?');
      const event = await harness.waitFor(() => conversation.find((e) => e.type === 'thread-reply' && e.text.includes('What do we think?')));
      expect(event.type === 'thread-reply' && event.parent.message).toBe(ref.message);
      expect(event.type === 'thread-reply' && event.parent.channel).toBe(ref.channel);
      expect(event.actor.ref.user).toBe(harness.users.member.user);
    });

    it('lands an uploaded image in the card’s thread with its alt text', async () => {
      const ref = await lastCard();
      await harness.runCommand(harness.users.member, 'herald chart');
      const withImage = await harness.waitFor(() => harness.threadOf(ref).find((m) => m.images.length > 0));
      expect(withImage.images[0]).toMatchObject({ alt: 'Engagement per day, flat' });
      expect(withImage.images[0]!.bytes).toBe(solidPng(64, 32).length);
    });

    it('refuses a person without the required permission with a message only they see', async () => {
      await harness.runCommand(harness.users.member, 'herald secret');
      const refusal = await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('/herald secret')));
      expect(refusal.text).toContain(`to be in ${harness.approverGroup}`);
      expect(harness.messagesIn(harness.channel).some((m) => m.text === 'secret ran')).toBe(false);
      await harness.runCommand(harness.users.approver, 'herald secret');
      await harness.waitFor(() => harness.messagesIn(harness.channel).find((m) => m.text === 'secret ran'));
      const line = capture.lines().find((l) => l.msg === 'command refused: missing permission');
      expect(line).toMatchObject({ level: 'warn', command: 'herald secret', user: harness.users.member.user });
    });

    it('waits out a 429 from the platform and delivers the message once', async () => {
      const hitsBefore = harness.rateLimitHits();
      harness.rateLimitPosts(1, 1);
      const started = Date.now();
      const ref = await lastCard();
      expect(harness.rateLimitHits()).toBe(hitsBefore + 1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(harness.messagesIn(harness.channel).filter((m) => m.ref.message === ref.message)).toHaveLength(1);
    });

    it('lists in help only the commands the person may run, and answers ping', async () => {
      await harness.runCommand(harness.users.member, 'herald help');
      const help = await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('Herald commands you can run')));
      expect(help.text).toContain('/herald ping');
      expect(help.text).not.toContain('/herald secret');
      await harness.runCommand(harness.users.approver, 'herald help');
      const approverHelp = await harness.waitFor(() => harness.ephemeralsFor(harness.users.approver).find((m) => m.text.includes('Herald commands you can run')));
      expect(approverHelp.text).toContain('/herald secret');
      await harness.runCommand(harness.users.member, 'herald ping');
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.startsWith('Pong!')));
    });

    it('answers a stale button with a clear message and changes nothing', async () => {
      const ref = await lastCard();
      const card = harness.messagesIn(harness.channel).find((m) => m.ref.message === ref.message)!;
      await harness.clickButton(harness.users.member, ref, card.buttons[3]!.actionId);
      await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('no longer active')));
      expect(harness.messagesIn(harness.channel).find((m) => m.ref.message === ref.message)?.edited).toBe(false);
      expect(capture.lines().find((l) => l.msg === 'unknown or stale action' && l.action === card.buttons[3]!.actionId)).toMatchObject({ level: 'info', user: harness.users.member.user });
    });

    it('answers an internal failure with a reference, logs it, and keeps working', async () => {
      await harness.runCommand(harness.users.member, 'herald boom');
      const answer = await harness.waitFor(() => harness.ephemeralsFor(harness.users.member).find((m) => m.text.includes('reference')));
      const reference = /reference ([0-9a-f]{8})/.exec(answer.text)?.[1];
      expect(reference).toBeDefined();
      expect(capture.lines().find((l) => l.msg === 'event handling failed' && l.reference === reference)).toMatchObject({ level: 'error' });
      expect(answer.text).not.toContain('database exploded');
    });

    it('survives a malformed interaction payload and still serves the next command', async () => {
      await harness.sendRawInteraction({ type: 'nonsense', payload: { nothing: true } });
      await harness.sendRawInteraction({ type: 3, data: null });
      await lastCard();
    });
  });
}
