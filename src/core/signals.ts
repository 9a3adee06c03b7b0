import type { InboxLabels } from './inbox.ts';

/**
 * Crisis signals that a single item raises (the volume spike is src/core/crisis.ts): a watchlist
 * phrase, a negative item from a VIP or a high-reach author, an item labelled a crisis. Pure rules;
 * flows/crisis.ts turns them into incidents.
 */

export type ItemSignalKind = 'watchlist' | 'vip' | 'reach' | 'model';

export interface SignalItem {
  id: string;
  text: string;
  labels: Pick<InboxLabels, 'sentiment' | 'crisis'>;
  vip: boolean;
  author: { handle: string; followers?: number };
}

export interface ItemSignal {
  kind: ItemSignalKind;
  itemIds: string[];
  /** What matched: the phrase, or the author's handle. */
  detail: string;
}

/** Lowercase, no diacritics, words separated by single spaces: "Arnaque !" and "arnaque" match. */
export function normalisePhrase(text: string): string {
  return ` ${text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}#@]+/gu, ' ')
    .trim()} `;
}

/** A watchlist phrase occurs in the text as whole words, in any case and with or without diacritics. */
export function matchesPhrase(text: string, phrase: string): boolean {
  const needle = normalisePhrase(phrase);
  return needle.trim().length > 0 && normalisePhrase(text).includes(needle);
}

/**
 * The signals a page of items raises, one per kind and matched phrase or author (so ten angry
 * messages from one VIP are one signal with ten items).
 */
export function itemSignals(items: readonly SignalItem[], options: { watchlist: readonly string[]; reachFollowers: number }): ItemSignal[] {
  const found = new Map<string, ItemSignal>();
  const add = (kind: ItemSignalKind, detail: string, itemId: string): void => {
    const key = `${kind}\n${detail}`;
    const signal = found.get(key) ?? { kind, detail, itemIds: [] };
    if (!signal.itemIds.includes(itemId)) signal.itemIds.push(itemId);
    found.set(key, signal);
  };
  for (const item of items) {
    for (const phrase of options.watchlist) if (matchesPhrase(item.text, phrase)) add('watchlist', phrase, item.id);
    if (item.labels.crisis) add('model', '', item.id);
    if (item.labels.sentiment !== 'negative') continue;
    if (item.vip) add('vip', item.author.handle, item.id);
    else if ((item.author.followers ?? 0) >= options.reachFollowers) add('reach', item.author.handle, item.id);
  }
  return [...found.values()];
}
