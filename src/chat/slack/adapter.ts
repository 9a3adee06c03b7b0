import { setTimeout as sleep } from 'node:timers/promises';
import { App, webApi } from '@slack/bolt';
import { download } from '../download.ts';
import type { RequestHandler } from '../../http/server.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../metrics.ts';
import type { ChatAdapter, ConversationRef, FormResult, InboundEvent, InboundHandler } from '../port.ts';
import { ExpiringLru } from './cache.ts';
import { createSlackDirectory } from './directory.ts';
import { translate, type SlackIdentity, type Translation } from './events.ts';
import { createSlackMessageReader } from './messages.ts';
import { MountReceiver, SocketReceiver } from './receivers.ts';
import { renderMessage, viewErrors, type RenderedMessage } from './render.ts';
import { createSlackResponder, slackErrorCode } from './responder.ts';
import { sdkLogger } from './sdk-logger.ts';

export interface SlackAdapterOptions {
  botToken: string;
  /** Socket Mode when set (xapp-…). */
  appToken?: string;
  /** HTTP mode when there is no appToken; then `mount` is required. */
  signingSecret?: string;
  /** Herald's HTTP server; HTTP mode mounts '/slack/events' (events, commands, interactivity). */
  mount?: (prefix: string, handler: RequestHandler) => void;
  /** SLACK_API_URL, e.g. the emulator's http://127.0.0.1:PORT/api/. */
  apiUrl?: string;
  /** When all three are given, start() skips auth.test. */
  botUserId?: string;
  botId?: string;
  teamId?: string;
  log: Logger;
  metrics?: Metrics;
  /** Web API retries (429s wait out Retry-After; 5xx and network errors back off). Default 5. */
  retries?: number;
  /** First Web API retry delay; tests shorten it. Default 250 ms. */
  retryMinTimeoutMs?: number;
  /** First delay between start-up attempts while Slack is unreachable (doubles up to 30 s). Default 1 s. */
  startBackoffMs?: number;
  /** How long a view submission's ack waits for the handler's field errors. Default 2.5 s (Slack allows 3). */
  formAckBudgetMs?: number;
  /** How long stop() waits for running handlers and the socket to close. Default 5 s. */
  stopTimeoutMs?: number;
}

type Ack = (response?: unknown) => Promise<void>;
type EventTranslation = Extract<Translation, { kind: 'event' }>;

/** Answers that mean the credentials are wrong: retrying cannot help, so start() fails with a message. */
const FATAL_AUTH = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type', 'invalid_token']);

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Resolves after `ms`, or at once when the signal aborts; never rejects. */
const pause = (ms: number, signal: AbortSignal): Promise<void> => sleep(ms, undefined, { signal }).catch(() => undefined);

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function assertSlack(ref: ConversationRef): void {
  if (ref.platform !== 'slack') throw new Error(`The Slack adapter cannot reach a ${ref.platform} conversation`);
}

/**
 * Herald on Slack through Bolt: Socket Mode (appToken) or HTTP mode on Herald's server (signingSecret
 * + mount). Every envelope is acknowledged at once and the handler runs after, except a view
 * submission, whose ack carries the handler's field errors when they come within formAckBudgetMs.
 */
