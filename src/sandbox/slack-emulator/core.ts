import { randomBytes } from 'node:crypto';
import { SlackStore } from './state.ts';
import type { LogFn, SlackChannel } from './types.ts';

export interface EmulatorConfig {
  teamId: string;
  appId: string;
  botId: string;
  botUserId: string;
  botToken: string;
  appToken: string;
  signingSecret: string;
  ackTimeoutMs: number;
  delivery: 'socket' | { httpUrl: string };
}

/** Where a response_url posts to. */
export interface ResponseTarget {
  channel: string;
  user: string;
  /** The message the interaction came from (for replace_original / delete_original). */
  messageTs?: string;
  ephemeral?: boolean;
  threadTs?: string;
}

/** A Web API error: the dispatcher turns it into `{ ok: false, error: code }`. */
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(code);
    this.code = code;
  }
}

const TRIGGER_TTL_MS = 3_000;

/** Shared internals: state store, configuration and the short-lived ids Slack hands out. */
export class EmulatorCore {
  readonly store: SlackStore;
  readonly config: EmulatorConfig;
  readonly log: LogFn;
  /** http://127.0.0.1:PORT/ once listening. */
  baseUrl = '';
  readonly fileBytes = new Map<string, Buffer>();
  private readonly triggers = new Map<string, { user: string; at: number; used: boolean }>();
  private readonly responseUrls = new Map<string, ResponseTarget>();
  private seq = 0;

  constructor(config: EmulatorConfig, log: LogFn) {
    this.config = config;
    this.log = log;
    this.store = new SlackStore({
      teamId: config.teamId,
      appId: config.appId,
      botId: config.botId,
      botUserId: config.botUserId,
    });
  }

  issueTrigger(user: string): string {
    this.seq += 1;
    const id = `${this.seq}.${Date.now()}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, { user, at: Date.now(), used: false });
    return id;
  }

  /** Trigger ids are single-use and expire after 3 s, as on Slack. Returns the user it was issued to. */
  exchangeTrigger(id: unknown): string {
    const t = typeof id === 'string' ? this.triggers.get(id) : undefined;
    if (!t) throw new ApiError('invalid_trigger_id');
    if (t.used) throw new ApiError('exchanged_trigger_id');
    if (Date.now() - t.at > TRIGGER_TTL_MS) throw new ApiError('expired_trigger_id');
    t.used = true;
    return t.user;
  }

  issueResponseUrl(target: ResponseTarget): string {
    this.seq += 1;
    const id = `${this.seq}${randomBytes(8).toString('hex')}`;
    this.responseUrls.set(id, target);
    return `${this.baseUrl}response/${id}`;
  }

  responseTarget(id: string): ResponseTarget | undefined {
    return this.responseUrls.get(id);
  }

  /** Resolves a channel argument: id, #name, or a user id (→ the bot's DM with them). */
  resolveChannel(arg: unknown): SlackChannel {
    if (typeof arg !== 'string' || arg === '') throw new ApiError('channel_not_found');
    const found = this.store.channel(arg) ?? this.store.channelByName(arg);
    if (found) return found;
    if (this.store.user(arg)) return this.store.openDm(arg);
    throw new ApiError('channel_not_found');
  }
}
