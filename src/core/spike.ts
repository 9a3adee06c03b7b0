/**
 * Volume spikes in an account's inbox, against the same time of the week in earlier weeks. Pure:
 * flows/crisis.ts reads the counts (ten-minute slots, by sentiment) and acts on the answer.
 *
 * The test: for several windows ending now (10 min to 3 h, so a sudden burst is seen within a
 * couple of polls and a slow build-up within hours), the count of one sentiment is compared with
 * what the same window held in each earlier week. The expectation is the median of those weeks
 * (one odd week moves nothing), blended with the account's overall rate (a quiet hour last week
 * is not a promise of silence) plus a small prior (a new or quiet account has some expected
 * noise). The tail probability is Poisson, widened by the over-dispersion the earlier weeks show.
 * A spike must also be big in absolute and relative terms, and, to be a crisis, negative items
 * must make up a clearly larger share than usual: a viral post that brings more of everything
 * is "trending", never a crisis.
 */

export interface SentimentCounts {
  negative: number;
  neutral: number;
  positive: number;
}

export interface Slot extends SentimentCounts {
  /** Start of the slot; every slot lasts `slotMinutes`. */
  start: Date;
}

export const spikeSensitivities = ['low', 'medium', 'high'] as const;
export type SpikeSensitivity = (typeof spikeSensitivities)[number];

/**
 * Per sensitivity: the significance level of one window's test (before the correction for testing
 * several windows), and how far above the expectation a count must be, in items and as a ratio.
 * Medium is tuned so a normal week with daily swings pages no one (bench:crisis).
 */
const thresholds: Record<SpikeSensitivity, { alpha: number; minExcess: number; minRatio: number }> = {
  low: { alpha: 1e-7, minExcess: 12, minRatio: 4 },
  medium: { alpha: 1e-5, minExcess: 8, minRatio: 3 },
  high: { alpha: 1e-3, minExcess: 5, minRatio: 2 },
};

export const defaultWindowsMinutes: readonly number[] = [10, 30, 60, 180];

export interface SpikeInput {
  now: Date;
  /** Counts by slot, oldest first or in any order; slots not listed had nothing. */
  slots: readonly Slot[];
  slotMinutes: number;
  /** From when the account's counts mean something (connected); earlier weeks are not zeros, they are unknown. */
  since: Date;
  /** How many earlier weeks form the baseline (default 4). */
  weeks?: number;
  sensitivity: SpikeSensitivity;
  windowsMinutes?: readonly number[];
  /**
   * The end of the last episode the team closed (an incident resolved): what came before it is
   * left out of the recent windows, so a spike already handled does not open a new incident.
   */
  handledUntil?: Date;
}

export interface SpikeResult {
  kind: 'crisis' | 'trending' | 'none';
  /** The strongest window's figures (for the card): what came, what was expected. */
  windowMinutes: number;
  sentiment: 'negative' | 'positive';
  observed: number;
  expected: number;
  pValue: number;
  /** Counts of every sentiment in that window, and the negative share usually seen then. */
  recent: SentimentCounts;
  usualNegativeShare: number;
}

const WEEK_MS = 7 * 86_400_000;
/** Expected items per hour that even a silent account gets credited with. */
const PRIOR_PER_HOUR = 0.5;

// ---------------------------------------------------------------------------------------------
// Poisson tail, stable for large counts: P(X ≥ k) = P(k, λ), the regularised lower incomplete gamma.

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i += 1) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Regularised lower incomplete gamma P(a, x). */
function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const lead = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n += 1) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.min(1, Math.exp(lead) * sum);
  }
  // Continued fraction for Q(a, x) (Lentz).
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i += 1) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.max(0, 1 - Math.exp(lead) * h);
}

/** P(X ≥ k) for X ~ Poisson(λ); k may be fractional (a count scaled for over-dispersion). */
export function poissonUpperTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  return gammaP(k, lambda);
}

// ---------------------------------------------------------------------------------------------

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const total = (counts: SentimentCounts): number => counts.negative + counts.neutral + counts.positive;

/**
 * The slots sorted by start with running totals, so any window's counts are two binary searches
 * (a spike check reads a dozen windows out of five weeks of slots).
 */
interface SlotIndex {
  starts: number[];
  /** Running totals: entry i holds the sums of slots 0..i-1. */
  negative: Float64Array;
  neutral: Float64Array;
  positive: Float64Array;
}

function indexSlots(slots: readonly Slot[]): SlotIndex {
  let sorted = true;
  for (let i = 1; i < slots.length && sorted; i += 1) if (slots[i]!.start.getTime() < slots[i - 1]!.start.getTime()) sorted = false;
  const ordered = sorted ? slots : [...slots].sort((a, b) => a.start.getTime() - b.start.getTime());
  const index: SlotIndex = { starts: ordered.map((slot) => slot.start.getTime()), negative: new Float64Array(ordered.length + 1), neutral: new Float64Array(ordered.length + 1), positive: new Float64Array(ordered.length + 1) };
  ordered.forEach((slot, i) => {
    index.negative[i + 1] = index.negative[i]! + slot.negative;
    index.neutral[i + 1] = index.neutral[i]! + slot.neutral;
    index.positive[i + 1] = index.positive[i]! + slot.positive;
  });
  return index;
}

