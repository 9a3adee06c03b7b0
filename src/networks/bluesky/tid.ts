import { createHash } from 'node:crypto';

/**
 * Record keys for Herald's Bluesky posts. A post's key is a TID (the lexicon's record key type for
 * app.bsky.feed.post) derived from the publish's idempotency key, its due time and the post's index,
 * so a retry after a crash writes under the same key and can never make a second post.
 *
 * A TID is 64 bits written as 13 base32-sortable characters: a zero bit, 53 bits of microseconds
 * since the epoch, and a 10-bit clock id.
 */
const alphabet = '234567abcdefghijklmnopqrstuvwxyz';

/** The syntax of a TID (atproto spec): 13 characters, the first one keeping the top bit zero. */
export const tidPattern = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/;

const maxTimestamp = 2n ** 53n - 1n;

export function encodeTid(timestampMicros: bigint, clockId: number): string {
  if (timestampMicros < 0n || timestampMicros > maxTimestamp) throw new RangeError(`TID timestamp out of range: ${timestampMicros}`);
  let value = (timestampMicros << 10n) | BigInt(clockId & 0x3ff);
  let out = '';
  for (let i = 0; i < 13; i++) {
    out = alphabet[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

export function decodeTid(tid: string): { timestampMicros: bigint; clockId: number } {
  if (!tidPattern.test(tid)) throw new RangeError(`not a TID: ${tid}`);
  let value = 0n;
  for (const char of tid) value = (value << 5n) | BigInt(alphabet.indexOf(char));
  return { timestampMicros: value >> 10n, clockId: Number(value & 0x3ffn) };
}

function hash32(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/**
 * The record key of post `index` of the publish `idempotencyKey` due at `dueAt`.
 *
 * Timestamp: dueAt in microseconds, plus a sub-millisecond offset (0–999 µs) from a hash of the
 * key, plus the index. dueAt has millisecond precision, so those microseconds are free to use, and
 * two posts due at the same instant (09:00:00.000 is a popular time) differ in about twenty bits
 * instead of the clock id's ten; the index keeps a thread's keys in thread order.
 * Clock id: ten bits of a hash of the key and the index.
 */
export function postRecordKey(idempotencyKey: string, dueAt: Date, index: number): string {
  const ms = dueAt.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`dueAt is not a valid date: ${String(dueAt)}`);
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`post index must be a non-negative integer: ${index}`);
  const offset = hash32(`herald:bluesky:${idempotencyKey}`) % 1000;
  const timestamp = BigInt(ms) * 1000n + BigInt(offset + index);
  return encodeTid(timestamp, hash32(`herald:bluesky:${idempotencyKey}#${index}`));
}
