/**
 * An in-process social network for inbox benchmarks: feeds of generated comments, mentions and
 * replies that the bench releases when it wants, and a connector whose fetchInbox serves a feed's
 * items after the cursor. Registered in place of a real connector (bench process only), so the
 * inbox flow runs unchanged while the network costs nothing.
 */
import { z } from 'zod';
import type { Connector } from '../../src/networks/index.ts';
import { NetworkError, type InboxItem, type SocialNetwork } from '../../src/networks/port.ts';
import { networks, type NetworkId } from '../../src/core/networks.ts';
import { seededRandom } from '../../test/support/random.ts';

/** One account's stream of items, in release order. */
export class FakeFeed {
  readonly items: InboxItem[] = [];
  /** Epoch ms at which items[i] was released (what latency is measured from). */
  readonly releasedAt: number[] = [];
  fetches = 0;
  /** Items served again because the cursor is inclusive at its edge (what dedupe must drop). */
  reserved = 0;
  private readonly overlap: number;
  private readonly pageSize: number;

  /**
   * overlap: how many items before the cursor are served again, as real cursors do at their edge.
   * pageSize: most items one fetch returns (the rest come on the next fetch).
   */
  constructor(options: { overlap?: number; pageSize?: number } = {}) {
    this.overlap = options.overlap ?? 1;
    this.pageSize = options.pageSize ?? 2_000;
  }

  release(item: InboxItem, at = Date.now()): void {
    this.items.push(item);
    this.releasedAt.push(at);
  }

  /** The cursor is the number of items served so far; none means "from the start" (the bench connects before releasing). */
  fetch(cursor: string | undefined): { items: InboxItem[]; cursor: string } {
    this.fetches += 1;
    const served = cursor === undefined ? 0 : Number(cursor);
    const from = Math.max(0, served - this.overlap);
    const to = Math.min(this.items.length, served + this.pageSize);
    this.reserved += served - from;
    return { items: this.items.slice(from, to), cursor: String(to) };
  }
}

/**
 * A connector for `network` whose accounts read the feed named by their credentials' `feed`. It
 * checks nothing else: no login, no rate limit, no network round trip.
 */
export function fakeInboxConnector(network: NetworkId, feeds: ReadonlyMap<string, FakeFeed>): Connector {
  const refuse = (): never => {
    throw new NetworkError(network, 'invalid_request', 'the bench network only serves an inbox');
  };
  return {
    network,
    label: `${networks[network].label} (bench)`,
    fields: [],
    credentials: z.record(z.string(), z.string()),
    create(credentials): SocialNetwork {
      const feed = feeds.get(credentials.feed ?? '');
      if (!feed) throw new NetworkError(network, 'auth_revoked', `no bench feed named ${credentials.feed ?? '(none)'}`);
      return {
        network,
        limits: () => networks[network],
        verify: async () => ({ handle: `bench-${credentials.feed}` }),
        publish: async () => refuse(),
        findPublished: async () => [],
        delete: async () => refuse(),
        fetchInbox: async (cursor) => feed.fetch(cursor),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Generated items

export type ItemClass = 'neutral' | 'positive' | 'question' | 'negative' | 'urgent';

/**
 * What a team's inbox looks like, in the three languages the lexicon knows. Each text is labelled
 * as its class by the lexicon (checked when this file was written), so the share of each class
 * decides how many items a burst must card.
 */
const texts: Record<ItemClass, readonly string[]> = {
  neutral: [
    'Just saw the announcement on my way to work, will check the shop this weekend',
    'Je viens de voir la nouvelle collection sur le site, je passerai au magasin samedi',
    'Am vazut anuntul azi dimineata si o sa trec pe la magazin sambata',
  ],
  positive: [
    'Love the new colours, great work team! Thanks for listening to us',
    'Merci pour la livraison rapide, le produit est parfait et super bien emballé',
    'Multumesc, comanda a ajuns repede si produsul este excelent, recomand',
  ],
  question: [
    'When does the spring collection arrive in the Lyon store? Is there a size guide?',
    'Quand arrive la collection de printemps dans la boutique de Lyon ?',
    'Cand ajunge colectia de primavara in magazinul din Cluj?',
  ],
  negative: [
    'My order arrived broken and the support chat is useless, really disappointed',
    'Colis arrivé en retard et cassé, service client nul, je suis très déçu',
    'Comanda a venit stricata si nimeni nu raspunde, sunt foarte dezamagit',
  ],
  urgent: [
    'URGENT my account was hacked and someone placed orders with my card, please help',
    "Urgence : mon compte a été piraté, quelqu'un a commandé avec ma carte, aidez-moi",
    'Urgent, contul meu a fost spart si cineva a comandat cu cardul meu, ajutor',
  ],
};

/** Shares of each class (they need not add up to 1: they are weights). */
export type ClassMix = Record<ItemClass, number>;

export interface GeneratorOptions {
  /** Makes remote ids unique across runs and phases. */
  tag: string;
  mix: ClassMix;
  /** Share of items that answer an earlier item of the same feed (a conversation's follow-up). */
  replies: number;
  seed: number;
  authors?: number;
}

/** Makes items one at a time: item i carries `#<tag>-<i>` in its text, so it can be found in chat. */
export function itemGenerator(options: GeneratorOptions): { next(createdAt?: Date): InboxItem; readonly counts: Record<ItemClass, number> } {
  const random = seededRandom(options.seed);
  const classes = Object.keys(options.mix) as ItemClass[];
  const total = classes.reduce((sum, c) => sum + options.mix[c], 0);
  const counts: Record<ItemClass, number> = { neutral: 0, positive: 0, question: 0, negative: 0, urgent: 0 };
  const made: string[] = [];
  const pick = (): ItemClass => {
    let r = random() * total;
    for (const c of classes) {
      r -= options.mix[c];
      if (r < 0) return c;
    }
    return classes.at(-1)!;
  };
  return {
    counts,
    next(createdAt = new Date()) {
      const i = made.length;
      const kind = pick();
      counts[kind] += 1;
      const variants = texts[kind];
      const text = `${variants[Math.floor(random() * variants.length)]!} #${options.tag}-${i}`;
      const author = Math.floor(random() * (options.authors ?? 500));
      const remoteId = `at://did:plc:bench${options.tag}/app.bsky.feed.post/${i.toString(36)}`;
      const answers = made.length > 0 && random() < options.replies ? made[Math.floor(random() * made.length)] : undefined;
      made.push(remoteId);
      return {
        remoteId,
        kind: answers ? 'reply' : 'mention',
        author: { handle: `fan${author}.bench.test`, displayName: `Fan ${author}`, followers: Math.floor(random() * 2_000) },
        text,
        url: `https://bsky.app/profile/fan${author}.bench.test/post/${i.toString(36)}`,
        createdAt,
        ...(answers ? { inReplyTo: answers } : {}),
      };
    },
  };
}