/** How many slots start at or before `at`. */
function countUpTo(starts: readonly number[], at: number): number {
  let low = 0;
  let high = starts.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (starts[middle]! <= at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Slots that start after `after` and no later than `until`: the window (after, until] in slot terms, the slot holding `until` included. */
function sumBetween(index: SlotIndex, after: number, until: number): SentimentCounts {
  const from = countUpTo(index.starts, after);
  const to = countUpTo(index.starts, until);
  if (to <= from) return { negative: 0, neutral: 0, positive: 0 };
  return { negative: index.negative[to]! - index.negative[from]!, neutral: index.neutral[to]! - index.neutral[from]!, positive: index.positive[to]! - index.positive[from]! };
}

interface WindowTest {
  windowMinutes: number;
  sentiment: 'negative' | 'positive';
  observed: number;
  expected: number;
  pValue: number;
  significant: boolean;
  recent: SentimentCounts;
  usualNegativeShare: number;
}

function testWindow(input: SpikeInput, index: SlotIndex, windowMinutes: number, sentiment: 'negative' | 'positive', corrections: number): WindowTest {
  const now = input.now.getTime();
  const windowMs = windowMinutes * 60_000;
  const weeks = input.weeks ?? 4;
  const since = input.since.getTime();
  const recent = sumBetween(index, Math.max(now - windowMs, input.handledUntil?.getTime() ?? -Infinity), now);
  // The same window in each earlier week the account was connected for.
  const earlier: SentimentCounts[] = [];
  for (let k = 1; k <= weeks; k += 1) {
    const end = now - k * WEEK_MS;
    if (end - windowMs < since) break;
    earlier.push(sumBetween(index, end - windowMs, end));
  }
  // The account's overall rate, over the history it has (at least an hour's worth of it).
  const historyStart = Math.max(since, now - weeks * WEEK_MS);
  const historyMs = Math.max(3_600_000, now - windowMs - historyStart);
  const history = sumBetween(index, historyStart, now - windowMs);
  const overall = (history[sentiment] / historyMs) * windowMs;
  const sameTime = earlier.map((counts) => counts[sentiment]);
  const prior = (PRIOR_PER_HOUR * windowMs) / 3_600_000;
  const expected = (sameTime.length > 0 ? 0.75 * median(sameTime) + 0.25 * overall : overall) + prior;
  // Over-dispersion the earlier weeks show (variance above the mean), capped: quasi-Poisson scaling.
  const mean = sameTime.length > 0 ? sameTime.reduce((a, b) => a + b, 0) / sameTime.length : 0;
  const variance = sameTime.length > 1 ? sameTime.reduce((a, b) => a + (b - mean) ** 2, 0) / (sameTime.length - 1) : 0;
  const dispersion = Math.min(4, Math.max(1, mean > 0 ? variance / mean : 1));
  const observed = recent[sentiment];
  const pValue = Math.min(1, poissonUpperTail(observed / dispersion, expected / dispersion) * corrections);
  const { alpha, minExcess, minRatio } = thresholds[input.sensitivity];
  const significant = pValue < alpha && observed - expected >= minExcess && observed >= expected * minRatio;
  // The usual share of negatives, over the whole history (one window's worth is too few items to
  // tell); a new account is credited with a fifth.
  const usualNegativeShare = total(history) >= 30 ? history.negative / total(history) : 0.2;
  return { windowMinutes, sentiment, observed, expected, pValue, significant, recent, usualNegativeShare };
}

/**
 * Whether the account is in a negative spike (a crisis), a positive one (trending), or neither,
 * at `now`. The strongest significant window is reported; crisis comes before trending.
 */
export function detectSpike(input: SpikeInput): SpikeResult {
  const windows = input.windowsMinutes ?? defaultWindowsMinutes;
  const index = indexSlots(input.slots);
  const tests = windows.flatMap((minutes) => (['negative', 'positive'] as const).map((sentiment) => testWindow(input, index, minutes, sentiment, windows.length)));
  const strongest = (candidates: WindowTest[]): WindowTest | undefined => [...candidates].sort((a, b) => a.pValue - b.pValue)[0];
  // A negative spike is a crisis only when negatives stand out from the rest of the traffic too.
  const crisis = strongest(
    tests.filter((test) => test.sentiment === 'negative' && test.significant && test.recent.negative / Math.max(1, total(test.recent)) >= Math.min(0.9, 1.5 * test.usualNegativeShare + 0.1)),
  );
  const trending = strongest(tests.filter((test) => test.sentiment === 'positive' && test.significant));
  const chosen = crisis ?? trending ?? strongest(tests.filter((test) => test.sentiment === 'negative'))!;
  return {
    kind: crisis ? 'crisis' : trending ? 'trending' : 'none',
    windowMinutes: chosen.windowMinutes,
    sentiment: chosen.sentiment,
    observed: chosen.observed,
    expected: Math.round(chosen.expected * 10) / 10,
    pValue: chosen.pValue,
    recent: chosen.recent,
    usualNegativeShare: chosen.usualNegativeShare,
  };
}
