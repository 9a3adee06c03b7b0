import { createHash } from 'node:crypto';
import type { Logger } from '../src/log.ts';
import type { InboxWatch, SocialNetwork } from '../src/networks/port.ts';

/**
 * The inbox's push channels: for each account whose network can push (Mastodon's streaming API),
 * one watch in this process that asks for a fetch as soon as the network says something arrived.
 * The recurring fetch job stays the fallback and opens the watch on its first run, so an account
 * connected later, or a stream that cannot connect, is still read at its polling interval.
 */
export interface InboxStreams {
  /** Keeps one watch open for the account with these credentials (a new token replaces it). */
  keep(accountId: string, credentials: Record<string, string>, client: SocialNetwork): void;
  /** Closes the account's watch (removed, or its credentials failed). */
  drop(accountId: string): void;
  /** Runs `fetch` for the account now, or once more after the fetch already running ends. */
  fetch(accountId: string): Promise<void>;
  /** Closes every watch and waits for the fetches under way. */
  close(): Promise<void>;
  /** How many watches are open (readiness and tests). */
  readonly size: number;
}

export interface InboxStreamOptions {
  /** One fetch of the account (never two at once: the streams serialise them). */
  fetch: (accountId: string) => Promise<void>;
  log: Logger;
  /** Notifications that come close together make one fetch (default 300 ms). */
  debounceMs?: number;
}

const fingerprint = (credentials: Record<string, string>): string =>
  createHash('sha256').update(JSON.stringify(Object.entries(credentials).sort(([a], [b]) => a.localeCompare(b)))).digest('hex').slice(0, 16);

export function createInboxStreams(options: InboxStreamOptions): InboxStreams {
  const debounceMs = options.debounceMs ?? 300;
  const watches = new Map<string, { watch: InboxWatch; key: string; timer?: ReturnType<typeof setTimeout> }>();
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  let closed = false;

  const fetch = (accountId: string): Promise<void> => {
    const current = running.get(accountId);
    if (current) {
      // A notification during a fetch may have come after its page was read: one more run.
      again.add(accountId);
      return current;
    }
    const run = (async () => {
      try {
        do {
          again.delete(accountId);
          await options.fetch(accountId);
        } while (again.has(accountId) && !closed);
      } finally {
        running.delete(accountId);
      }
    })();
    running.set(accountId, run);
    return run;
  };

  const drop = (accountId: string): void => {
    const entry = watches.get(accountId);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.watch.close();
    watches.delete(accountId);
    options.log.info({ accountId }, 'inbox stream closed');
  };

  return {
    keep(accountId, credentials, client) {
      if (closed || !client.watchInbox) return;
      const key = fingerprint(credentials);
      if (watches.get(accountId)?.key === key) return;
      drop(accountId);
      const entry: { watch?: InboxWatch; key: string; timer?: ReturnType<typeof setTimeout> } = { key };
      entry.watch = client.watchInbox(() => {
        if (closed || entry.timer) return;
        entry.timer = setTimeout(() => {
          delete entry.timer;
          if (!closed) void fetch(accountId);
        }, debounceMs);
      });
      watches.set(accountId, entry as { watch: InboxWatch; key: string });
      options.log.info({ accountId, network: client.network }, 'inbox stream opened');
    },
    drop,
    fetch,
    async close() {
      closed = true;
      for (const accountId of [...watches.keys()]) drop(accountId);
      await Promise.allSettled([...running.values()]);
    },
    get size() {
      return watches.size;
    },
  };
}
