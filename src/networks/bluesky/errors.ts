import { XRPCError } from '@atproto/api';
import { NetworkError, type NetworkFailure } from '../port.ts';

/** XRPC error names that mean "these credentials no longer work": reconnect the account. */
const authErrors = new Set(['AuthenticationRequired', 'ExpiredToken', 'InvalidToken', 'AccountTakedown', 'AccountDeactivated', 'AuthFactorTokenRequired']);
/** Names (and a message pattern, for the PDS's generic InvalidRequest) for content the network refused. */
const contentErrors = new Set(['InvalidRecord', 'BlobTooLarge', 'InvalidMimeType', 'RecordTooLarge', 'PayloadTooLarge', 'InvalidBlob', 'UnsupportedMimeType']);
const contentMessage = /^Invalid app\.bsky\.[\w.]+ record|must not be (longer|larger)|blob|mime ?type|too large/i;
const notFoundErrors = new Set(['RecordNotFound', 'NotFound', 'ProfileNotFound', 'RepoNotFound']);

/** Milliseconds to wait from rate-limit headers: ratelimit-reset (epoch seconds) or Retry-After. */
export function retryAfterMs(headers: Record<string, string | undefined> | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const reset = Number(headers['ratelimit-reset']);
  if (headers['ratelimit-reset'] && Number.isFinite(reset)) return Math.max(0, reset * 1000 - now);
  const retryAfter = headers['retry-after'];
  if (!retryAfter) return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function classify(error: XRPCError): NetworkFailure {
  const status: number = error.status;
  const name = error.error ?? '';
  if (status === 429 || name === 'RateLimitExceeded') return 'rate_limited';
  if (status === 401 || authErrors.has(name)) return 'auth_revoked';
  // 1 is XRPC's "Unknown": no response at all (connection refused, reset, timeout).
  if (status >= 500 || status < 200 || name === 'InvalidResponse') return 'unavailable';
  if (status === 413 || contentErrors.has(name)) return 'content_refused';
  if (notFoundErrors.has(name) || status === 404) return 'not_found';
  if (status === 400 && contentMessage.test(error.message)) return 'content_refused';
  return 'invalid_request';
}

/** Turns whatever @atproto/api threw into Herald's NetworkError (unchanged when it already is one). */
export function toNetworkError(error: unknown, what: string): NetworkError {
  if (error instanceof NetworkError) return error;
  if (error instanceof XRPCError) {
    const failure = classify(error);
    const wait = failure === 'rate_limited' ? retryAfterMs(error.headers) : undefined;
    return new NetworkError('bluesky', failure, `Bluesky ${what} failed: ${error.error ?? error.status} ${error.message}`.trim(), {
      status: error.status,
      cause: error,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
  }
  const name = error instanceof Error ? error.name : '';
  const transient = name === 'TimeoutError' || name === 'AbortError' || (error instanceof TypeError && /fetch failed/i.test(error.message));
  const message = error instanceof Error ? error.message : String(error);
  return new NetworkError('bluesky', transient ? 'unavailable' : 'invalid_request', `Bluesky ${what} failed: ${message}`, { cause: error });
}
