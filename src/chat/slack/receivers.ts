import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPModuleFunctions, type App, type Logger as BoltLogger, type Receiver, type ReceiverEvent, type webApi } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import type { Logger } from '../../log.ts';

/**
 * Herald's own Bolt receivers. Bolt's stock ones leave a payload of a kind Bolt cannot classify
 * unacknowledged (Slack then retries it for minutes) and, in Socket Mode, let a malformed envelope
 * become an unhandled rejection. These ack every envelope, log what they could not use, and never throw.
 * The HTTP one mounts on Herald's own server instead of opening a port of its own.
 */

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function payloadType(body: unknown): string {
  if (typeof body !== 'object' || body === null) return typeof body;
  const b = body as Record<string, unknown>;
  if (b.event !== undefined) return 'event_callback';
  if (b.command !== undefined) return 'slash_command';
  return typeof b.type === 'string' ? b.type.slice(0, 40) : `(${typeof b.type})`;
}

/** Hands one envelope to Bolt and acks it afterwards if nothing did (unknown or malformed payloads). */
export async function deliver(app: App | undefined, event: ReceiverEvent, log: Logger, facts: Record<string, unknown>): Promise<void> {
  let acked = false;
  const ack = async (response?: unknown): Promise<void> => {
    if (acked) return;
    acked = true;
    await event.ack(response);
  };
  let failed = false;
  try {
    if (app) await app.processEvent({ ...event, ack });
  } catch (error) {
    failed = true;
    log.warn({ ...facts, payloadType: payloadType(event.body), err: message(error) }, 'Slack payload could not be processed');
  }
  if (!acked) {
    if (!failed) log.warn({ ...facts, payloadType: payloadType(event.body) }, 'Slack payload of an unknown kind acknowledged and ignored');
    await ack().catch((error: unknown) => log.warn({ ...facts, err: message(error) }, 'Slack ack failed'));
  }
}

interface SocketEnvelope {
  ack: (response?: unknown) => Promise<void>;
  envelope_id?: string;
  type?: string;
  body?: unknown;
  retry_num?: number;
  retry_reason?: string;
}

/** The Socket Mode client's internals this receiver wraps; checked at run time, skipped if absent. */
interface SocketInternals {
  onWebSocketMessage?: (data: unknown, isBinary: boolean) => Promise<void>;
  send?: (envelopeId: string, body?: object) => Promise<void>;
}

export class SocketReceiver implements Receiver {
  readonly client: SocketModeClient;
  #app: App | undefined;
  readonly #log: Logger;

  constructor(options: { appToken: string; clientOptions: webApi.WebClientOptions; logger: BoltLogger; log: Logger }) {
    this.#log = options.log;
    this.client = new SocketModeClient({ appToken: options.appToken, logger: options.logger, clientOptions: options.clientOptions });
    this.client.on('slack_event', (envelope: SocketEnvelope) => {
      void this.#onEnvelope(envelope);
    });
    this.#guardMessages();
  }

  init(app: App): void {
    this.#app = app;
  }

  async start(): Promise<unknown> {
    return this.client.start();
  }

  async stop(): Promise<void> {
    await this.client.disconnect();
  }

  async #onEnvelope(envelope: SocketEnvelope): Promise<void> {
    const facts = { transport: 'socket', envelopeId: envelope.envelope_id, envelopeType: envelope.type, retryNum: envelope.retry_num };
    try {
      const body = (typeof envelope.body === 'object' && envelope.body !== null ? envelope.body : { value: envelope.body }) as ReceiverEvent['body'];
      await deliver(this.#app, { body, ack: envelope.ack, retryNum: envelope.retry_num, retryReason: envelope.retry_reason }, this.#log, facts);
    } catch (error) {
      this.#log.warn({ ...facts, err: message(error) }, 'Slack envelope handling failed');
    }
  }

