import type { ConversationRef } from '../src/chat/port.ts';
import { serializeRef } from '../src/chat/port.ts';
import { errorMessage } from '../src/core/errors.ts';
import type { FlowContext } from '../src/flow.ts';

/**
 * Writes into chat that every flow shares: paced per channel, and posted once per ledger key.
 */

// Chat pacing: never more than CHAT_MESSAGES_PER_SECOND into one channel, so Herald causes no 429s.

/** Per channel: when its last write finished (a chain, so writes to one channel go one at a time). */
const lastWrite = new Map<string, Promise<number>>();
export async function paced<T>(app: FlowContext, channel: ConversationRef, send: () => Promise<T>): Promise<T> {
  const key = `${channel.platform}:${channel.workspace}:${channel.channel}`;
  const gap = 1_000 / app.config.CHAT_MESSAGES_PER_SECOND;
  const previous = lastWrite.get(key) ?? Promise.resolve(0);
  let finished!: (at: number) => void;
  lastWrite.set(key, new Promise<number>((resolve) => (finished = resolve)));
  // Spaced from the previous write's answer, not its start: however long a request spends on the
  // way, two never reach the platform less than `gap` apart.
  const wait = (await previous) + gap - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  try {
    return await send();
  } finally {
    finished(Date.now());
  }
}


/** A claim on posting a chat message older than this is taken to be a crashed attempt. */
const STALE_CLAIM_MS = 5 * 60_000;

/**
 * Posts a chat message once per ledger key. A failed post is recorded as failed and thrown (the
 * job retries it); a claim left pending by a crash is retried once it is stale. Chat platforms have
 * no idempotency key, so this is at-most-once per attempt, never "never".
 */
export async function postOnce(app: FlowContext, key: string, send: () => Promise<ConversationRef>): Promise<string | undefined> {
  const claim = await app.stores.ledger.begin(key, 'chat');
  if (claim.status === 'already-done') return typeof claim.entry.result?.ref === 'string' ? claim.entry.result.ref : undefined;
  if (claim.status === 'failed-before' && !(await app.stores.ledger.reopen(key))) return undefined;
  if (claim.status === 'in-progress' && app.clock.now().getTime() - claim.entry.updatedAt.getTime() < STALE_CLAIM_MS) return undefined;
  try {
    const ref = serializeRef(await send());
    await app.stores.ledger.complete(key, { ref });
    return ref;
  } catch (error) {
    await app.stores.ledger.fail(key, errorMessage(error));
    throw error;
  }
}

