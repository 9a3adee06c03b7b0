import { networks } from '../../core/networks.ts';
import type { Logger } from '../../log.ts';
import { NetworkError, type InboxItem, type NetworkFailure, type PostMetrics, type PublishInput, type PublishResult, type PublishedPost, type SocialNetwork } from '../port.ts';

/**
 * The connector for the sandbox's simulated network (src/sandbox/network.ts). It speaks that
 * network's small JSON API over HTTP like any other connector speaks its network's, so publishing,
 * the inbox, replies and metrics run through Herald's real code paths in the sandbox.
 */
export interface SandboxNetworkOptions {
  /** The network's API, e.g. http://127.0.0.1:3000/sandbox/net */
  service: string;
  token: string;
  log: Logger;
  timeoutMs?: number;
}

function classify(status: number): NetworkFailure {
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'auth_revoked';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 413 || status === 422) return 'content_refused';
  if (status >= 500 || status === 408) return 'unavailable';
  return 'invalid_request';
}

export function createSandboxNetwork(options: SandboxNetworkOptions): SocialNetwork {
  const base = options.service.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call<T>(what: string, method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new NetworkError('sandbox', 'unavailable', `Sandbox network ${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const payload = (await response.json().catch(() => undefined)) as (T & { error?: string }) | undefined;
    if (response.ok && (typeof payload !== 'object' || payload === null)) {
      throw new NetworkError('sandbox', 'unavailable', `Sandbox network ${what} failed: an unreadable answer (${response.status})`, { status: response.status });
    }
    if (!response.ok || !payload) {
      const seconds = Number(response.headers.get('retry-after'));
      const failure = classify(response.status);
      throw new NetworkError('sandbox', failure, `Sandbox network ${what} failed (${response.status}): ${payload?.error ?? 'no details'}`, {
        status: response.status,
        ...(failure === 'rate_limited' && Number.isFinite(seconds) ? { retryAfterMs: seconds * 1_000 } : {}),
      });
    }
    return payload;
  }

  const publishBody = (input: PublishInput, replyTo?: string): unknown => ({
    posts: input.posts,
    images: input.images.map((image) => ({ alt: image.alt, mimeType: image.mimeType, bytes: image.bytes.length })),
    idempotencyKey: input.idempotencyKey,
    ...(replyTo ? { replyTo } : {}),
  });

  return {
    network: 'sandbox',
    limits: () => networks.sandbox,
    async verify() {
      return call<{ handle: string; displayName: string; followers: number; url: string }>('account check', 'GET', '/me');
    },
    publish(input): Promise<PublishResult> {
      return call('publish', 'POST', '/posts', publishBody(input));
    },
    async findPublished(input): Promise<PublishedPost[]> {
      return (await call<PublishResult>('lookup', 'GET', `/posts?idempotencyKey=${encodeURIComponent(input.idempotencyKey)}`)).posts;
    },
    async delete(remoteId) {
      await call('delete', 'DELETE', `/posts/${encodeURIComponent(remoteId)}`);
    },
    async fetchInbox(cursor) {
      const page = await call<{ items: (Omit<InboxItem, 'createdAt'> & { createdAt: string })[]; cursor?: string }>('inbox', 'GET', `/inbox${cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`}`);
      if (!Array.isArray(page.items)) throw new NetworkError('sandbox', 'unavailable', 'Sandbox network inbox failed: an answer without items');
      return { items: page.items.map((item) => ({ ...item, createdAt: new Date(item.createdAt) })), cursor: page.cursor };
    },
    reply(toRemoteId, input): Promise<PublishResult> {
      return call('reply', 'POST', '/posts', publishBody(input, toRemoteId));
    },
    async fetchMetrics(remoteIds): Promise<PostMetrics[]> {
      if (remoteIds.length === 0) return [];
      const answer = await call<{ metrics: PostMetrics[] }>('metrics', 'GET', `/metrics?ids=${remoteIds.map(encodeURIComponent).join(',')}`);
      if (!Array.isArray(answer.metrics)) throw new NetworkError('sandbox', 'unavailable', 'Sandbox network metrics failed: an answer without metrics');
      return answer.metrics;
    },
    async followers() {
      return (await call<{ followers: number }>('followers', 'GET', '/followers')).followers;
    },
  };
}
