/**
 * The social networks Herald writes for, and how each one measures a post. The numbers are the
 * networks' own: a variant that fits here is accepted there.
 */
/** 'sandbox' is the simulated network of `npm start` without credentials (src/sandbox); only a sandbox offers it. */
export const networkIds = ['bluesky', 'x', 'mastodon', 'threads', 'linkedin', 'instagram', 'sandbox'] as const;
export type NetworkId = (typeof networkIds)[number];

export interface NetworkLimits {
  readonly id: NetworkId;
  readonly label: string;
  /** Maximum length in the network's own unit. */
  readonly maxLength: number;
  readonly unit: 'graphemes' | 'weighted' | 'characters';
  /** Long text may go out as a thread of replies. */
  readonly threads: boolean;
  readonly imageRequired: boolean;
  readonly maxImages: number;
}

export const networks: Record<NetworkId, NetworkLimits> = {
  bluesky: { id: 'bluesky', label: 'Bluesky', maxLength: 300, unit: 'graphemes', threads: true, imageRequired: false, maxImages: 4 },
  x: { id: 'x', label: 'X', maxLength: 280, unit: 'weighted', threads: true, imageRequired: false, maxImages: 4 },
  mastodon: { id: 'mastodon', label: 'Mastodon', maxLength: 500, unit: 'characters', threads: true, imageRequired: false, maxImages: 4 },
  threads: { id: 'threads', label: 'Threads', maxLength: 500, unit: 'characters', threads: true, imageRequired: false, maxImages: 10 },
  linkedin: { id: 'linkedin', label: 'LinkedIn', maxLength: 3_000, unit: 'characters', threads: false, imageRequired: false, maxImages: 9 },
  instagram: { id: 'instagram', label: 'Instagram', maxLength: 2_200, unit: 'characters', threads: false, imageRequired: true, maxImages: 10 },
  sandbox: { id: 'sandbox', label: 'Sandbox network', maxLength: 300, unit: 'graphemes', threads: true, imageRequired: false, maxImages: 4 },
};

export function isNetworkId(value: string): value is NetworkId {
  return (networkIds as readonly string[]).includes(value);
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const urlPattern = /\bhttps?:\/\/[^\s<>"]+|\bwww\.[^\s<>"]+/gi;
/** X and Mastodon count every link as 23 characters, whatever its length. */
const LINK_LENGTH = 23;
const pictographic = /\p{Extended_Pictographic}/u;

/** X's weighting (twitter-text v3): these ranges weigh 1, everything else 2; an emoji weighs 2. */
const lightRanges: readonly [number, number][] = [
  [0x0000, 0x10ff],
  [0x2000, 0x200d],
  [0x2010, 0x201f],
  [0x2032, 0x2037],
];

function xWeight(text: string): number {
  let weight = 0;
  for (const { segment } of graphemes.segment(text)) {
    if (pictographic.test(segment)) {
      weight += 2;
      continue;
    }
    for (const char of segment) {
      const code = char.codePointAt(0) ?? 0;
      weight += lightRanges.some(([from, to]) => code >= from && code <= to) ? 1 : 2;
    }
  }
  return weight;
}

function withLinksAs(text: string, measure: (s: string) => number): number {
  let total = 0;
  let last = 0;
  for (const match of text.matchAll(urlPattern)) {
    total += measure(text.slice(last, match.index)) + LINK_LENGTH;
    last = (match.index ?? 0) + match[0].length;
  }
  return total + measure(text.slice(last));
}

export function countGraphemes(text: string): number {
  let count = 0;
  for (const _ of graphemes.segment(text)) count += 1;
  return count;
}

/** The length of `text` as `network` counts it. */
export function measure(text: string, network: NetworkId): number {
  const normalised = text.normalize('NFC');
  switch (networks[network].unit) {
    case 'graphemes':
      return countGraphemes(normalised);
    case 'weighted':
      return withLinksAs(normalised, xWeight);
    case 'characters':
      // Mastodon counts links as 23 and a remote mention by its local part; Threads, LinkedIn and
      // Instagram count characters as written.
      return network === 'mastodon'
        ? withLinksAs(normalised.replace(/(@\w+)@[\w.-]+\w/g, '$1'), (s) => [...s].length)
        : [...normalised].length;
  }
}

export function fits(text: string, network: NetworkId): boolean {
  return measure(text, network) <= networks[network].maxLength;
}
