import type { ConversationRef, UserRef } from '../../src/chat/port.ts';
import { createSlackAdapter, type SlackAdapterOptions } from '../../src/chat/slack/adapter.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import {
  createSlackEmulator,
  slackEscape,
  type DeliveryResult,
  type Obj,
  type SlackEmulator,
  type SlackEmulatorOptions,
  type SlackEphemeral,
  type SlackMessage,
} from '../../src/sandbox/slack-emulator/index.ts';
import type { ChatHarness, ObservedMessage } from './chat-harness.ts';

/** The Slack harness: the contract's ChatHarness plus what Slack-specific tests and the e2e suite use. */
export interface SlackHarness extends ChatHarness {
  readonly emulator: SlackEmulator;
  /** Environment for a whole Herald started against this emulator (Socket Mode). */
  heraldEnv(): Record<string, string>;
  /** A mention of the person as it reaches Herald in a slash command's text (<@U…|name>). */
  mention(user: UserRef): string;
}

export interface SlackHarnessOptions {
  log?: Logger;
  emulator?: SlackEmulatorOptions;
  /** Overrides of the adapter's options (e.g. no bot ids, so start() calls auth.test). */
  adapter?: Partial<SlackAdapterOptions>;
}

const CHANNEL = 'C_APPROVALS';
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Slack notifies for the entities left in mrkdwn (escaped "&lt;@U1&gt;" is text): <@U…>, <!subteam^S…>, <!here>. */
const entities = (text: string): string[] =>
  Array.from(text.matchAll(/<(@[UW][A-Z0-9_]+|!subteam\^[A-Z0-9]+|!here|!channel|!everyone)(?:\|[^>]*)?>/g), (m) => m[1]!.replace(/^@/, '').replace(/^!subteam\^/, '').replace(/^!/, ''));
const unescape = (text: string): string => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
/** What a reader sees of mrkdwn: no bold markers, no entities. */
const readable = (text: string): string => unescape(text.replace(/\*([^*\n]+)\*/g, '$1'));

function acked(result: DeliveryResult, what: string): DeliveryResult {
  if (!result.acked) throw new Error(`Slack emulator: the ${what} was not acknowledged (${result.error ?? 'no ack'})`);
  return result;
}

