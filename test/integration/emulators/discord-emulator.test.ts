/**
 * Proves the Discord emulator against a REAL discord.js 14 Client: gateway login, caches, commands, interactions,
 * modals, threads, DMs, uploads, rate limits, outages and validation.
 */
import '@slack/bolt'; // loads Bolt's newer undici in the same process, like Herald does
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { RESTOptions } from '@discordjs/rest';
import {
  ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, Client, DiscordAPIError, Events, GatewayIntentBits,
  IntentsBitField, LabelBuilder, MessageFlags, ModalBuilder, Routes, StringSelectMenuBuilder, TextInputBuilder, TextInputStyle,
} from 'discord.js';
import type { Interaction, Message, TextChannel } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createDiscordEmulator } from '../../emulators/discord/index.ts';
import type { DiscordEmulator, DiscordEmulatorOptions } from '../../emulators/discord/index.ts';

// discord.js REST gets its own dispatcher from the undici copy @discordjs/rest depends on, so Bolt's undici
// (which may be the process-wide dispatcher) never handles discord.js' FormData uploads.
const restRequire = createRequire(createRequire(import.meta.url).resolve('@discordjs/rest'));
const { Agent } = restRequire('undici') as { Agent: new () => NonNullable<RESTOptions['agent']> & { close(): Promise<void> } };

const intents = [
  GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent,
  GatewayIntentBits.GuildMessageReactions, GatewayIntentBits.DirectMessages,
];
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let emulator: DiscordEmulator;
let agent: InstanceType<typeof Agent>;
const clients: Client[] = [];

async function start(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
  emulator = await createDiscordEmulator(options);
  return emulator;
}

function newClient(): Client {
  const client = new Client({ intents, rest: { api: emulator.apiUrl, agent } });
  clients.push(client);
  return client;
}

async function login(): Promise<Client<true>> {
  const client = newClient();
  const ready = once(client, Events.ClientReady);
  await client.login(emulator.botToken);
  await ready;
  return client as Client<true>;
}

function channel(client: Client<true>, name: 'general' | 'approvals'): TextChannel {
  return client.channels.cache.get(emulator.ids.channels[name]) as TextChannel;
}

/** Routes interaction handler errors into the test instead of unhandled rejections. */
function onInteraction(client: Client, handler: (i: Interaction) => Promise<unknown>): unknown[] {
  const errors: unknown[] = [];
  client.on(Events.InteractionCreate, (i) => void handler(i).catch((e: unknown) => errors.push(e)));
  return errors;
}

beforeEach(async () => {
  agent = new Agent();
  await start();
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.destroy();
  await emulator.close();
  await agent.close();
});