  /**
   * @slack/socket-mode 3.1 reads `payload.event.type` of every events_api envelope inside an async
   * listener, so an envelope without an event becomes an unhandled rejection. Wrap the listener: catch,
   * log, and ack the envelope so Slack does not send it again.
   */
  #guardMessages(): void {
    const internals = this.client as unknown as SocketInternals;
    const read = internals.onWebSocketMessage;
    const send = internals.send;
    if (typeof read !== 'function' || typeof send !== 'function') {
      this.#log.warn('Slack Socket Mode client internals changed; malformed envelopes are not guarded');
      return;
    }
    this.client.removeAllListeners('ws_message');
    this.client.on('ws_message', (data: unknown, isBinary: boolean) => {
      read.call(this.client, data, isBinary).catch((error: unknown) => {
        const id = envelopeIdOf(data);
        this.#log.warn({ transport: 'socket', envelopeId: id, err: message(error) }, 'Slack Socket Mode envelope could not be read; acknowledged and ignored');
        if (id) send.call(this.client, id, {}).catch((e: unknown) => this.#log.warn({ envelopeId: id, err: message(e) }, 'Slack ack failed'));
      });
    });
  }
}

function envelopeIdOf(data: unknown): string | undefined {
  try {
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer);
    const parsed: unknown = JSON.parse(text);
    const id = (parsed as { envelope_id?: unknown } | null)?.envelope_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/** Slack's HTTP mode on Herald's HTTP server: events, commands and interactivity all arrive at one path. */
export class MountReceiver implements Receiver {
  static readonly path = '/slack/events';
  #app: App | undefined;
  #running = false;
  #mounted = false;
  readonly #options: { signingSecret: string; mount: (prefix: string, handler: RequestHandler) => void; log: Logger; logger: BoltLogger };

  constructor(options: { signingSecret: string; mount: (prefix: string, handler: RequestHandler) => void; log: Logger; logger: BoltLogger }) {
    this.#options = options;
  }

  init(app: App): void {
    this.#app = app;
  }

  async start(): Promise<void> {
    if (!this.#mounted) {
      this.#options.mount(MountReceiver.path, (req, res) => this.handle(req, res));
      this.#mounted = true;
    }
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { log } = this.#options;
    const reply = (status: number): void => {
      if (!res.headersSent) HTTPModuleFunctions.buildNoBodyResponse(res, status);
    };
    try {
      if (!this.#running || !this.#app) return reply(503);
      if (req.method !== 'POST') return reply(405);
      let buffered;
      try {
        buffered = await HTTPModuleFunctions.parseAndVerifyHTTPRequest({ signingSecret: this.#options.signingSecret, logger: this.#options.logger }, req);
      } catch (error) {
        log.warn({ transport: 'http', err: message(error) }, 'Slack request refused: signature or body did not verify');
        return reply(401);
      }
      let body: unknown;
      try {
        body = HTTPModuleFunctions.parseHTTPRequestBody(buffered);
      } catch (error) {
        log.warn({ transport: 'http', err: message(error) }, 'Slack request body could not be parsed');
        return reply(400);
      }
      const b = (typeof body === 'object' && body !== null ? body : { value: body }) as ReceiverEvent['body'];
      if (b.ssl_check) return HTTPModuleFunctions.buildSSLCheckResponse(res);
      if (b.type === 'url_verification') return HTTPModuleFunctions.buildUrlVerificationResponse(res, b);
      const ack = async (response?: unknown): Promise<void> => {
        if (!res.headersSent) HTTPModuleFunctions.buildContentResponse(res, response);
      };
      const retryNum = HTTPModuleFunctions.extractRetryNumFromHTTPRequest(req);
      const retryReason = HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(req);
      await deliver(this.#app, { body: b, ack, retryNum, retryReason }, log, { transport: 'http', retryNum });
    } catch (error) {
      log.warn({ transport: 'http', err: message(error) }, 'Slack request handling failed');
      reply(500);
    }
  }
}
