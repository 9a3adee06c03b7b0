/**
 * Local emulator of Discord's REST v10 and Gateway v10 for driving a real discord.js Client in tests.
 *
 *   const discord = await createDiscordEmulator();
 *   const client = new Client({ intents, rest: { api: discord.apiUrl, agent } });
 *   await client.login(discord.botToken);
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Actors } from './actors.ts';
import type { ChannelRef, CommandOptions, InteractionHandle, MessageHandle, UploadSpec, UserRef } from './actors.ts';
import type { InteractionResponseView } from './interactions.ts';
import { responseView } from './interactions.ts';
import { apiChannel, apiMessage } from './render.ts';
import { EmulatorServer } from './server.ts';
import type { RequestLogEntry } from './server.ts';
import { createState } from './state.ts';
import type { ChannelRecord, DefaultIds, EmulatorState, RoleRecord, UserRecord } from './state.ts';
import { DiscordStore } from './store.ts';

export type { ChannelRef, CommandOptions, InteractionHandle, InteractionResponseView, MessageHandle, RequestLogEntry, UploadSpec, UserRef };
export type { DefaultIds, EmulatorState };
export { Intent } from './gateway.ts';

export interface DiscordEmulatorOptions {
  /** Defaults to a random token shaped like Discord's (base64 bot id . random . random). */
  botToken?: string;
  botUsername?: string;
  guildName?: string;
  /** HELLO heartbeat_interval; default 41250 like Discord. */
  heartbeatIntervalMs?: number;
  /** How long an interaction can be answered (default 3000 ms). */
  interactionTimeoutMs?: number;
  log?: (msg: string, data?: object) => void;
}

type Json = Record<string, unknown>;

export class DiscordEmulator {
  readonly botToken: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly ids: DefaultIds;
  readonly state: EmulatorState;
  /** Emits 'change' after every state mutation. */
  readonly events: EventEmitter;
  readonly #server: EmulatorServer;
  readonly #store: DiscordStore;
  readonly #actors: Actors;

  constructor(store: DiscordStore, server: EmulatorServer, botToken: string) {
    this.#store = store;
    this.#server = server;
    this.#actors = new Actors(server.ctx, (event, data) => server.gateway.dispatch(event, data));
    this.botToken = botToken;
    this.state = store.state;
    this.ids = store.ids;
    this.events = store.events;
    this.applicationId = store.state.application_id;
    this.botUserId = store.state.bot_user_id;
  }

  /** Value for discord.js `rest.api`. */
  get apiUrl(): string {
    return `${this.#server.baseUrl}/api`;
  }
  get gatewayUrl(): string {
    return this.#server.gatewayUrl;
  }
  /** Every REST request answered, in order. */
  get requests(): readonly RequestLogEntry[] {
    return this.#server.requests;
  }
  /** How many 429s were given. */
  get rateLimitedCount(): number {
    return this.#server.rateLimited;
  }
  /** Intents of every IDENTIFY received, in order. */
  get identifiedIntents(): number[] {
    return this.state.identifies.map((i) => i.intents);
  }

  close(): Promise<void> {
    this.#store.events.removeAllListeners();
    return this.#server.close();
  }

  // ---- set-up ----
  addUser(input: { username: string; bot?: boolean; id?: string; globalName?: string }): UserRecord {
    return this.#store.addUser(input);
  }
  addMember(input: { user: UserRef; guildId?: string; roles?: string[]; nick?: string }): void {
    this.#store.addMember({ ...input, userId: this.#actors.resolveUser(input.user) });
  }
  setMemberRoles(user: UserRef, roles: string[], guildId?: string): void {
    this.#store.setMemberRoles(this.#actors.resolveUser(user), roles, guildId);
  }
  addRole(input: { name: string; permissions?: bigint | string; guildId?: string; id?: string }): RoleRecord {
    return this.#store.addRole(input);
  }
  addChannel(input: { name: string; type?: number; guildId?: string; parentId?: string; topic?: string; id?: string }): ChannelRecord {
    return this.#store.addChannel(input);
  }

  // ---- faults ----
  /** route: 'POST /channels/:id/messages' or '/channels/:id/messages' (any method); ':x' matches one segment, '*' anything. */
  rateLimit(route: string, options: { retryAfterSeconds: number; times?: number; global?: boolean }): void {
    this.#server.inject(route, { kind: 'ratelimit', remaining: options.times ?? 1, retryAfterSeconds: options.retryAfterSeconds, global: options.global ?? false, status: 429 });
  }
  failNext(route: string, options: { status?: number; times?: number; body?: unknown } = {}): void {
    this.#server.inject(route, { kind: 'fail', remaining: options.times ?? 1, retryAfterSeconds: 0, global: false, status: options.status ?? 500, body: options.body });
  }
  /** false: GET /gateway/bot answers 503 and websocket upgrades are refused. */
  setGatewayAvailable(available: boolean): void {
    this.#server.gateway.available = available;
  }
  /** Closes every gateway connection (4000: client resumes; 1000: client re-identifies). */
  dropGatewayConnections(code = 4000): void {
    this.#server.gateway.dropConnections(code);
  }
  /** Pushes a raw dispatch to every identified connection (filtered by intents). */
  dispatch(event: string, data: Json): void {
    this.#server.gateway.dispatch(event, data);
  }

