import { randomBytes } from 'node:crypto';
import type { EmulatorCore } from './core.ts';
import { postToApp, type HttpAck } from './http-delivery.ts';
import type { SocketModeHub } from './socket-mode.ts';
import type { DeliveryResult, EnvelopeType, Obj, SendOptions } from './types.ts';

export interface DeliveryRecord {
  deliveryId: string;
  type: EnvelopeType;
  payload: Obj;
  attempts: DeliveryResult[];
}

export interface HubSendOptions extends SendOptions {
  /** HTTP delivery only: sign with a wrong secret. */
  badSignature?: boolean;
}

/**
 * Sends envelopes to the app over Socket Mode or signed HTTP and remembers each delivery so it can be
 * redelivered verbatim with retry information.
 */
export class DeliveryHub {
  readonly records = new Map<string, DeliveryRecord>();
  private readonly core: EmulatorCore;
  private readonly socket: SocketModeHub;
  private readonly abort = new AbortController();
  private seq = 0;

  constructor(core: EmulatorCore, socket: SocketModeHub) {
    this.core = core;
    this.socket = socket;
  }

  /** Wraps an event in the events_api `event_callback` payload with a unique event_id. */
  eventCallback(event: Obj): Obj {
    const { teamId, appId, botUserId } = this.core.config;
    const now = Date.now();
    return {
      token: 'verification-token',
      team_id: teamId,
      api_app_id: appId,
      event: { event_ts: `${Math.floor(now / 1000)}.${String(now % 1000).padStart(3, '0')}000`, ...event },
      type: 'event_callback',
      event_id: `Ev${String(++this.seq).padStart(8, '0')}${randomBytes(3).toString('hex').toUpperCase()}`,
      event_time: Math.floor(now / 1000),
      authorizations: [{ enterprise_id: null, team_id: teamId, user_id: botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: `4-${randomBytes(12).toString('hex')}`,
    };
  }

  async send(type: EnvelopeType, payload: Obj, opts: HubSendOptions = {}): Promise<DeliveryResult> {
    const deliveryId = opts.deliveryId ?? `Dlv${String(++this.seq).padStart(8, '0')}`;
    let record = this.records.get(deliveryId);
    if (!record) {
      record = { deliveryId, type, payload, attempts: [] };
      this.records.set(deliveryId, record);
    }
    const retryAttempt = opts.retryAttempt ?? 0;
    const retryReason = opts.retryReason ?? '';
    const envelopeId = opts.envelopeId ?? `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}-${++this.seq}`;
    const timeoutMs = opts.timeoutMs ?? this.core.config.ackTimeoutMs;
    const delivery = this.core.config.delivery;
    let ack: HttpAck;
    if (delivery === 'socket') {
      ack = await this.socket.send(
        {
          envelope_id: envelopeId,
          type,
          payload,
          accepts_response_payload: opts.acceptsResponsePayload ?? type !== 'events_api',
          retry_attempt: retryAttempt,
          retry_reason: retryReason,
        },
        timeoutMs,
      );
    } else {
      ack = await postToApp(
        type,
        payload,
        {
          url: delivery.httpUrl,
          secret: this.core.config.signingSecret,
          retryAttempt,
          retryReason: retryReason || 'http_timeout',
          timeoutMs,
          ...(opts.badSignature ? { badSignature: true } : {}),
        },
        this.abort.signal,
      );
    }
    const eventId = typeof payload.event_id === 'string' ? payload.event_id : undefined;
    const result: DeliveryResult = { deliveryId, envelopeId, type, retryAttempt, ...(eventId ? { eventId } : {}), ...ack };
    record.attempts.push(result);
    this.core.log('slack emulator: delivery', { deliveryId, type, acked: result.acked, latencyMs: result.latencyMs });
    return result;
  }

  /** Sends the exact same payload again as Slack's retry: retry_attempt + 1 and a retry reason. */
  redeliver(deliveryId: string, opts: { reason?: string } = {}): Promise<DeliveryResult> {
    const record = this.records.get(deliveryId);
    if (!record) return Promise.reject(new Error(`unknown delivery ${deliveryId}`));
    const reason = opts.reason ?? (this.core.config.delivery === 'socket' ? 'timeout' : 'http_timeout');
    return this.send(record.type, record.payload, { deliveryId, retryAttempt: record.attempts.length, retryReason: reason });
  }

  close(): void {
    this.abort.abort();
  }
}
