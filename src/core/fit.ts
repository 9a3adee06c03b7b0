import { measure, networks, type NetworkId } from './networks.ts';

/**
 * The deterministic fallback when no model is configured (and the repair step when a model's
 * output is too long): trim at a sentence or word boundary, or split into a numbered thread on
 * networks that have threads. Never cuts inside a word or a grapheme unless a single word is
 * longer than a whole post.
 */
export interface Fitted {
  /** One post, or the posts of a thread in order. */
  posts: string[];
  /** True when text was dropped to fit (networks without threads). */
  trimmed: boolean;
}

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });
const words = new Intl.Segmenter('en', { granularity: 'word' });
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const ELLIPSIS = '…';

export function fitToNetwork(text: string, network: NetworkId): Fitted {
  const clean = text.trim().replace(/[ \t]+\n/g, '\n');
  const limit = networks[network].maxLength;
  if (measure(clean, network) <= limit) return { posts: [clean], trimmed: false };
  if (!networks[network].threads) return { posts: [trimTo(clean, network, limit)], trimmed: true };
  return { posts: splitIntoThread(clean, network, limit), trimmed: false };
}

/** Keeps as many whole sentences as fit; falls back to whole words; ends with an ellipsis. */
function trimTo(text: string, network: NetworkId, limit: number): string {
  const budget = (s: string): boolean => measure(`${s}${ELLIPSIS}`, network) <= limit;
  let kept = '';
  for (const { segment } of sentences.segment(text)) {
    if (!budget(kept + segment)) break;
    kept += segment;
  }
  // A sentence boundary is worth it only when it keeps most of the room used.
  if (kept.trim() && measure(kept, network) >= limit * 0.6) return kept.trimEnd();
  return `${takeWords(text, (s) => budget(s)).trimEnd()}${ELLIPSIS}`;
}

function takeWords(text: string, fitsBudget: (s: string) => boolean): string {
  let kept = '';
  for (const { segment } of words.segment(text)) {
    if (!fitsBudget(kept + segment)) break;
    kept += segment;
  }
  if (kept.trim()) return kept;
  // One word longer than a post: cut it by graphemes.
  for (const { segment } of graphemes.segment(text)) {
    if (!fitsBudget(kept + segment)) break;
    kept += segment;
  }
  return kept;
}

/** Packs sentences into posts numbered " 1/n"; the numbering's own length is reserved. */
function splitIntoThread(text: string, network: NetworkId, limit: number): string[] {
  for (let reserve = 4; reserve <= 12; reserve += 2) {
    const posts = pack(text, network, limit - reserve);
    const total = posts.length;
    const numbered = posts.map((post, i) => `${post} ${i + 1}/${total}`);
    if (numbered.every((post) => measure(post, network) <= limit)) return numbered;
  }
  throw new Error('text could not be split into a thread');
}

function pack(text: string, network: NetworkId, budget: number): string[] {
  const posts: string[] = [];
  let current = '';
  const flush = (): void => {
    if (current.trim()) posts.push(current.trim());
    current = '';
  };
  const pieces: string[] = [];
  for (const { segment } of sentences.segment(text)) {
    if (measure(segment.trim(), network) <= budget) {
      pieces.push(segment);
      continue;
    }
    // A sentence longer than a post is cut at word boundaries.
    let rest = segment;
    while (rest.trim() && measure(rest.trim(), network) > budget) {
      const head = takeWords(rest, (s) => measure(s.trim(), network) <= budget);
      pieces.push(head);
      rest = rest.slice(head.length);
    }
    if (rest.trim()) pieces.push(rest);
  }
  for (const piece of pieces) {
    if (measure((current + piece).trim(), network) > budget) flush();
    current += piece;
  }
  flush();
  return posts;
}