  // ---- acting as users ----
  userRunsCommand(input: { user: UserRef; channel: ChannelRef; name: string; subcommand?: string; group?: string; options?: CommandOptions }): InteractionHandle {
    return this.#actors.userRunsCommand(input);
  }
  userRunsMessageCommand(input: { user: UserRef; channel: ChannelRef; messageId: string; name: string }): InteractionHandle {
    return this.#actors.userRunsMessageCommand(input);
  }
  userClicksButton(input: { user: UserRef; channel?: ChannelRef; messageId: string; customId: string; stale?: boolean }): InteractionHandle {
    return this.#actors.userClicksButton(input);
  }
  userSelects(input: { user: UserRef; channel?: ChannelRef; messageId: string; customId: string; values: string[] }): InteractionHandle {
    return this.#actors.userSelects(input);
  }
  userSubmitsModal(input: { user: UserRef; interactionId?: string; customId?: string; values: Record<string, string | string[] | boolean> }): InteractionHandle {
    return this.#actors.userSubmitsModal(input);
  }
  userPostsMessage(input: { user: UserRef; channel: ChannelRef; content: string; mentionsBot?: boolean; attachments?: UploadSpec[]; replyTo?: string }): MessageHandle {
    return this.#actors.userPostsMessage(input);
  }
  userRepliesInThread(input: { user: UserRef; thread: string; content: string; mentionsBot?: boolean }): MessageHandle {
    return this.#actors.userRepliesInThread(input);
  }
  userSendsDM(input: { user: UserRef; content: string }): MessageHandle {
    return this.#actors.userSendsDM(input);
  }
  userReacts(input: { user: UserRef; channel?: ChannelRef; messageId: string; emoji: string }): void {
    this.#actors.userReacts(input);
  }

  // ---- queries ----
  /** Messages of a channel (id or name), oldest first, as API objects. */
  messages(channel: ChannelRef): Json[] {
    const id = this.#actors.resolveChannel(channel);
    return (this.state.messages[id] ?? []).map((m) => apiMessage(this.state, m, this.botUserId));
  }
  lastMessage(channel: ChannelRef): Json | undefined {
    return this.messages(channel).at(-1);
  }
  /** Any message by id, including ephemeral interaction messages. */
  message(messageId: string): Json | undefined {
    const m = this.#store.anyMessage(messageId);
    return m ? { ...apiMessage(this.state, m, this.botUserId), ...(m.ephemeral ? { ephemeral: true } : {}) } : undefined;
  }
  dmChannelOf(user: UserRef): Json | undefined {
    const ch = this.#store.dmChannel(this.#actors.resolveUser(user), false);
    return ch ? apiChannel(this.state, ch) : undefined;
  }
  threadOf(messageId: string): Json | undefined {
    const m = this.#store.anyMessage(messageId);
    const thread = m?.thread_id ? this.state.channels[m.thread_id] : undefined;
    return thread ? apiChannel(this.state, thread) : undefined;
  }
  interactionResponse(interactionId: string): InteractionResponseView | undefined {
    const rec = this.state.interactions[interactionId];
    return rec ? responseView(this.#server.ctx, rec) : undefined;
  }
  waitForInteractionResponse(interactionId: string, timeoutMs = 2000): Promise<InteractionResponseView> {
    return this.#actors.waitForResponse(interactionId, timeoutMs);
  }
  waitFor<T>(predicate: (state: EmulatorState) => T | undefined | null | false, timeoutMs = 2000): Promise<T> {
    return this.#store.waitFor(predicate, timeoutMs);
  }
  /** Bytes of an uploaded attachment. */
  attachmentData(attachmentId: string): Buffer | undefined {
    return this.#store.attachmentBytes.get(attachmentId);
  }
}

export async function createDiscordEmulator(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
  const { state, ids } = createState({
    ...(options.botUsername ? { botUsername: options.botUsername } : {}),
    ...(options.guildName ? { guildName: options.guildName } : {}),
  });
  const botToken = options.botToken ?? `${Buffer.from(ids.botId).toString('base64url')}.${randomBytes(4).toString('base64url')}.${randomBytes(27).toString('base64url')}`;
  const store = new DiscordStore(state, ids);
  const server = new EmulatorServer(store, {
    token: botToken, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250, interactionTimeoutMs: options.interactionTimeoutMs ?? 3000,
    ...(options.log ? { log: options.log } : {}),
  });
  await server.listen();
  return new DiscordEmulator(store, server, botToken);
}
