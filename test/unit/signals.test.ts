import { describe, expect, it } from 'vitest';
import { itemSignals, matchesPhrase, type SignalItem } from '../../src/core/signals.ts';

const item = (id: string, text: string, overrides: Partial<SignalItem> = {}): SignalItem => ({
  id,
  text,
  labels: { sentiment: 'neutral' },
  vip: false,
  author: { handle: `author-${id}`, followers: 100 },
  ...overrides,
});

describe('item signals', () => {
  it('matches watchlist phrases as whole words, in any case, with or without accents, in three languages', () => {
    expect(matchesPhrase('Was there a DATA breach?!', 'data breach')).toBe(true);
    expect(matchesPhrase('Fuite de données chez vous', 'fuite de donnees')).toBe(true);
    expect(matchesPhrase('Am fost țepuit, e o țeapă', 'teapa')).toBe(true);
    expect(matchesPhrase('a database breach-proof design', 'data breach')).toBe(false);
    expect(matchesPhrase('anything', '  ')).toBe(false);
  });

  it('raises one signal per phrase or author, with every item behind it', () => {
    const signals = itemSignals(
      [
        item('1', 'Data breach again'),
        item('2', 'data breach, really?'),
        item('3', 'You are the worst', { labels: { sentiment: 'negative' }, vip: true, author: { handle: 'bigcritic' } }),
        item('4', 'Still the worst', { labels: { sentiment: 'negative' }, vip: true, author: { handle: 'bigcritic' } }),
        item('5', 'Terrible', { labels: { sentiment: 'negative' }, author: { handle: 'famous', followers: 250_000 } }),
        item('6', 'Lovely', { labels: { sentiment: 'positive' }, vip: true, author: { handle: 'bigcritic', followers: 900_000 } }),
        item('7', 'My card was stolen on your site', { labels: { sentiment: 'negative', crisis: true } }),
      ],
      { watchlist: ['data breach'], reachFollowers: 100_000 },
    );
    expect(signals).toEqual([
      { kind: 'watchlist', detail: 'data breach', itemIds: ['1', '2'] },
      { kind: 'vip', detail: 'bigcritic', itemIds: ['3', '4'] },
      { kind: 'reach', detail: 'famous', itemIds: ['5'] },
      { kind: 'model', detail: '', itemIds: ['7'] },
    ]);
  });

  it('a friendly VIP or a negative author below the reach raises nothing', () => {
    expect(itemSignals([item('1', 'thanks!', { labels: { sentiment: 'positive' }, vip: true }), item('2', 'meh', { labels: { sentiment: 'negative' }, author: { handle: 'x', followers: 99 } })], { watchlist: [], reachFollowers: 100 })).toEqual([]);
  });
});
