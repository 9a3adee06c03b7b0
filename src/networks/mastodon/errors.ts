import { MastoDeserializeError, MastoHttpError, MastoTimeoutError, MastoUnexpectedError } from 'masto';
import { NetworkError, type NetworkFailure } from '../port.ts';

/**
 * 403 messages that mean "this token no longer works" (Mastodon: revoked scopes, a disabled or
 * suspended login; GoToSocial: a token with no account behind it). Any other 403 is a refusal of
 * this particular request, not of the credentials.
 */
const revokedMessage = /access token|outside the authorized scopes|login is (currently )?disabled|account (is )?(suspended|disabled)|unauthorized|not authorized/i;
/**
 * Mastodon refuses content with 422; GoToSocial answers 400 for some of the same refusals
 * ("text with spoiler exceed max chars (500)", an unsupported media type).
 */
const refusedMessage = /exceed(s|ed)? max|too long|character limit|max(imum)? chars|media type|could not process/i;

/**
 * Milliseconds to wait, from the response's headers: Retry-After (seconds or an HTTP date), else
 * Mastodon's X-RateLimit-Reset (an ISO 8601 time).
 */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers.get('x-ratelimit-reset');
  if (reset) {
    const at = Date.parse(reset);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}

function classify(status: number, message: string): NetworkFailure {
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'auth_revoked';
  if (status === 403) return revokedMessage.test(message) ? 'auth_revoked' : 'invalid_request';
  if (status === 408 || status >= 500) return 'unavailable';
  if (status === 422 || status === 413) return 'content_refused';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 400 && refusedMessage.test(message)) return 'content_refused';
  return 'invalid_request';
}

/** Turns whatever masto threw into Herald's NetworkError (unchanged when it already is one). */
export function toNetworkError(error: unknown, what: string): NetworkError {
  if (error instanceof NetworkError) return error;
  if (error instanceof MastoHttpError) {
    const message = [error.message, error.description].filter(Boolean).join(': ') || `HTTP ${error.statusCode}`;
    const failure = classify(error.statusCode, message);
    // masto keeps the failed Response as the cause; its headers say how long to wait.
    const headers = error.cause instanceof Response ? error.cause.headers : undefined;
    const wait = failure === 'rate_limited' || failure === 'unavailable' ? retryAfterMs(headers) : undefined;
    return new NetworkError('mastodon', failure, `Mastodon ${what} failed (${error.statusCode}): ${message}`, {
      status: error.statusCode,
      cause: error,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
  }
  // A response masto could not read (an HTML error page from a proxy, a truncated body): the
  // instance is not answering as a Mastodon server right now. masto drops the status code here.
  if (error instanceof MastoUnexpectedError || error instanceof MastoDeserializeError) {
    return new NetworkError('mastodon', 'unavailable', `Mastodon ${what} failed: ${error.message}`, { cause: error });
  }
  const name = error instanceof Error ? error.name : '';
  const transient =
    error instanceof MastoTimeoutError ||
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    // undici's "fetch failed" (refused, reset, DNS), and masto 8 reading an HTML error page: it
    // deserialises text/html to undefined and then fails to destructure it (neet/masto.js#1424).
    (error instanceof TypeError && /fetch failed|network|socket|destructure/i.test(error.message));
  const message = error instanceof Error ? error.message : String(error);
  return new NetworkError('mastodon', transient ? 'unavailable' : 'invalid_request', `Mastodon ${what} failed: ${message}`, { cause: error });
}