export async function createSlackHarness(options: SlackHarnessOptions = {}): Promise<SlackHarness> {
  const emu = await createSlackEmulator(options.emulator);
  // Every test user is in #approvals, so ephemerals to any of them land there.
  emu.addChannel({ id: CHANNEL, name: 'approvals', members: ['U_ALICE', 'U_BOB', 'U_CAROL'] });
  const workspace = emu.teamId;
  const userRef = (user: string): UserRef => ({ platform: 'slack', workspace, user });
  const ref = (channel: string, message?: string, thread?: string): ConversationRef => ({
    platform: 'slack',
    workspace,
    channel,
    ...(message ? { message } : {}),
    ...(thread && thread !== message ? { thread } : {}),
  });

  const adapter = createSlackAdapter({
    botToken: emu.botToken,
    appToken: emu.appToken,
    apiUrl: emu.apiUrl,
    teamId: emu.teamId,
    botUserId: emu.botUserId,
    botId: emu.botId,
    log: options.log ?? createLogger({ level: 'silent', format: 'json' }),
    retries: 3,
    retryMinTimeoutMs: 20,
    startBackoffMs: 50,
    ...options.adapter,
  });

  /** The ts of the message a user action stored, read from the delivered event. */
  const deliveredTs = (result: DeliveryResult): string => {
    const payload = emu.deliveries.get(result.deliveryId)?.payload;
    const ts = isObj(payload) && isObj(payload.event) ? payload.event.ts : undefined;
    if (typeof ts !== 'string') throw new Error('Slack emulator: delivery without an event ts');
    return ts;
  };

  const latestView = (user: UserRef) => emu.openViews(user.user).at(-1);

  function observe(msg: SlackMessage | SlackEphemeral, at: ConversationRef): ObservedMessage {
    const texts = [readable(msg.text)];
    const raw = [msg.text];
    const observed: ObservedMessage = { ref: at, text: '', buttons: [], selects: [], images: [], edited: 'edited' in msg && Boolean(msg.edited), pinged: [] };
    const element = (el: Obj): void => {
      const label = isObj(el.text) && typeof el.text.text === 'string' ? el.text.text : '';
      if (el.type === 'button' && typeof el.url !== 'string') {
        observed.buttons.push({ label, actionId: String(el.action_id), ...(typeof el.style === 'string' ? { style: el.style } : {}) });
      }
      if (el.type === 'static_select') {
        const options = Array.isArray(el.options) ? el.options.filter(isObj) : [];
        observed.selects.push({ actionId: String(el.action_id), values: options.map((o) => String(o.value)) });
      }
    };
    for (const block of msg.blocks ?? []) {
      if ((block.type === 'section' || block.type === 'header') && isObj(block.text) && typeof block.text.text === 'string') {
        texts.push(readable(block.text.text));
        if (block.text.type === 'mrkdwn') raw.push(block.text.text);
      }
      if (block.type === 'section' && Array.isArray(block.fields)) {
        for (const f of block.fields.filter(isObj)) {
          texts.push(readable(String(f.text ?? '')));
          raw.push(String(f.text ?? ''));
        }
      }
      if (block.type === 'section' && isObj(block.accessory)) element(block.accessory);
      if (block.type === 'context' && Array.isArray(block.elements)) {
        for (const el of block.elements.filter(isObj)) {
          if (typeof el.text !== 'string') continue;
          texts.push(readable(el.text));
          if (el.type === 'mrkdwn') raw.push(el.text);
        }
      }
      if (block.type === 'actions' && Array.isArray(block.elements)) for (const el of block.elements.filter(isObj)) element(el);
      if (block.type === 'image') observed.images.push({ alt: String(block.alt_text ?? ''), bytes: 0 });
    }
    for (const file of 'files' in msg ? (msg.files ?? []) : []) {
      const data = emu.fileBytes(file.id);
      observed.images.push({ alt: file.alt_txt ?? '', bytes: data?.length ?? file.size, filename: file.name, ...(data ? { data } : {}) });
    }
    observed.text = texts.filter(Boolean).join('\n');
    observed.pinged = [...new Set(raw.flatMap(entities))];
    return observed;
  }

  return {
    platform: 'slack',
    adapter,
    emulator: emu,
    channel: ref(CHANNEL),
    users: { admin: userRef('U_ALICE'), member: userRef('U_BOB'), approver: userRef('U_CAROL') },
    approverGroup: 'approvers',

    async runCommand(user, command, opts = {}) {
      const [root, ...rest] = command.trim().split(/\s+/);
      const tokens = Object.entries(opts).map(([key, value]) => `${key}:${/\s/.test(value) ? `"${value}"` : value}`);
      const text = slackEscape([...rest, ...tokens].join(' '));
      acked(await emu.userRunsCommand({ user: user.user, channel: CHANNEL, command: `/${root}`, text }), `/${root} command`);
    },
    async clickButton(user, message, actionId) {
      acked(await emu.userClicksButton({ user: user.user, channel: message.channel, ts: message.message ?? '', actionId }), 'click');
    },
    async clickStaleButton(user, message, actionId) {
      acked(await emu.userClicksButton({ user: user.user, channel: message.channel, ts: message.message ?? '', actionId, stale: true }), 'click');
    },
    async selectOption(user, message, actionId, value) {
      acked(await emu.userSelectsOption({ user: user.user, channel: message.channel, ts: message.message ?? '', actionId, value }), 'selection');
    },
    async submitOpenForm(user, values) {
      const view = latestView(user);
      if (!view) throw new Error(`Slack emulator: no form is open for ${user.user}`);
      const byBlock: Record<string, Record<string, unknown>> = {};
      const known = new Set<string>();
      for (const block of view.blocks) {
        const el = block.element;
        if (block.type !== 'input' || !isObj(el) || typeof block.block_id !== 'string') continue;
        known.add(block.block_id);
        const raw = values[block.block_id];
        if (raw === undefined) continue;
        byBlock[block.block_id] = { [String(el.action_id)]: el.type === 'datetimepicker' ? Math.floor(Date.parse(raw) / 1_000) : raw };
      }
      const unknown = Object.keys(values).filter((k) => !known.has(k));
      if (unknown.length > 0) throw new Error(`Slack emulator: the form has no fields ${unknown.join(', ')}`);
      acked(await emu.userSubmitsView({ user: user.user, viewId: view.id, values: byBlock }), 'form submission');
    },
    openFormErrors: (user) => {
      const view = latestView(user);
      return view ? (view.errors ?? {}) : undefined;
    },
    openFormTitle: (user) => {
      const title = latestView(user)?.title;
      return isObj(title) && typeof title.text === 'string' ? title.text : undefined;
    },
    async postMessage(user, channel, text, images = []) {
      const files = images.map((image) => ({ name: image.name, content: image.png, altTxt: image.alt }));
      const result = acked(await emu.userPostsMessage({ user: user.user, channel: channel.channel, text: slackEscape(text), ...(files.length ? { files } : {}) }), 'message');
      return ref(channel.channel, deliveredTs(result));
    },
    async mentionBot(user, channel, text) {
      const result = acked(await emu.userMentionsApp({ user: user.user, channel: channel.channel, text: slackEscape(text) }), 'mention');
      return ref(channel.channel, deliveredTs(result));
    },
    async replyInThread(user, parent, text) {
      const thread = parent.thread ?? parent.message ?? '';
      const result = acked(await emu.userPostsMessage({ user: user.user, channel: parent.channel, text: slackEscape(text), threadTs: thread }), 'reply');
      return ref(parent.channel, deliveredTs(result), thread);
    },
    async react(user, message, emoji) {
      acked(await emu.userReacts({ user: user.user, channel: message.channel, ts: message.message ?? '', reaction: emoji }), 'reaction');
    },
    async useShortcut(user, message, shortcutId) {
      acked(await emu.userUsesMessageShortcut({ user: user.user, channel: message.channel, ts: message.message ?? '', callbackId: shortcutId }), 'shortcut');
    },
    async sendRawInteraction(payload) {
      // Whatever the payload, Herald must acknowledge it (and ignore what it cannot use).
      acked(await emu.sendEnvelope('interactive', payload as Obj), 'raw interaction');
    },

    messagesIn: (channel) => emu.messages(channel.channel).map((m) => observe(m, ref(channel.channel, m.ts))),
    threadOf: (parent) => {
      const root = parent.thread ?? parent.message ?? '';
      return emu
        .thread(parent.channel, root)
        .filter((m) => m.ts !== root)
        .map((m) => observe(m, ref(parent.channel, m.ts, root)));
    },
    ephemeralsFor: (user) => emu.ephemeralsFor(user.user).map((e) => observe(e, ref(e.channel, e.ts, e.thread_ts))),
    dmsTo: (user) => emu.dmWith(user.user).map((m) => observe(m, ref(m.channel, m.ts, m.thread_ts))),
    waitFor: (check, timeoutMs = 5_000) => emu.waitFor(() => check(), timeoutMs),

    rateLimitPosts: (retryAfterSeconds, times = 1) => emu.rateLimit('chat.postMessage', { retryAfterSeconds, times }),
    rateLimitHits: () => emu.apiCalls.filter((c) => c.status === 429).length,
    heraldEnv: () => ({ SLACK_BOT_TOKEN: emu.botToken, SLACK_APP_TOKEN: emu.appToken, SLACK_API_URL: emu.apiUrl }),
    mention: (user) => `<@${user.user}|${emu.state.users.find((u) => u.id === user.user)?.name ?? user.user}>`,
    close: () => emu.close(),
  };
}
