/**
 * The social inbox's pure rules: labels (the lexicon fallback in English, French and Romanian),
 * routing rules, risk, and how a burst is split between individual cards and one summary.
 * No I/O here; flows/inbox.ts applies these to stored items.
 */

export const sentiments = ['negative', 'neutral', 'positive'] as const;
export type Sentiment = (typeof sentiments)[number];
export const urgencies = ['low', 'normal', 'high'] as const;
export type Urgency = (typeof urgencies)[number];
export const topics = ['complaint', 'billing', 'delivery', 'support', 'question', 'praise', 'other'] as const;
export type Topic = (typeof topics)[number];
export const inboxLanguages = ['en', 'fr', 'ro', 'other'] as const;
export type InboxLanguage = (typeof inboxLanguages)[number];

export interface InboxLabels {
  sentiment: Sentiment;
  urgency: Urgency;
  topic: Topic;
  language: InboxLanguage;
  /** Present (true) when the item reads like the start of a crisis (a breach, a lawsuit, harm, a boycott). */
  crisis?: true;
  /** model: the Assistant's answer, checked; lexicon: the deterministic fallback. */
  source: 'model' | 'lexicon';
}

const normalise = (text: string): string => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
const wordsOf = (text: string): string[] => normalise(text).match(/[\p{L}\p{N}']+/gu) ?? [];

/** Words (without diacritics) per language; a phrase is matched against the joined text. */
const lexicon = {
  negative: [
    // en
    'bad', 'terrible', 'awful', 'worst', 'hate', 'broken', 'angry', 'disappointed', 'disappointing', 'useless', 'scam', 'fraud', 'refund', 'never again', 'horrible', 'rude', 'late', 'missing', 'wrong', 'unacceptable', 'complaint', 'lawsuit', 'disgusting', 'poor', 'fail', 'failed', 'fails', 'crash', 'crashes', 'down', 'boycott', 'ridiculous', 'shame',
    // fr
    'nul', 'nulle', 'horrible', 'deçu', 'decu', 'decue', 'decevant', 'arnaque', 'remboursement', 'honte', 'inadmissible', 'inacceptable', 'colere', 'casse', 'cassee', 'retard', 'pire', 'plainte', 'scandale', 'jamais plus', 'mauvais', 'mauvaise', 'degoutant', 'panne', 'bug',
    // ro
    'rau', 'groaznic', 'oribil', 'dezamagit', 'dezamagita', 'dezamagitor', 'teapa', 'frauda', 'rambursare', 'rusine', 'inacceptabil', 'nervos', 'stricat', 'stricata', 'intarziere', 'cel mai prost', 'prost', 'proasta', 'plangere', 'scandal', 'niciodata', 'nu functioneaza', 'jalnic', 'penibil',
  ],
  positive: [
    'love', 'great', 'amazing', 'awesome', 'excellent', 'thanks', 'thank you', 'perfect', 'best', 'fantastic', 'wonderful', 'happy', 'good', 'nice', 'brilliant', 'well done', 'congrats', 'congratulations', 'recommend',
    'merci', 'genial', 'super', 'parfait', 'excellent', 'bravo', 'magnifique', 'adore', 'top', 'content', 'contente', 'recommande', 'formidable',
    'multumesc', 'minunat', 'excelent', 'perfect', 'bravo', 'super', 'genial', 'fericit', 'fericita', 'recomand', 'felicitari', 'grozav', 'bun', 'buna',
  ],
  negators: ['not', "don't", 'dont', 'never', 'no', 'pas', 'jamais', 'nu', 'niciodata', 'fara'],
  urgent: [
    'urgent', 'urgently', 'asap', 'immediately', 'emergency', 'lawsuit', 'lawyer', 'hacked', 'stolen', 'data breach', 'leak', 'police', 'dangerous', 'injured', 'outage', 'help',
    'urgence', 'immediatement', 'avocat', 'pirate', 'vole', 'fuite', 'danger', 'dangereux', 'blesse', 'aide', 'au secours',
    'urgenta', 'imediat', 'avocat', 'spart', 'furat', 'scurgere', 'politia', 'periculos', 'ranit', 'ajutor',
  ],
  topics: {
    billing: ['refund', 'charged', 'charge', 'invoice', 'bill', 'billing', 'price', 'payment', 'paid', 'subscription', 'remboursement', 'facture', 'prix', 'paiement', 'paye', 'abonnement', 'rambursare', 'factura', 'pret', 'plata', 'platit', 'abonament'],
    delivery: ['delivery', 'shipping', 'shipped', 'package', 'parcel', 'order', 'tracking', 'courier', 'livraison', 'colis', 'commande', 'livreur', 'livrare', 'colet', 'comanda', 'curier'],
    support: ['broken', 'bug', 'crash', 'error', 'login', 'password', 'account', "doesn't work", 'not working', 'down', 'panne', 'erreur', 'compte', 'mot de passe', 'marche pas', 'eroare', 'cont', 'parola', 'nu merge', 'nu functioneaza'],
  } as Record<'billing' | 'delivery' | 'support', string[]>,
  /** Harm, breaches, legal threats and boycotts: what turns a complaint into a crisis. */
  crisis: [
    'data breach', 'breach', 'hacked', 'leaked', 'lawsuit', 'sue', 'suing', 'boycott', 'recall', 'poisoning', 'poisoned', 'injured', 'injury', 'died', 'death', 'explosion', 'fire hazard', 'discrimination', 'racist',
    'fuite de donnees', 'piratage', 'pirate', 'proces', 'porter plainte', 'boycott', 'boycotter', 'rappel produit', 'intoxication', 'empoisonnement', 'blesse', 'mort', 'discrimination', 'raciste',
    'bresa de securitate', 'date furate', 'spart', 'proces', 'dam in judecata', 'boicot', 'boicotati', 'rechemare', 'intoxicare', 'otravire', 'ranit', 'mort', 'discriminare', 'rasist',
  ],
  question: ['how', 'when', 'where', 'why', 'what', 'can you', 'comment', 'quand', 'ou', 'pourquoi', 'est-ce', 'cum', 'cand', 'unde', 'de ce', 'puteti'],
} as const;

/** Short, frequent words that tell the three languages apart. */
const stopwords: Record<Exclude<InboxLanguage, 'other'>, readonly string[]> = {
  en: ['the', 'and', 'is', 'it', 'you', 'your', 'to', 'of', 'my', 'this', 'that', 'was', 'for', 'with', 'not', 'are', 'have', 'i', 'we', 'our', 'what', 'why', 'how', 'thanks', 'please'],
  fr: ['le', 'la', 'les', 'et', 'est', 'je', 'vous', 'votre', 'mon', 'ma', 'mes', 'une', 'des', 'de', 'dans', 'quand', 'sur', 'mais', 'il', 'elle', 'chez', 'pour', 'avec', 'pas', 'que', 'qui', 'ce', 'cette', 'nous', 'merci', 'tres', 'du', 'au', 'ne'],
  ro: ['si', 'este', 'nu', 'eu', 'voi', 'dumneavoastra', 'meu', 'mea', 'un', 'o', 'pentru', 'cu', 'ca', 'care', 'acest', 'aceasta', 'noi', 'multumesc', 'foarte', 'la', 'de', 'am', 'ati', 'sunt', 'va', 'mai'],
};

export function detectLanguage(text: string): InboxLanguage {
  const words = wordsOf(text);
  if (words.length === 0) return 'other';
  const scores = { en: 0, fr: 0, ro: 0 };
  for (const word of words) for (const language of ['en', 'fr', 'ro'] as const) if (stopwords[language].includes(word)) scores[language] += 1;
  // Letters only one of the two Latin-script neighbours uses settle close calls.
  if (/[ășşțţ]/i.test(text)) scores.ro += 2;
  if (/[éèêçàùœ]/i.test(text)) scores.fr += 2;
  const best = (Object.entries(scores) as [keyof typeof scores, number][]).sort((a, b) => b[1] - a[1])[0]!;
  return best[1] === 0 ? 'other' : best[0];
}

/** A lexicon list split once: single words in a set, phrases (several words, or with an apostrophe) apart. */
interface CompiledList {
  words: Set<string>;
  phrases: string[];
}
const compiled = new WeakMap<readonly string[], CompiledList>();
function compile(entries: readonly string[]): CompiledList {
  let list = compiled.get(entries);
  if (!list) {
    const phrases = entries.filter((entry) => entry.includes(' ') || entry.includes("'"));
    list = { words: new Set(entries.filter((entry) => !phrases.includes(entry))), phrases };
    compiled.set(entries, list);
  }
  return list;
}

/** Where lexicon entries occur in `words` (word indexes): a word matches whole words, a phrase the joined words. */
function matches(words: readonly string[], entries: readonly string[]): number[] {
  const { words: single, phrases } = compile(entries);
  const positions: number[] = [];
  words.forEach((word, index) => {
    if (single.has(word)) positions.push(index);
  });
  if (phrases.length > 0) {
    const joined = ` ${words.join(' ')} `;
    for (const phrase of phrases) {
      const at = joined.indexOf(` ${phrase} `);
      if (at >= 0) positions.push(at === 0 ? 0 : joined.slice(0, at).split(' ').length - 1);
    }
  }
  return positions;
}

/**
 * The deterministic labeller: a lexicon in English, French and Romanian. Item text is untrusted and
 * only ever counted here, so nothing inside it can do more than move a label.
 */
export function lexiconLabels(text: string): InboxLabels {
  const words = wordsOf(text);
  const negated = (index: number): boolean => words.slice(Math.max(0, index - 2), index).some((w) => (lexicon.negators as readonly string[]).includes(w));
  let score = 0;
  for (const index of matches(words, lexicon.negative)) score += negated(index) ? 0.5 : -1;
  for (const index of matches(words, lexicon.positive)) score += negated(index) ? -1 : 1;
  // Shouting and repeated exclamation marks lean a message negative only when it is negative already.
  if (score < 0 && /!{2,}/.test(text)) score -= 0.5;
  const sentiment: Sentiment = score <= -1 ? 'negative' : score >= 1 ? 'positive' : 'neutral';

  const urgentHits = matches(words, lexicon.urgent).length;
  const urgency: Urgency = urgentHits > 0 || (sentiment === 'negative' && /[A-Z]{5,}/.test(text)) ? 'high' : sentiment === 'negative' ? 'normal' : 'low';

  const topicScores = (Object.entries(lexicon.topics) as ['billing' | 'delivery' | 'support', string[]][]).map(([topic, entries]) => [topic, matches(words, entries).length] as const);
  const bestTopic = [...topicScores].sort((a, b) => b[1] - a[1])[0];
  const topic: Topic =
    bestTopic && bestTopic[1] > 0 ? bestTopic[0] : sentiment === 'negative' ? 'complaint' : text.includes('?') || matches(words, lexicon.question).length > 0 ? 'question' : sentiment === 'positive' ? 'praise' : 'other';

  const crisis = sentiment !== 'positive' && matches(words, lexicon.crisis).length > 0;
  return { sentiment, urgency, topic, language: detectLanguage(text), ...(crisis ? { crisis: true as const } : {}), source: 'lexicon' };
}

/** A routing rule of a workspace: the first rule whose every condition holds decides the channel. */
export interface InboxRule {
  id: string;
  /** Where matching items go (a channel id on the workspace's platform). */
  channel: string;
  /** Account ids; empty or absent matches every account. */
  accounts?: string[];
  /** Any of these words or phrases (case and accent insensitive). */
  keywords?: string[];
  sentiment?: Sentiment;
  language?: InboxLanguage;
  /** VIP authors by handle: their items are matched by this rule and never folded into a summary. */
  authors?: string[];
  /** First response due within this many minutes (business hours of the workspace). */
  slaMinutes?: number;
  /** Replies to matching items need an approval first. */
  approval?: boolean;
}

export interface RoutableItem {
  accountId: string;
  text: string;
  authorHandle: string;
  labels: Pick<InboxLabels, 'sentiment' | 'language'>;
}

const handleKey = (handle: string): string => handle.trim().replace(/^@/, '').toLowerCase();

export function ruleMatches(rule: InboxRule, item: RoutableItem): boolean {
  if (rule.accounts?.length && !rule.accounts.includes(item.accountId)) return false;
  if (rule.sentiment && rule.sentiment !== item.labels.sentiment) return false;
  if (rule.language && rule.language !== item.labels.language) return false;
  if (rule.authors?.length && !rule.authors.map(handleKey).includes(handleKey(item.authorHandle))) return false;
  if (rule.keywords?.length) {
    const words = wordsOf(item.text);
    if (matches(words, rule.keywords.map((k) => wordsOf(k).join(' ')).filter(Boolean)).length === 0) return false;
  }
  return true;
}

export function route(rules: readonly InboxRule[], item: RoutableItem): InboxRule | undefined {
  return rules.find((rule) => ruleMatches(rule, item));
}

/** A VIP is an author some rule names. */
export function isVip(rules: readonly InboxRule[], handle: string): boolean {
  return rules.some((rule) => rule.authors?.map(handleKey).includes(handleKey(handle)));
}

/** Replies to these need an approval: negative and high-reach, or a rule that says so. */
export function isRisky(labels: Pick<InboxLabels, 'sentiment'>, followers: number | undefined, riskyFollowers: number, rule: InboxRule | undefined): boolean {
  return Boolean(rule?.approval) || (labels.sentiment === 'negative' && (followers ?? 0) >= riskyFollowers);
}

/** Items that always get a card of their own, even in a burst. */
export function isPriority(item: { labels: Pick<InboxLabels, 'sentiment' | 'urgency'>; vip: boolean }): boolean {
  return item.vip || item.labels.urgency === 'high' || item.labels.sentiment === 'negative';
}

/** Who must never vanish into a count: VIP authors and urgent items. */
const mustCard = (item: { labels: Pick<InboxLabels, 'urgency'>; vip: boolean }): boolean => item.vip || item.labels.urgency === 'high';
const rank = (item: { labels: Pick<InboxLabels, 'sentiment' | 'urgency'>; vip: boolean }): number => (item.vip ? 0 : item.labels.urgency === 'high' ? 1 : item.labels.sentiment === 'negative' ? 2 : 3);

/**
 * A channel's waiting items, split for one delivery round of at most `budget` individual cards.
 * Below the burst threshold every item gets a card in arrival order (what the budget does not
 * reach waits for the next round). In a burst, cards go to priority items (VIP, urgent, negative,
 * in that order, oldest first among equals) and the rest join the channel's summary; VIP and urgent
 * items beyond the budget wait for the next round's cards rather than vanish into a count.
 */
export function planDelivery<T extends { labels: Pick<InboxLabels, 'sentiment' | 'urgency'>; vip: boolean; receivedAt: Date }>(
  waiting: readonly T[],
  options: { budget: number; burstThreshold: number },
): { cards: T[]; summarised: T[]; deferred: T[] } {
  const ordered = [...waiting].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
  if (ordered.length <= options.burstThreshold) {
    return { cards: ordered.slice(0, options.budget), summarised: [], deferred: ordered.slice(options.budget) };
  }
  const ranked = ordered.map((item, index) => ({ item, index })).sort((a, b) => rank(a.item) - rank(b.item) || a.index - b.index);
  const cards = ranked.filter(({ item }) => isPriority(item)).slice(0, options.budget).map(({ item }) => item);
  const carded = new Set(cards);
  const rest = ordered.filter((item) => !carded.has(item));
  return { cards, summarised: rest.filter((item) => !mustCard(item)), deferred: rest.filter(mustCard) };
}

/** The most frequent content words of a set of texts (for a burst summary). */
export function topTerms(texts: readonly string[], count = 5): string[] {
  const ignore = new Set([...stopwords.en, ...stopwords.fr, ...stopwords.ro, 'https', 'http', 'www', 'com']);
  const frequency = new Map<string, number>();
  for (const text of texts) {
    for (const word of new Set(wordsOf(text))) {
      if (word.length < 3 || ignore.has(word) || /^\d+$/.test(word) || word.startsWith('@')) continue;
      frequency.set(word, (frequency.get(word) ?? 0) + 1);
    }
  }
  return [...frequency.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, count).map(([word]) => word);
}

/** Business hours of a workspace: days 1 (Monday) to 7, hours [start, end) in its time zone. */
export interface BusinessHours {
  timeZone: string;
  days: number[];
  startHour: number;
  endHour: number;
}

export const defaultBusinessHours: BusinessHours = { timeZone: 'UTC', days: [1, 2, 3, 4, 5], startHour: 9, endHour: 18 };

function localParts(at: Date, timeZone: string): { weekday: number; hour: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) + 1;
  return { weekday, hour: Number(get('hour')), minute: Number(get('minute')) };
}

function inHours(at: Date, hours: BusinessHours): boolean {
  const { weekday, hour } = localParts(at, hours.timeZone);
  return hours.days.includes(weekday) && hour >= hours.startHour && hour < hours.endHour;
}

/**
 * When a first response is due: `minutes` of business time after `from`. Counted in whole business
 * minutes, bounded to a fortnight, so a weekend or a night does not count.
 */
export function slaDueAt(from: Date, minutes: number, hours: BusinessHours): Date {
  if (hours.days.length === 0 || hours.endHour <= hours.startHour) return new Date(from.getTime() + minutes * 60_000);
  let at = new Date(Math.ceil(from.getTime() / 60_000) * 60_000);
  let left = minutes;
  const limit = from.getTime() + 14 * 86_400_000;
  while (left > 0 && at.getTime() < limit) {
    if (inHours(at, hours)) {
      left -= 1;
      at = new Date(at.getTime() + 60_000);
    } else {
      // Outside hours, step to the next quarter hour (every zone's offset is a multiple of it).
      at = new Date((Math.floor(at.getTime() / 900_000) + 1) * 900_000);
    }
  }
  return at;
}
