import type { ConversationRef } from '../src/chat/port.ts';
import { serializeRef } from '../src/chat/port.ts';
import { errorMessage } from '../src/core/errors.ts';
import type { FlowContext } from '../src/flow.ts';

/** What a ledger entry keeps of a finished side effect. */
type LedgerResult = Record<string, string | number | boolean | null>;

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


/** A claim older than this is taken to be a crashed attempt. */
const STALE_CLAIM_MS = 5 * 60_000;

/**
 * Runs `work` once per ledger key across retries and restarts. A finished key answers with what it
 * stored; a failure is recorded and thrown (the job retries it); a claim left by a crash is taken
 * over once stale; a fresh claim of another run means this run does nothing.
 */
export async function runOnce(app: FlowContext, key: string, kind: string, work: () => Promise<LedgerResult>): Promise<LedgerResult | undefined> {
  const claim = await app.stores.ledger.begin(key, kind);
  if (claim.status === 'already-done') return claim.entry.result ?? {};
  if (claim.status === 'failed-before' && !(await app.stores.ledger.reopen(key))) return undefined;
  if (claim.status === 'in-progress' && app.clock.now().getTime() - claim.entry.updatedAt.getTime() < STALE_CLAIM_MS) return undefined;
  try {
    const result = await work();
    await app.stores.ledger.complete(key, result);
    return result;
  } catch (error) {
    await app.stores.ledger.fail(key, errorMessage(error));
    throw error;
  }
}

/**
 * Posts a chat message once per ledger key. Chat platforms have no idempotency key, so this is
 * at-most-once per attempt, never "never". Answers the message's serialised reference.
 */
export async function postOnce(app: FlowContext, key: string, send: () => Promise<ConversationRef>): Promise<string | undefined> {
  const result = await runOnce(app, key, 'chat', async () => ({ ref: serializeRef(await send()) }));
  return typeof result?.ref === 'string' ? result.ref : undefined;
}