describe('discord emulator with a real discord.js client', () => {
  it('logs in: READY + GUILD_CREATE fill the caches and the identified intents are recorded', async () => {
    const client = await login();
    expect(client.user.id).toBe(emulator.botUserId);
    expect(client.user.username).toBe('Herald');
    expect(client.user.bot).toBe(true);
    expect(client.application.id).toBe(emulator.applicationId);
    const guild = client.guilds.cache.get(emulator.ids.guildId)!;
    expect(guild.available).toBe(true);
    expect(guild.ownerId).toBe(emulator.ids.users.alice);
    expect(guild.channels.cache.map((c) => c.name).sort()).toEqual(['approvals', 'general']);
    expect(guild.roles.cache.map((r) => r.name)).toEqual(expect.arrayContaining(['@everyone', 'Approvers', 'Moderator']));
    const alice = guild.members.cache.get(emulator.ids.users.alice)!;
    expect(alice.user.username).toBe('alice');
    expect(alice.roles.cache.has(emulator.ids.roles.approvers)).toBe(true);
    expect(guild.members.cache.get(emulator.ids.users.otherBot)?.user.bot).toBe(true);
    expect(emulator.identifiedIntents).toEqual([new IntentsBitField(intents).bitfield]);
    const fetched = await guild.members.fetch(emulator.ids.users.carol);
    expect(fetched.roles.cache.has(emulator.ids.roles.moderator)).toBe(true);
  });

  it('records global and guild application commands registered over REST', async () => {
    const client = await login();
    await client.application.commands.set([{ name: 'draft', description: 'Draft a post', options: [{ type: 3, name: 'text', description: 'Text', required: true }] }]);
    await client.guilds.cache.get(emulator.ids.guildId)!.commands.set([{ name: 'Summarise', type: 3 }]);
    await client.application.commands.create({ name: 'digest', description: 'Digest' });
    expect(emulator.state.commands.global.map((c) => c.name)).toEqual(['draft', 'digest']);
    expect(emulator.state.commands.guild[emulator.ids.guildId]?.map((c) => [c.name, c.type])).toEqual([['Summarise', 3]]);
    const fetched = await client.application.commands.fetch();
    expect(fetched.map((c) => c.name).sort()).toEqual(['digest', 'draft']);
  });

  it('answers a slash command with buttons, then updates the message when a button is clicked', async () => {
    const client = await login();
    await client.application.commands.set([{ name: 'draft', description: 'Draft', options: [{ type: 3, name: 'text', description: 'Text' }] }]);
    let replyIdSeenByBot: string | undefined;
    const errors = onInteraction(client, async (i) => {
      if (i.isChatInputCommand()) {
        const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('approve').setLabel('Approve').setStyle(ButtonStyle.Success),
          new ButtonBuilder().setCustomId('reject').setLabel('Reject').setStyle(ButtonStyle.Danger));
        const response = await i.reply({ content: `Draft: ${i.options.getString('text')} (${i.memberPermissions?.has('Administrator')})`, components: [row], withResponse: true });
        replyIdSeenByBot = response.resource?.message?.id;
      } else if (i.isButton()) {
        await i.update({ content: `${i.customId} by ${i.user.username}`, components: [] });
      }
    });
    const command = emulator.userRunsCommand({ user: 'alice', channel: 'approvals', name: 'draft', options: { text: 'hello' } });
    const answer = await command.response();
    expect(answer.type).toBe(4);
    expect(answer.original?.content).toBe('Draft: hello (true)'); // alice owns the guild
    expect((answer.original?.components as { components: unknown[] }[])[0]?.components).toHaveLength(2);
    const messageId = answer.original!.id as string;
    expect(emulator.lastMessage('approvals')?.id).toBe(messageId);
    await expect.poll(() => replyIdSeenByBot).toBe(messageId); // the bot sees the with_response body a tick later

    const click = emulator.userClicksButton({ user: 'bob', channel: 'approvals', messageId, customId: 'approve' });
    expect((await click.response()).type).toBe(7);
    expect(emulator.message(messageId)).toMatchObject({ content: 'approve by bob', components: [] });
    expect(emulator.messages('approvals')).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('runs a message context-menu command and a string select on the reply', async () => {
    const client = await login();
    await client.guilds.cache.get(emulator.ids.guildId)!.commands.set([{ name: 'Schedule', type: 3 }]);
    const errors = onInteraction(client, async (i) => {
      if (i.isMessageContextMenuCommand()) {
        const select = new StringSelectMenuBuilder().setCustomId('when').addOptions({ label: 'Now', value: 'now' }, { label: 'Tomorrow', value: 'tomorrow' });
        await i.reply({ content: `Schedule "${i.targetMessage.content}"?`, components: [new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(select)] });
      } else if (i.isStringSelectMenu()) {
        await i.update({ content: `Scheduled for ${i.values.join(',')}`, components: [] });
      }
    });
    const target = emulator.userPostsMessage({ user: 'alice', channel: 'general', content: 'Launch post' });
    const asked = await emulator.userRunsMessageCommand({ user: 'alice', channel: 'general', messageId: target.id, name: 'Schedule' }).response();
    expect(asked.original?.content).toBe('Schedule "Launch post"?');
    const chosen = emulator.userSelects({ user: 'alice', messageId: asked.original!.id as string, customId: 'when', values: ['tomorrow'] });
    expect((await chosen.response()).original?.content).toBe('Scheduled for tomorrow');
    expect(errors).toEqual([]);
  });

  it('shows a modal (labels) and delivers the submitted values; deferred ephemeral reply with edit and follow-up', async () => {
    const client = await login();
    await client.application.commands.set([{ name: 'feedback', description: 'Feedback' }]);
    const seen: { body?: string; where?: readonly string[] } = {};
    const errors = onInteraction(client, async (i) => {
      if (i.isChatInputCommand()) {
        const modal = new ModalBuilder().setCustomId('feedback-modal').setTitle('Feedback').addLabelComponents(
          new LabelBuilder().setLabel('Body').setTextInputComponent(new TextInputBuilder().setCustomId('body').setStyle(TextInputStyle.Paragraph)),
          new LabelBuilder().setLabel('Where').setStringSelectMenuComponent(
            new StringSelectMenuBuilder().setCustomId('where').addOptions({ label: 'X', value: 'x' }, { label: 'Mastodon', value: 'mastodon' })));
        await i.showModal(modal);
      } else if (i.isModalSubmit()) {
        seen.body = i.fields.getTextInputValue('body');
        seen.where = i.fields.getStringSelectValues('where');
        await i.deferReply({ flags: MessageFlags.Ephemeral });
        await i.editReply('Thanks!');
        await i.followUp({ content: 'Shared with the team' });
      }
    });
    const command = emulator.userRunsCommand({ user: 'carol', channel: 'general', name: 'feedback' });
    const shown = await command.response();
    expect(shown.type).toBe(9);
    expect(shown.modal?.custom_id).toBe('feedback-modal');

    const submit = emulator.userSubmitsModal({ user: 'carol', interactionId: command.id, values: { body: 'Great', where: ['mastodon'] } });
    await emulator.waitFor((s) => s.interactions[submit.id]?.followup_ids.length === 1);
    expect(seen).toEqual({ body: 'Great', where: ['mastodon'] });
    const view = emulator.interactionResponse(submit.id)!;
    expect(view).toMatchObject({ type: 5, ephemeral: true, original: { content: 'Thanks!', flags: MessageFlags.Ephemeral } });
    expect(view.followups.map((m) => m.content)).toEqual(['Shared with the team']);
    expect(emulator.messages('general').map((m) => m.content)).toEqual(['Shared with the team']); // ephemeral stays out
    expect(errors).toEqual([]);
  });

  it('starts a thread from a message and posts in it; sees replies in the thread', async () => {
    const client = await login();
    const seenInThread: string[] = [];
    client.on(Events.MessageCreate, (message: Message) => {
      if (message.author.bot) return;
      if (message.channel.isThread()) {
        seenInThread.push(message.content);
        return;
      }
      void message.startThread({ name: 'Discussion' }).then((thread) => thread.send('Let us talk here'));
    });
    const post = emulator.userPostsMessage({ user: 'alice', channel: 'general', content: 'thread please' });
    const reply = await post.nextBotMessage();
    const thread = emulator.threadOf(post.id)!;
    expect(thread).toMatchObject({ id: post.id, type: 11, parent_id: emulator.ids.channels.general, name: 'Discussion' });
    expect(reply).toMatchObject({ channel_id: thread.id, content: 'Let us talk here' });
    expect(emulator.message(post.id)?.thread).toMatchObject({ id: thread.id });

    emulator.userRepliesInThread({ user: 'bob', thread: thread.id as string, content: 'agreed' });
    await expect.poll(() => seenInThread).toEqual(['agreed']);
    expect(JSON.parse(JSON.stringify(emulator.state)).channels[thread.id as string].parent_id).toBe(emulator.ids.channels.general);
  });

  it('resumes the session after the gateway drops the connection', async () => {
    const client = await login();
    const resumed = once(client, Events.ShardResume);
    emulator.dropGatewayConnections(4000);
    await resumed;
    const seen = once(client, Events.MessageCreate);
    emulator.userPostsMessage({ user: 'bob', channel: 'general', content: 'still there?' });
    const [message] = (await seen) as [Message];
    expect(message.content).toBe('still there?');
    expect(emulator.state.identifies).toHaveLength(1);
  });

  it('sends a DM and uploads an image with alt text', async () => {
    const client = await login();
    await client.users.send(emulator.ids.users.bob, 'Your post was approved');
    const dm = emulator.dmChannelOf('bob')!;
    expect(dm.type).toBe(1);
    expect(emulator.messages(dm.id as string).map((m) => m.content)).toEqual(['Your post was approved']);

    await channel(client, 'general').send({ content: 'chart', files: [new AttachmentBuilder(PNG, { name: 'chart.png', description: 'Weekly reach chart' })] });
    const [attachment] = emulator.lastMessage('general')!.attachments as { id: string; filename: string; size: number; description: string; content_type: string }[];
    expect(attachment).toMatchObject({ filename: 'chart.png', size: PNG.length, description: 'Weekly reach chart', content_type: 'image/png' });
    expect(emulator.attachmentData(attachment!.id)?.equals(PNG)).toBe(true);
  });

  it('a 429 on message create is waited out by @discordjs/rest and the message exists exactly once', async () => {
    const client = await login();
    emulator.rateLimit('POST /channels/:id/messages', { retryAfterSeconds: 0.3, times: 1 });
    const rateLimited = once(client.rest, 'rateLimited');
    const started = Date.now();
    await channel(client, 'general').send('once');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await rateLimited;
    expect(emulator.rateLimitedCount).toBe(1);
    expect(emulator.messages('general').filter((m) => m.content === 'once')).toHaveLength(1);
    expect(emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages')).map((r) => r.status)).toEqual([429, 200]);

    emulator.failNext('GET /channels/:id', { status: 502 });
    const fetched = await client.channels.fetch(emulator.ids.channels.approvals, { force: true });
    expect(fetched?.id).toBe(emulator.ids.channels.approvals); // @discordjs/rest retried the 502
    expect(emulator.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/channels/')).map((r) => r.status)).toEqual([502, 200]);
  });

  it('MESSAGE_CREATE from another bot and from the bot itself arrive with author.bot set', async () => {
    const client = await login();
    const seen: Message[] = [];
    client.on(Events.MessageCreate, (m) => void seen.push(m));
    emulator.userPostsMessage({ user: 'Scheduler', channel: 'general', content: 'scheduled post went out' });
    await channel(client, 'general').send('self');
    await expect.poll(() => seen.length).toBe(2);
    expect(seen.map((m) => [m.content, m.author.bot, m.author.id === client.user.id])).toEqual([
      ['scheduled post went out', true, false], ['self', true, true]]);
    const reacted = once(client, Events.MessageReactionAdd);
    emulator.userReacts({ user: 'alice', channel: 'general', messageId: seen[1]!.id, emoji: '👍' });
    const [reaction] = (await reacted) as [{ emoji: { name: string } }];
    expect(reaction.emoji.name).toBe('👍');
  });

  it('gateway outage at start-up: login fails, then succeeds once the gateway is back', async () => {
    emulator.setGatewayAvailable(false);
    await expect(newClient().login(emulator.botToken)).rejects.toThrow();
    emulator.setGatewayAvailable(true);
    const client = await login();
    expect(client.isReady()).toBe(true);
  });

  it('rejects bad tokens on REST (401) and on the gateway (4004)', async () => {
    await expect(newClient().login('bad-token')).rejects.toThrow(/token/i);
    const res = await fetch(`${emulator.apiUrl}/v10/users/@me`, { headers: { authorization: 'Bot nope' } });
    expect([res.status, await res.json()]).toEqual([401, { message: '401: Unauthorized', code: 0 }]);
    const unknown = await fetch(`${emulator.apiUrl}/v10/nowhere`);
    expect([unknown.status, await unknown.json()]).toEqual([404, { message: '404: Not Found', code: 0 }]);

    const ws = new WebSocket(`${emulator.gatewayUrl}?v=10&encoding=json`);
    const [hello] = (await once(ws, 'message')) as [Buffer];
    expect(JSON.parse(String(hello))).toMatchObject({ op: 10, d: { heartbeat_interval: 41250 } });
    ws.send(JSON.stringify({ op: 2, d: { token: 'nope', intents: 1, properties: {} } }));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(4004);
  });

  it('validates like Discord: long content, too many rows, long custom_id → 50035', async () => {
    const client = await login();
    const post = (body: object) => client.rest.post(Routes.channelMessages(emulator.ids.channels.general), { body });
    const button = (customId: string) => ({ type: 2, style: 1, label: 'b', custom_id: customId });
    const cases = [
      { content: 'x'.repeat(2001) },
      { components: Array.from({ length: 6 }, (_, i) => ({ type: 1, components: [button(`b${i}`)] })) },
      { components: [{ type: 1, components: Array.from({ length: 6 }, (_, i) => button(`b${i}`)) }] },
      { components: [{ type: 1, components: [button('c'.repeat(101))] }] },
    ];
    for (const body of cases) {
      const error = await post(body).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DiscordAPIError);
      expect((error as DiscordAPIError).code).toBe(50035);
    }
    expect(emulator.messages('general')).toHaveLength(0);
  });
});

describe('interaction acknowledgement rules', () => {
  it('answering twice → 40060; answering after the deadline → 10062', async () => {
    await emulator.close();
    await start({ interactionTimeoutMs: 100 });
    const client = await login();
    await client.application.commands.set([{ name: 'ping', description: 'Ping' }]);
    const callback = (i: { id: string; token: string }) => fetch(`${emulator.apiUrl}/v10/interactions/${i.id}/${i.token}/callback`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 4, data: { content: 'pong' } }),
    });
    const first = emulator.userRunsCommand({ user: 'bob', channel: 'general', name: 'ping' });
    expect((await callback(first)).status).toBe(204);
    const again = await callback(first);
    expect([again.status, ((await again.json()) as { code: number }).code]).toEqual([400, 40060]);

    const late = emulator.userRunsCommand({ user: 'bob', channel: 'general', name: 'ping' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const tooLate = await callback(late);
    expect([tooLate.status, ((await tooLate.json()) as { code: number }).code]).toEqual([404, 10062]);
    expect(emulator.interactionResponse(first.id)?.original?.content).toBe('pong');
  });
});
