import { describe, expect, it } from 'vitest';
import { renderDiff, wordDiff } from '../../src/core/diff.ts';
import { fitToNetwork } from '../../src/core/fit.ts';
import { countGraphemes, fits, measure, networkIds, networks } from '../../src/core/networks.ts';

describe('measuring posts as each network does', () => {
  it('Bluesky counts graphemes: a family emoji is one', () => {
    expect(measure('👨‍👩‍👧‍👦', 'bluesky')).toBe(1);
    expect(measure('café', 'bluesky')).toBe(4);
    expect(measure('cafe\u0301', 'bluesky')).toBe(4);
    expect(fits('a'.repeat(300), 'bluesky')).toBe(true);
    expect(fits('a'.repeat(301), 'bluesky')).toBe(false);
  });

  it('X weighs links as 23, CJK and emoji as 2', () => {
    expect(measure('Read https://example.com/a/very/long/path/that/goes/on/and/on?x=1', 'x')).toBe(5 + 23);
    expect(measure('日本語', 'x')).toBe(6);
    expect(measure('hi 👋', 'x')).toBe(5);
    expect(measure('Ștefan și Ana', 'x')).toBe(13);
    expect(fits('a'.repeat(280), 'x')).toBe(true);
    expect(fits('日'.repeat(141), 'x')).toBe(false);
  });

  it('Mastodon counts links as 23 and remote mentions by their local part', () => {
    expect(measure('hi @alice@social.example.org see https://example.com/' + 'x'.repeat(100), 'mastodon')).toBe('hi @alice see '.length + 23);
  });

  it('knows every network’s limit', () => {
    expect(Object.fromEntries(networkIds.map((id) => [id, networks[id].maxLength]))).toEqual({ bluesky: 300, x: 280, mastodon: 500, threads: 500, linkedin: 3000, instagram: 2200, sandbox: 300 });
    expect(networks.instagram.imageRequired).toBe(true);
  });
});

describe('the deterministic fallback', () => {
  const long = Array.from({ length: 12 }, (_, i) => `Sentence number ${i + 1} says something useful about our launch.`).join(' ');

  it('keeps text that fits untouched', () => {
    expect(fitToNetwork('  Hello world.  ', 'bluesky')).toEqual({ posts: ['Hello world.'], trimmed: false });
  });

  it('splits long text into a numbered thread at sentence boundaries, every post within the limit', () => {
    for (const network of ['bluesky', 'x', 'mastodon'] as const) {
      const text = `${long} ${long}`;
      const { posts, trimmed } = fitToNetwork(text, network);
      expect(trimmed).toBe(false);
      expect(posts.length).toBeGreaterThan(1);
      posts.forEach((post, i) => {
        expect(measure(post, network)).toBeLessThanOrEqual(networks[network].maxLength);
        expect(post.endsWith(` ${i + 1}/${posts.length}`)).toBe(true);
        expect(post.replace(/ \d+\/\d+$/, '')).toMatch(/\.$/);
      });
      const rejoined = posts.map((p) => p.replace(/ \d+\/\d+$/, '')).join(' ');
      expect(rejoined).toBe(text);
    }
  });

  it('trims at a sentence boundary on networks without threads', () => {
    const text = Array.from({ length: 10 }, () => long).join(' ');
    const { posts, trimmed } = fitToNetwork(text, 'instagram');
    expect(trimmed).toBe(true);
    expect(posts).toHaveLength(1);
    expect(measure(posts[0]!, 'instagram')).toBeLessThanOrEqual(2_200);
    expect(posts[0]).toMatch(/useful about our launch\.$/);
    expect(measure(posts[0]!, 'instagram')).toBeGreaterThan(2_200 * 0.6);
  });

  it('falls back to word boundaries with an ellipsis when a single sentence is too long', () => {
    const oneSentence = Array.from({ length: 700 }, (_, i) => `word${i}`).join(' ');
    const { posts } = fitToNetwork(oneSentence, 'linkedin');
    expect(posts[0]!.endsWith('…')).toBe(true);
    expect(posts[0]!.slice(0, -1)).toMatch(/word\d+$/);
    expect(measure(posts[0]!, 'linkedin')).toBeLessThanOrEqual(3_000);
  });

  it('cuts a word longer than a post by graphemes, never inside one', () => {
    const { posts } = fitToNetwork('👍'.repeat(400), 'bluesky');
    for (const post of posts) {
      expect(measure(post, 'bluesky')).toBeLessThanOrEqual(300);
      expect(countGraphemes(post.replace(/ \d+\/\d+$/, ''))).toBe([...post.replace(/ \d+\/\d+$/, '')].length);
    }
  });
});

describe('word diff', () => {
  it('marks removed and added words and keeps the rest', () => {
    const parts = wordDiff('We launch on Monday at noon.', 'We launch on Tuesday at noon!');
    expect(renderDiff(parts)).toBe('We launch on ~Monday~ *Tuesday* at ~noon.~ *noon!*');
  });

  it('has nothing to mark for identical text', () => {
    expect(wordDiff('same text', 'same text')).toEqual([{ op: 'same', text: 'same text' }]);
  });
});