export function createSlackAdapter(options: SlackAdapterOptions): ChatAdapter {
  const socketMode = Boolean(options.appToken);
  if (!socketMode && !options.signingSecret) throw new Error('Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)');
  if (!socketMode && !options.mount) throw new Error('Slack HTTP mode needs Herald’s HTTP server (the mount option)');
  const log = options.log.bindings().platform ? options.log : options.log.child({ platform: 'slack' });
  const sdkLog = sdkLogger(log);
  const clientOptions = (): webApi.WebClientOptions => ({
    logger: sdkLog,
    retryConfig: { retries: options.retries ?? 5, factor: 2, minTimeout: options.retryMinTimeoutMs ?? 250, maxTimeout: 30_000, randomize: true },
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
  });
  const web = new webApi.WebClient(options.botToken, clientOptions());
  const directory = createSlackDirectory(web);
  const reader = createSlackMessageReader(web);
  // Slack redelivers an event whose ack was slow or lost; one replica remembers what it has seen.
  // Several replicas in HTTP mode would need this in MongoDB (a unique index on the event id).
  const seenEvents = new ExpiringLru<string, true>({ max: 10_000, ttlMs: 60 * 60_000 });
  const inflight = new Set<Promise<unknown>>();
  const formAckBudgetMs = options.formAckBudgetMs ?? 2_500;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;

  let identity: SlackIdentity | undefined =
    options.teamId && options.botUserId && options.botId ? { teamId: options.teamId, botUserId: options.botUserId, botId: options.botId } : undefined;
  let handler: InboundHandler | undefined;
  let app: App | undefined;
  let socket: SocketReceiver | undefined;
  let running = false;
  let connected = false;
  let stopSignal: AbortController | undefined;

  const directMessage = async (user: string, rendered: RenderedMessage): Promise<string> => {
    const opened = await web.conversations.open({ users: user });
    const channel = opened.channel?.id;
    if (!channel) throw new Error(`conversations.open returned no channel for ${user}`);
    const res = await web.chat.postMessage({ channel, ...rendered });
    if (!res.ts) throw new Error('chat.postMessage returned no ts');
    return `${channel}:${res.ts}`;
  };
  const responderDeps = { web, log, directMessage: async (user: string, rendered: RenderedMessage) => void (await directMessage(user, rendered)) };

  /** Tries until it works, Slack says the credentials are wrong, or stop() is called (→ undefined). */
  async function untilDone<T>(what: string, attempt: () => Promise<T>, signal: AbortSignal): Promise<T | undefined> {
    const base = options.startBackoffMs ?? 1_000;
    for (let n = 0; !signal.aborted; n += 1) {
      try {
        return await attempt();
      } catch (error) {
        const code = slackErrorCode(error);
        if (code && FATAL_AUTH.has(code)) throw new Error(`Slack refused Herald’s token during ${what} (${code}): check SLACK_BOT_TOKEN and SLACK_APP_TOKEN`, { cause: error });
        if (signal.aborted) break;
        const retryInMs = Math.min(30_000, base * 2 ** n);
        log.warn({ attempt: n + 1, retryInMs, code, err: messageOf(error) }, `Slack ${what} failed; retrying`);
        await pause(retryInMs, signal);
      }
    }
    return undefined;
  }

  async function resolveIdentity(signal: AbortSignal): Promise<SlackIdentity | undefined> {
    if (identity) return identity;
    const res = await untilDone('auth.test', () => web.auth.test(), signal);
    if (!res) return undefined;
    if (!res.team_id || !res.user_id || !res.bot_id) throw new Error('Slack auth.test did not name the team, bot user and bot: is SLACK_BOT_TOKEN a bot token (xoxb-)?');
    identity = { teamId: res.team_id, botUserId: res.user_id, botId: res.bot_id };
    return identity;
  }

  /**
   * Handlers run concurrently, but start in arrival order within a channel: a name lookup for one
   * event must not let a later event (say, a second reaction on the same message) overtake it.
   */
  const lanes = new Map<string, Promise<unknown>>();
  function inOrder<T>(lane: string, work: () => Promise<T>): Promise<T> {
    const next = (lanes.get(lane) ?? Promise.resolve()).then(work, work);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    lanes.set(lane, tail);
    void tail.then(() => lanes.get(lane) === tail && lanes.delete(lane));
    return next;
  }

  /** Runs the handler for one event (after the ack), with the actor's name, a metric and no escaping error. */
  function dispatch(t: EventTranslation, receivedAt: number): Promise<FormResult | void> {
    const task = (async (): Promise<FormResult | void> => {
      try {
        const event = await inOrder(t.facts.channel ?? t.facts.user ?? '', async () => (t.needsName ? withName(t.event) : t.event));
        if (!handler) throw new Error('no handler: the adapter is not started');
        return await handler(event);
      } catch (error) {
        log.error({ ...t.facts, err: error }, 'Slack event handler failed');
        return undefined;
      } finally {
        options.metrics?.eventLatency.observe({ platform: 'slack', kind: t.event.type }, (performance.now() - receivedAt) / 1_000);
      }
    })();
    inflight.add(task);
    void task.finally(() => inflight.delete(task));
    return task;
  }

  async function withName(event: InboundEvent): Promise<InboundEvent> {
    try {
      const person = await directory.person(event.actor.ref.user);
      return { ...event, actor: { ...event.actor, name: person.name, ...(person.locale ? { locale: person.locale } : {}) } };
    } catch (error) {
      log.debug({ user: event.actor.ref.user, err: messageOf(error) }, 'Slack user lookup failed; using the user id as name');
      return event;
    }
  }

  /** A view submission: its ack is the only way to show field errors, so it waits (briefly) for the handler. */
  async function submit(t: EventTranslation, ack: Ack | undefined, receivedAt: number): Promise<void> {
    const task = dispatch(t, receivedAt);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), formAckBudgetMs)));
    const outcome = await Promise.race([task, late]).finally(() => clearTimeout(timer));
    if (outcome === 'late') {
      await ack?.();
      void task.then((result) => {
        if (result?.errors) log.warn({ ...t.facts, fields: Object.keys(result.errors) }, 'Slack form errors came after the ack window; the form closed without them');
      });
      return;
    }
    const errors = viewErrors(outcome?.errors, t.formBlocks ?? []);
    await ack?.(errors ? { response_action: 'errors', errors } : undefined);
  }

  async function onPayload(body: unknown, ack: Ack | undefined, retryNum: number | undefined): Promise<void> {
    const receivedAt = performance.now();
    if (!identity) throw new Error('Slack payload before the adapter knew its identity');
    const t = translate(body, identity, (context) => createSlackResponder(context, responderDeps));
    if (t.kind === 'event' && t.event.type === 'form') return submit(t, ack, receivedAt);
    // Ack first, work second: Slack gives 3 s, and a slow handler must never cost a redelivery.
    await ack?.(t.facts.kind === 'block_suggestion' ? { options: [] } : undefined);
    if (t.kind === 'malformed') {
      log.warn({ ...t.facts, retryNum, problem: t.problem }, 'Slack payload malformed; acknowledged and ignored');
      return;
    }
    if (t.kind === 'ignore') {
      log.debug({ ...t.facts, reason: t.reason }, 'Slack payload ignored');
      return;
    }
    if (t.facts.eventId && !seenEvents.firstSighting(t.facts.eventId, true)) {
      log.info({ ...t.facts, retryNum }, 'Slack redelivered an event already handled; dropped');
      return;
    }
    void dispatch(t, receivedAt);
  }

  function buildApp(id: SlackIdentity): App {
    const receiver = socketMode
      ? (socket = new SocketReceiver({ appToken: options.appToken as string, clientOptions: clientOptions(), logger: sdkLog, log }))
      : new MountReceiver({ signingSecret: options.signingSecret as string, mount: options.mount as NonNullable<SlackAdapterOptions['mount']>, log, logger: sdkLog });
    if (socket) {
      const client = socket.client;
      client.on('connected', () => (connected = true));
      for (const state of ['connecting', 'reconnecting', 'disconnecting', 'disconnected', 'close']) client.on(state, () => (connected = false));
    }
    const bolt = new App({
      token: options.botToken,
      receiver,
      botId: id.botId,
      botUserId: id.botUserId,
      logger: sdkLog,
      clientOptions: clientOptions(),
      ignoreSelf: false,
      convoStore: false,
    });
    bolt.use(async (args) => {
      const ack = 'ack' in args && typeof args.ack === 'function' ? (args.ack as Ack) : undefined;
      await onPayload(args.body, ack, args.context.retryNum);
    });
    bolt.error(async (error) => {
      log.warn({ err: messageOf(error) }, 'Slack payload handling failed inside Bolt');
    });
    return bolt;
  }

  const ref = (workspace: string, channel: string, message: string | undefined, thread?: string): ConversationRef => {
    if (!message) throw new Error('Slack answered without a message ts');
    return { platform: 'slack', workspace, channel, message, ...(thread ? { thread } : {}) };
  };

  return {
    platform: 'slack',

    async start(inbound) {
      if (stopSignal && !stopSignal.signal.aborted) throw new Error('The Slack adapter is already started');
      handler = inbound;
      const abort = (stopSignal = new AbortController());
      const id = await resolveIdentity(abort.signal);
      if (!id || abort.signal.aborted) return;
      const bolt = (app = buildApp(id));
      const started = await untilDone(socketMode ? 'Socket Mode connection' : 'start', async () => (await bolt.start(), true), abort.signal);
      if (!started || abort.signal.aborted) return;
      running = true;
      log.info({ mode: socketMode ? 'socket' : 'http', team: id.teamId, botUser: id.botUserId }, 'Slack adapter started');
    },

    async stop() {
      stopSignal?.abort();
      running = false;
      const bolt = app;
      const client = socket?.client;
      app = undefined;
      socket = undefined;
      if (bolt) {
        const disconnected = client ? new Promise<void>((resolve) => client.once('disconnected', () => resolve())) : Promise.resolve();
        const closed = bolt.stop().then(() => disconnected);
        if (!(await withTimeout(closed.catch((error: unknown) => log.warn({ err: messageOf(error) }, 'Slack stop failed')), stopTimeoutMs))) {
          log.warn({ timeoutMs: stopTimeoutMs }, 'Slack socket did not report disconnected in time');
        }
      }
      if (!(await withTimeout(Promise.allSettled([...inflight]), stopTimeoutMs))) log.warn({ running: inflight.size }, 'Slack handlers still running at stop');
      connected = false;
    },

    isReady: () => running && (!socketMode || connected),

    async registerCommands(commands, shortcuts) {
      // Slack learns commands and shortcuts from the app manifest (npm run slack:manifest).
      log.debug({ commands: commands.length, shortcuts: shortcuts.length }, 'Slack commands come from the app manifest; nothing to register');
    },

    async post(channel, message) {
      assertSlack(channel);
      const res = await web.chat.postMessage({ channel: channel.channel, ...renderMessage(message), ...(channel.thread ? { thread_ts: channel.thread } : {}) });
      return ref(channel.workspace, res.channel ?? channel.channel, res.ts, channel.thread);
    },

    async update(target, message) {
      assertSlack(target);
      if (!target.message) throw new Error('update needs the ref of a message (ts)');
      const rendered = renderMessage(message);
      // An empty blocks array removes a card's old blocks; leaving it out would keep them.
      await web.chat.update({ channel: target.channel, ts: target.message, text: rendered.text, blocks: rendered.blocks ?? [] });
    },

    // Every Slack message can be answered in a thread as it is.
    openThread: async () => undefined,
    async reply(parent, message) {
      assertSlack(parent);
      const thread = parent.thread ?? parent.message;
      if (!thread) throw new Error('reply needs the ref of a message or thread');
      const res = await web.chat.postMessage({ channel: parent.channel, thread_ts: thread, ...renderMessage(message) });
      return ref(parent.workspace, res.channel ?? parent.channel, res.ts, thread);
    },

    async uploadFile(where, file) {
      assertSlack(where);
      const thread = where.thread ?? where.message;
      const upload = { channel_id: where.channel, file: file.data, filename: file.filename, title: file.title ?? file.filename, ...(file.alt ? { alt_text: file.alt } : {}) };
      await web.filesUploadV2(thread ? { ...upload, thread_ts: thread } : upload);
    },

    async notifyUser(user, message) {
      if (user.platform !== 'slack') throw new Error(`The Slack adapter cannot reach a ${user.platform} user`);
      const [channel, ts] = (await directMessage(user.user, renderMessage(message))).split(':');
      return ref(user.workspace, channel as string, ts);
    },

    membership: (user) => directory.membership(user.user),
    groupMembers: (_workspace, group) => directory.groupMembers(group),
    permalink: (target) => reader.permalink(target),
    fetchMessage: (target) => reader.fetchMessage(target),
    // Private file URLs need the bot token; it is only ever sent to Slack's own hosts.
    downloadFile: (url) =>
      download(url, {
        allowedHosts: ['slack.com', 'slack-edge.com', ...(options.apiUrl ? [new URL(options.apiUrl).host] : [])],
        headers: { authorization: `Bearer ${options.botToken}` },
      }),
  };
}
