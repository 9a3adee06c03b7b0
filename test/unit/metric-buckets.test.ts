import { describe, expect, it } from 'vitest';
import { decodePost, encodePost, type BucketPost } from '../../src/store/metrics.ts';

describe('a day bucket’s post entries', () => {
  const post: BucketPost = { a: 'acc-1', n: 'bluesky', t: new Date('2026-03-10T00:03:00Z'), d: new Date('2026-03-09T23:58:00Z'), u: 'https://bsky.app/p/1', x: 'Spring menu | 20% off' };

  it('round-trip through one string, with and without counters', () => {
    expect(decodePost(encodePost(post))).toEqual(post);
    expect(decodePost(encodePost({ ...post, e: 13, i: 0 }))).toEqual({ ...post, e: 13, i: 0 });
    expect(typeof encodePost(post)).toBe('string');
  });

  it('keep the separator out of the text fields', () => {
    const odd = { ...post, x: 'a\u001fb', u: 'https://x/\u001f' };
    expect(decodePost(encodePost(odd))).toEqual({ ...post, x: 'a b', u: 'https://x/ ' });
  });

  it('still read the objects of buckets written before entries were strings', () => {
    expect(decodePost({ ...post, e: 2, i: 5 })).toEqual({ ...post, e: 2, i: 5 });
  });
});
