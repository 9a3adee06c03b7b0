import { describe, expect, it } from 'vitest';
import { decodeTid, encodeTid, postRecordKey, tidPattern } from '../../src/networks/bluesky/tid.ts';

describe('Bluesky record keys (TIDs derived from the idempotency key)', () => {
  const dueAt = new Date('2026-03-02T09:00:00.000Z');

  it('are valid TIDs, stable across calls, and distinct per index', () => {
    const keys = Array.from({ length: 25 }, (_, i) => postRecordKey('publish:d1:3:bluesky', dueAt, i));
    for (const key of keys) expect(key).toMatch(tidPattern);
    expect(keys).toEqual(Array.from({ length: 25 }, (_, i) => postRecordKey('publish:d1:3:bluesky', new Date(dueAt.getTime()), i)));
    expect(new Set(keys).size).toBe(keys.length);
    // Thread order is record-key order.
    expect([...keys].sort()).toEqual(keys);
  });

  it('carry dueAt (to the millisecond) as their timestamp', () => {
    const { timestampMicros } = decodeTid(postRecordKey('k', dueAt, 0));
    expect(timestampMicros / 1000n).toBe(BigInt(dueAt.getTime()));
  });

  it('differ between publishes due at the same instant in about twenty bits, not ten', () => {
    const distinct = (n: number): number => new Set(Array.from({ length: n }, (_, i) => postRecordKey(`publish:draft${i}:1:bluesky`, dueAt, 0))).size;
    expect(distinct(100)).toBe(100);
    // Birthday bound: 5000 keys in 2^20 values collide about 12 times; with the clock id alone
    // (2^10 values) they would collide thousands of times. (A collision is detected at publish time.)
    expect(5000 - distinct(5000)).toBeLessThan(25);
  });

  it('encode and decode the spec layout', () => {
    expect(encodeTid(0n, 0)).toBe('2222222222222');
    expect(encodeTid(2n ** 53n - 1n, 1023)).toBe('bzzzzzzzzzzzz');
    expect(decodeTid(encodeTid(1_700_000_000_000_123n, 517))).toEqual({ timestampMicros: 1_700_000_000_000_123n, clockId: 517 });
    // A known TID from the atproto docs round-trips.
    expect(encodeTid(decodeTid('3jzfcijpj2z2a').timestampMicros, decodeTid('3jzfcijpj2z2a').clockId)).toBe('3jzfcijpj2z2a');
    expect(() => postRecordKey('k', new Date(Number.NaN), 0)).toThrow(RangeError);
  });
});
