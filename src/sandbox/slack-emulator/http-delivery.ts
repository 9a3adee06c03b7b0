import { createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SocketAck } from './socket-mode.ts';
import type { EnvelopeType, Obj } from './types.ts';

export function slackSignature(secret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Encodes a payload the way Slack posts it: events as JSON, commands as form fields, interactions as payload=<json>. */
export function encodeForHttp(type: EnvelopeType | 'url_verification', payload: Obj): { body: string; contentType: string } {
  if (type === 'slash_commands') {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(payload)) if (v !== undefined && v !== null) form.set(k, String(v));
    return { body: form.toString(), contentType: 'application/x-www-form-urlencoded' };
  }
  if (type === 'interactive') {
    return { body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), contentType: 'application/x-www-form-urlencoded' };
  }
  return { body: JSON.stringify(payload), contentType: 'application/json' };
}

export interface HttpPostOptions {
  url: string;
  secret: string;
  retryAttempt: number;
  retryReason: string;
  timeoutMs: number;
  /** Sign with a wrong secret, to prove the app rejects it. */
  badSignature?: boolean;
}

export interface HttpAck extends SocketAck {
  status?: number;
}

/** POSTs one signed delivery; the response body is the ack. Non-2xx or timeout → not acked. */
export async function postToApp(type: EnvelopeType | 'url_verification', payload: Obj, opts: HttpPostOptions, signal: AbortSignal): Promise<HttpAck> {
  const { body, contentType } = encodeForHttp(type, payload);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(opts.badSignature ? `${opts.secret}-wrong` : opts.secret, timestamp, body),
  };
  if (opts.retryAttempt > 0) {
    headers['x-slack-retry-num'] = String(opts.retryAttempt);
    headers['x-slack-retry-reason'] = opts.retryReason || 'http_timeout';
  }
  const started = performance.now();
  try {
    const res = await fetch(opts.url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]),
    });
    const text = await res.text();
    const latencyMs = performance.now() - started;
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    const acked = res.status >= 200 && res.status < 300;
    return { delivered: true, acked, status: res.status, latencyMs, ...(parsed !== undefined ? { payload: parsed } : {}) };
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    return { delivered: name === 'TimeoutError', acked: false, error: name === 'TimeoutError' ? 'ack_timeout' : String(err) };
  }
}
