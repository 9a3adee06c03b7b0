import type { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { Actors, type UserFileInput } from './actors.ts';
import { EmulatorCore } from './core.ts';
import { DeliveryHub, type DeliveryRecord, type HubSendOptions } from './delivery.ts';
import { postToApp } from './http-delivery.ts';
import { startServer } from './server.ts';
import { SocketModeHub } from './socket-mode.ts';
import type {
  DeliveryResult,
  EnvelopeType,
  Obj,
  SlackChannel,
  SlackEmulatorOptions,
  SlackEphemeral,
  SlackMessage,
  SlackState,
  SlackUser,
  SlackUserGroup,
  SlackView,
} from './types.ts';
import { userClosesView, userSubmitsView } from './view-actors.ts';
import { WebApi, type ApiCall } from './web-api.ts';

export type * from './types.ts';
export type { UserFileInput } from './actors.ts';
export { slackSignature } from './http-delivery.ts';

/** Escapes &, < and > as Slack's client does in text it sends, keeping entities (<@U…>, <#C…>, <!subteam^…>) intact. */
export function slackEscape(text: string): string {
  return text
    .split(/(<[@#!][^<>\s]*>)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('');
}

export class SlackEmulator {
  readonly apiUrl: string;
  readonly teamId: string;
  readonly appId: string;
  readonly botId: string;
  readonly botUserId: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly signingSecret: string;
  private readonly core: EmulatorCore;
  private readonly api: WebApi;
  private readonly socket: SocketModeHub;
  private readonly hub: DeliveryHub;
  private readonly actors: Actors;
  private readonly server: Server;

  constructor(core: EmulatorCore, api: WebApi, socket: SocketModeHub, server: Server) {
    this.core = core;
    this.api = api;
    this.socket = socket;
    this.server = server;
    this.hub = new DeliveryHub(core, socket);
    this.actors = new Actors(core, this.hub);
    const c = core.config;
    this.apiUrl = `${core.baseUrl}api/`;
    this.teamId = c.teamId;
    this.appId = c.appId;
    this.botId = c.botId;
    this.botUserId = c.botUserId;
    this.botToken = c.botToken;
    this.appToken = c.appToken;
    this.signingSecret = c.signingSecret;
  }

  /** Plain, serialisable workspace state. */
  get state(): SlackState {
    return this.core.store.state;
  }

  /** Emits 'change' with a small ChangeEvent for every state mutation. */
  get events(): EventEmitter {
    return this.core.store.events;
  }

  /** http://127.0.0.1:PORT/ */
  get baseUrl(): string {
    return this.core.baseUrl;
  }

  /** Every Web API call answered, in order (method, ok, error, HTTP status). */
  get apiCalls(): readonly ApiCall[] {
    return this.api.calls;
  }

  get deliveries(): ReadonlyMap<string, DeliveryRecord> {
    return this.hub.records;
  }

  get socketConnections(): number {
    return this.socket.connectionCount;
  }

  // ---- directory ----
  addUser(input: { id: string; name: string; realName?: string; isAdmin?: boolean; isBot?: boolean; email?: string }): SlackUser {
    return this.core.store.addUser(input);
  }
  addChannel(input: { id: string; name: string; isPrivate?: boolean; members?: string[]; botIsMember?: boolean }): SlackChannel {
    return this.core.store.addChannel(input);
  }
  addUserGroup(input: { id: string; handle: string; name?: string; users: string[]; description?: string }): SlackUserGroup {
    return this.core.store.addUserGroup(input);
  }

  // ---- fault injection ----
  /** The next `times` calls of `method` answer HTTP 429 with Retry-After. */
  rateLimit(method: string, opts: { retryAfterSeconds: number; times?: number }): void {
    this.api.rateLimit(method, opts);
  }
  /** The next `times` calls of `method` answer with an HTTP 5xx. */
  failNext(method: string, opts: { status?: number; times?: number } = {}): void {
    this.api.failNext(method, opts);
  }
  rateLimitedCount(method: string): number {
    return this.api.rateLimitedCount(method);
  }
  failedCount(method: string): number {
    return this.api.failedCount(method);
  }

  // ---- deliveries ----
  /** Sends one raw envelope payload over the configured transport and resolves with the ack. */
  sendEnvelope(type: EnvelopeType, payload: Obj, opts?: HubSendOptions): Promise<DeliveryResult> {
    return this.hub.send(type, payload, opts);
  }
  /** Wraps an event in an event_callback (with a fresh event_id) and delivers it. */
  sendEvent(event: Obj, opts?: HubSendOptions): Promise<DeliveryResult> {
    return this.hub.send('events_api', this.hub.eventCallback(event), opts);
  }
  /** Sends a delivery again exactly as before, with retry_attempt / X-Slack-Retry-Num and a retry reason. */
  redeliver(deliveryId: string, opts?: { reason?: string }): Promise<DeliveryResult> {
    return this.hub.redeliver(deliveryId, opts);
  }
  /** Socket Mode: asks connected clients to reconnect (`{type:'disconnect'}`). */
  requestReconnect(reason?: string): void {
    this.socket.requestReconnect(reason);
  }
  /** HTTP mode: Slack's url_verification handshake; true when the app echoed the challenge. */
  async verifyUrl(): Promise<boolean> {
    const delivery = this.core.config.delivery;
    if (delivery === 'socket') throw new Error('verifyUrl needs HTTP delivery');
    const challenge = `challenge-${Date.now()}`;
    const ack = await postToApp(
      'url_verification',
      { token: 'verification-token', challenge, type: 'url_verification' },
      { url: delivery.httpUrl, secret: this.signingSecret, retryAttempt: 0, retryReason: '', timeoutMs: this.core.config.ackTimeoutMs },
      AbortSignal.timeout(this.core.config.ackTimeoutMs + 1000),
    );
    const p = ack.payload as { challenge?: unknown } | undefined;
    return ack.acked && p?.challenge === challenge;
  }

  /** Switches how envelopes reach the app (e.g. once an HTTP-mode app knows its port). */
  setDelivery(delivery: 'socket' | { httpUrl: string }): void {
    this.core.config.delivery = delivery;
  }

  // ---- acting as users ----
  userRunsCommand(opts: { user: string; channel: string; command: string; text?: string }): Promise<DeliveryResult> {
    return this.actors.userRunsCommand(opts);
  }
  userPostsMessage(opts: { user: string; channel: string; text: string; threadTs?: string; files?: UserFileInput[] }): Promise<DeliveryResult> {
    return this.actors.userPostsMessage(opts);
  }
  userMentionsApp(opts: { user: string; channel: string; text: string; threadTs?: string }): Promise<DeliveryResult> {
    return this.actors.userMentionsApp(opts);
  }
  userReacts(opts: { user: string; channel: string; ts: string; reaction: string }): Promise<DeliveryResult> {
    return this.actors.userReacts(opts);
  }
  userClicksButton(opts: { user: string; channel: string; ts: string; actionId: string; stale?: boolean }): Promise<DeliveryResult> {
    return this.actors.userClicksButton(opts);
  }
  userSelectsOption(opts: { user: string; channel: string; ts: string; actionId: string; value: string | string[] }): Promise<DeliveryResult> {
    return this.actors.userSelectsOption(opts);
  }
  userUsesMessageShortcut(opts: { user: string; channel: string; ts: string; callbackId: string }): Promise<DeliveryResult> {
    return this.actors.userUsesMessageShortcut(opts);
  }
  userSubmitsView(opts: { user?: string; viewId: string; values?: Record<string, unknown> }): Promise<DeliveryResult> {
    return userSubmitsView(this.core, this.hub, this.actors, opts);
  }
  userClosesView(opts: { user?: string; viewId: string }): Promise<DeliveryResult> {
    return userClosesView(this.core, this.hub, this.actors, opts);
  }

  // ---- queries ----
  /** Top-level messages of a channel (id or name), oldest first. */
  messages(channel: string): SlackMessage[] {
    return this.core.store.messages(this.channelId(channel));
  }
  /** Parent then replies. */
  thread(channel: string, ts: string): SlackMessage[] {
    return this.core.store.thread(this.channelId(channel), ts);
  }
  /** The newest message in the channel, thread replies included. */
  lastMessage(channel: string): SlackMessage | undefined {
    return this.core.store.allMessages(this.channelId(channel)).at(-1);
  }
  ephemeralsFor(user: string): SlackEphemeral[] {
    return this.state.ephemerals.filter((e) => e.user === user && !e.deleted);
  }
  /** Messages in the bot's DM with the user (empty when none was opened). */
  dmWith(user: string): SlackMessage[] {
    const dm = this.state.channels.find((c) => c.is_im && c.user === user);
    return dm ? this.core.store.allMessages(dm.id) : [];
  }
  view(viewId: string): SlackView | undefined {
    return this.state.views.find((v) => v.id === viewId);
  }
  /** Views currently open for a user (bottom of the stack first). */
  openViews(user?: string): SlackView[] {
    return this.state.views.filter((v) => v.status === 'open' && (user === undefined || v.user === user));
  }
  viewErrors(viewId: string): Record<string, string> | undefined {
    return this.view(viewId)?.errors;
  }
  fileBytes(fileId: string): Buffer | undefined {
    return this.core.fileBytes.get(fileId);
  }

  /**
   * Resolves with the first truthy value of `check` (re-evaluated on every state change and every 25 ms),
   * rejects after timeoutMs.
   */
  waitFor<T>(check: (emulator: this) => T | undefined | null | false, timeoutMs = 2000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timers: { timer?: NodeJS.Timeout; poll?: NodeJS.Timeout } = {};
      const done = (): void => {
        clearTimeout(timers.timer);
        clearInterval(timers.poll);
        this.events.off('change', evaluate);
      };
      const evaluate = (): void => {
        let value: T | undefined | null | false;
        try {
          value = check(this);
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (value) {
          done();
          resolve(value);
        }
      };
      timers.timer = setTimeout(() => {
        done();
        reject(new Error(`slack emulator: waitFor timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      timers.poll = setInterval(evaluate, 25);
      this.events.on('change', evaluate);
      evaluate();
    });
  }

  private channelId(channel: string): string {
    return (this.core.store.channel(channel) ?? this.core.store.channelByName(channel))?.id ?? channel;
  }

  /** Stops the server, terminates sockets, resolves pending deliveries as not acked. */
  async close(): Promise<void> {
    this.socket.close();
    this.hub.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function seed(core: EmulatorCore, people: 'test' | 'none'): void {
  const s = core.store;
  s.addUser({ id: core.config.botUserId, name: 'herald', realName: 'Herald', isBot: true });
  const bot = s.user(core.config.botUserId);
  if (bot) bot.profile.bot_id = core.config.botId;
  if (people === 'none') return;
  s.addUser({ id: 'U_ALICE', name: 'alice', isAdmin: true });
  s.addUser({ id: 'U_BOB', name: 'bob' });
  s.addUser({ id: 'U_CAROL', name: 'carol' });
  s.addChannel({ id: 'C_GENERAL', name: 'general' });
  s.addChannel({ id: 'C_APPROVALS', name: 'approvals', members: ['U_ALICE', 'U_CAROL'] });
  s.addUserGroup({ id: 'S_APPROVERS', handle: 'approvers', name: 'Approvers', users: ['U_ALICE', 'U_CAROL'] });
}

export async function createSlackEmulator(options: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  const teamId = options.teamId ?? 'T_HERALD';
  const log = options.log ?? ((): void => {});
  const core = new EmulatorCore(
    {
      teamId,
      appId: 'A_HERALD',
      botId: 'B_HERALD',
      botUserId: 'U_HERALD',
      botToken: options.botToken ?? 'xoxb-herald-test',
      appToken: options.appToken ?? 'xapp-1-herald-test',
      signingSecret: options.signingSecret ?? 'herald-signing-secret',
      ackTimeoutMs: options.ackTimeoutMs ?? 3000,
      delivery: options.delivery ?? 'socket',
    },
    log,
  );
  seed(core, options.people ?? 'test');
  const socket = new SocketModeHub(core.config.appId, log);
  const api = new WebApi(core, {
    'apps.connections.open': () => ({ url: socket.issueUrl(core.baseUrl) }),
  });
  const server = await startServer(core, api, socket);
  return new SlackEmulator(core, api, socket, server);
}
