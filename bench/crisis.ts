/**
 * `npm run bench:crisis`: the spike test (src/core/spike.ts) replayed over synthetic weeks.
 *
 * Each timeline is four weeks of history and one week under test, ten-minute slots of inbox items
 * by sentiment drawn from a seeded Poisson generator: steady traffic, a daily cycle (busy days,
 * quiet nights, a weekend dip), a slow build-up (negatives ramp to 8× over six hours), a sudden
 * spike (negatives ×20 plus ten a minute), a moderate one (×10 plus one a minute) and a viral
 * positive post (everything ×20, positives ×30). Items are drawn per minute, and a check sees
 * only what has happened by then. The week under test is checked at every poll (--poll minutes, default 1, as
 * INBOX_POLL_SECONDS=60 would). Consecutive crisis answers are one page (an incident stays open
 * until two hours pass without one). Reported per scenario over --seeds seeds: detection delay
 * after the onset (median, p99, in minutes and polls), false pages per week, trending reports; the
 * same for a naive detector (page when the last hour's negatives exceed three times the history's
 * hourly mean, and at least five), measured in the same run; and the cost of one check.
 *
 * Targets: the sudden spike paged within two polls (p99); no false page on the steady, daily and
 * viral-positive weeks. Exits 1 when a target is missed. Pure computation: it stops by itself.
 */
import { parseArgs } from 'node:util';
import { detectSpike, type Slot, type SpikeResult } from '../src/core/spike.ts';
import { poisson, seededRandom } from '../test/support/random.ts';
import { percentile } from './lib/stats.ts';

/** The p-quantile (0..1) of values in any order. */
const q = (values: readonly number[], p: number): number => percentile([...values].sort((a, b) => a - b), p);

const { values: args } = parseArgs({
  options: {
    poll: { type: 'string', default: '1' },
    seeds: { type: 'string', default: '10' },
    sensitivity: { type: 'string', default: 'medium' },
  },
});
const POLL_MS = Math.max(1, Number(args.poll)) * 60_000;
const SEEDS = Math.max(1, Math.floor(Number(args.seeds)));
const SENSITIVITY = (['low', 'medium', 'high'] as const).find((s) => s === args.sensitivity) ?? 'medium';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SLOT = 10 * MINUTE;
/** Monday 2 March 2026 00:00 UTC: the week under test; history is the four weeks before. */
const WEEK = Date.UTC(2026, 2, 2);
const SINCE = WEEK - 28 * DAY;
/** After an incident's last crisis answer, this long without one closes the episode. */
const EPISODE_GAP_MS = 2 * HOUR;

type Rates = { negative: number; neutral: number; positive: number };


const steady = (): Rates => ({ negative: 2, neutral: 9, positive: 5 });
function daily(at: number): Rates {
  const date = new Date(at);
  const hour = date.getUTCHours();
  const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
  const level = (hour >= 8 && hour < 20 ? 1 : hour >= 6 && hour < 23 ? 0.4 : 0.08) * (weekend ? 0.5 : 1);
  return { negative: 3 * level, neutral: 14 * level, positive: 8 * level };
}

interface Scenario {
  name: string;
  rates: (at: number) => Rates;
  /** The real episode, when there is one: from onset to end. */
  incident?: { onset: number; end: number };
  /** Whether a page here is expected at all (false: any page is a false page). */
  pages: boolean;
}

const wednesday = WEEK + 2 * DAY;
const thursday = WEEK + 3 * DAY;
const scenarios: Scenario[] = [
  { name: 'steady', rates: steady, pages: false },
  { name: 'daily cycle', rates: daily, pages: false },
  {
    name: 'slow build-up',
    rates: (at) => {
      const base = daily(at);
      const onset = wednesday + 10 * HOUR;
      if (at < onset || at >= onset + 8 * HOUR) return base;
      const ramp = Math.min(1, (at - onset) / (6 * HOUR));
      return { ...base, negative: base.negative * (1 + 7 * ramp) };
    },
    incident: { onset: wednesday + 10 * HOUR, end: wednesday + 18 * HOUR },
    pages: true,
  },
  {
    // A crisis breaking: negatives ×20 plus ten a minute (a thread going viral against the brand).
    name: 'sudden spike',
    rates: (at) => {
      const base = daily(at);
      const onset = wednesday + 14 * HOUR;
      return at >= onset && at < onset + 2 * HOUR ? { ...base, negative: base.negative * 20 + 600 } : base;
    },
    incident: { onset: wednesday + 14 * HOUR, end: wednesday + 16 * HOUR },
    pages: true,
  },
  {
    // A smaller one, no target: negatives ×10 plus one a minute.
    name: 'moderate spike',
    rates: (at) => {
      const base = daily(at);
      const onset = thursday + 15 * HOUR;
      return at >= onset && at < onset + 2 * HOUR ? { ...base, negative: base.negative * 10 + 60 } : base;
    },
    incident: { onset: thursday + 15 * HOUR, end: thursday + 17 * HOUR },
    pages: true,
  },
  {
    name: 'viral positive',
    rates: (at) => {
      const base = daily(at);
      const onset = thursday + 11 * HOUR;
      return at >= onset && at < onset + 4 * HOUR ? { negative: base.negative * 20, neutral: base.neutral * 20, positive: base.positive * 30 } : base;
    },
    pages: false,
  },
];

/**
 * Items per minute by sentiment (what a week of inbox fetches would have counted), and the
 * ten-minute slots they make. At a check, only what has happened is seen: the slot holding `now`
 * counts its minutes so far.
 */
interface Timeline {
  minutes: { negative: Uint16Array; neutral: Uint16Array; positive: Uint16Array };
  slots: Slot[];
}

function timeline(scenario: Scenario, seed: number): Timeline {
  const random = seededRandom(seed);
  const count = (WEEK + 7 * DAY - SINCE) / MINUTE;
  const minutes = { negative: new Uint16Array(count), neutral: new Uint16Array(count), positive: new Uint16Array(count) };
  for (let i = 0; i < count; i += 1) {
    const rates = scenario.rates(SINCE + i * MINUTE);
    minutes.negative[i] = poisson(random, rates.negative / 60);
    minutes.neutral[i] = poisson(random, rates.neutral / 60);
    minutes.positive[i] = poisson(random, rates.positive / 60);
  }
  const slots: Slot[] = [];
  for (let first = 0; first < count; first += SLOT / MINUTE) slots.push(slotOf(minutes, first, first + SLOT / MINUTE));
  return { minutes, slots };
}

function slotOf(minutes: Timeline['minutes'], from: number, to: number): Slot {
  const slot: Slot = { start: new Date(SINCE + from * MINUTE), negative: 0, neutral: 0, positive: 0 };
  for (let i = from; i < to; i += 1) {
    slot.negative += minutes.negative[i]!;
    slot.neutral += minutes.neutral[i]!;
    slot.positive += minutes.positive[i]!;
  }
  return slot;
}

/** The slots as they stand at `now`: complete ones, then the one holding `now` with its minutes so far. */
function seenAt(line: Timeline, now: number): Slot[] {
  const minute = (now - SINCE) / MINUTE;
  const current = Math.floor(minute / (SLOT / MINUTE));
  const first = current * (SLOT / MINUTE);
  return [...line.slots.slice(0, current), slotOf(line.minutes, first, minute)];
}

/** The naive detector: the last hour's negatives against three times the history's hourly mean. */
function naive(slots: readonly Slot[], now: number): boolean {
  // Items counted up to `now` (the slot holding it is partial already).
  let recent = 0;
  let history = 0;
  for (const slot of slots) {
    const at = slot.start.getTime();
    if (at > now) break;
    if (at > now - HOUR) recent += slot.negative;
    else history += slot.negative;
  }
  const hours = (now - HOUR - SINCE) / HOUR;
  return recent >= 5 && recent > 3 * (history / hours);
}

interface Outcome {
  delaysMs: number[];
  falsePages: number;
  missed: number;
  trending: number;
}

function replay(scenario: Scenario, line: Timeline, check: (slots: Slot[], now: number) => SpikeResult['kind'], costs: number[]): Outcome {
  const outcome: Outcome = { delaysMs: [], falsePages: 0, missed: 0, trending: 0 };
  let lastCrisis = -Infinity;
  let detected = false;
  let trendingOpen = -Infinity;
  for (let now = WEEK; now < WEEK + 7 * DAY; now += POLL_MS) {
    const slots = seenAt(line, now);
    const started = performance.now();
    const kind = check(slots, now);
    costs.push((performance.now() - started) * 1_000);
    if (kind === 'trending') {
      if (now - trendingOpen > EPISODE_GAP_MS) outcome.trending += 1;
      trendingOpen = now;
    }
    if (kind !== 'crisis') continue;
    const newPage = now - lastCrisis > EPISODE_GAP_MS;
    lastCrisis = now;
    if (!newPage) continue;
    const real = scenario.incident && now >= scenario.incident.onset && now <= scenario.incident.end + EPISODE_GAP_MS;
    if (real && !detected) {
      detected = true;
      outcome.delaysMs.push(now - scenario.incident!.onset);
    } else outcome.falsePages += 1;
  }
  if (scenario.incident && !detected) outcome.missed += 1;
  return outcome;
}

const fixed = (value: number | undefined, digits = 1): string => (value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits));
const row = (label: string, value: string, target = '', verdict = ''): void => console.log(`  ${label.padEnd(52)}${value.padStart(22)}  ${target.padEnd(10)}${verdict}`);

console.log(`\nbench:crisis — Node ${process.version}, poll every ${POLL_MS / MINUTE} min, ${SEEDS} seeds per scenario, sensitivity ${SENSITIVITY}`);
console.log('  timelines: 4 weeks of history + 1 week checked at every poll; ten-minute slots by sentiment\n');

let failed = false;
const costs: number[] = [];
const naiveCosts: number[] = [];
for (const scenario of scenarios) {
  const ours: Outcome = { delaysMs: [], falsePages: 0, missed: 0, trending: 0 };
  const theirs: Outcome = { delaysMs: [], falsePages: 0, missed: 0, trending: 0 };
  const perSeedFalse: number[] = [];
  for (let seed = 1; seed <= SEEDS; seed += 1) {
    const line = timeline(scenario, seed * 7919 + scenario.name.length);
    const since = new Date(SINCE);
    const result = replay(scenario, line, (slots, now) => detectSpike({ now: new Date(now), slots, slotMinutes: 10, since, sensitivity: SENSITIVITY }).kind, costs);
    const baseline = replay(scenario, line, (slots, now) => (naive(slots, now) ? 'crisis' : 'none'), naiveCosts);
    for (const [into, from] of [[ours, result], [theirs, baseline]] as const) {
      into.delaysMs.push(...from.delaysMs);
      into.falsePages += from.falsePages;
      into.missed += from.missed;
      into.trending += from.trending;
    }
    perSeedFalse.push(result.falsePages);
  }
  const delays = ours.delaysMs.map((ms) => ms / MINUTE);
  const naiveDelays = theirs.delaysMs.map((ms) => ms / MINUTE);
  console.log(`${scenario.name}`);
  if (scenario.incident) {
    const p99 = q(delays, 0.99);
    const target = scenario.name === 'sudden spike' ? 2 * (POLL_MS / MINUTE) : undefined;
    const pass = target === undefined ? '' : ours.missed === 0 && p99 <= target ? 'PASS' : 'FAIL';
    if (pass === 'FAIL') failed = true;
    row('detection delay, median / p99 (min)', `${fixed(q(delays, 0.5))} / ${fixed(p99)}`, target === undefined ? '' : `≤ ${target}`, pass);
    row('  in polls, median / p99', `${fixed(q(delays, 0.5) / (POLL_MS / MINUTE))} / ${fixed(p99 / (POLL_MS / MINUTE))}`);
    row('missed incidents', `${ours.missed} of ${SEEDS}`);
    row('naive: delay median / p99 (min), missed', `${fixed(q(naiveDelays, 0.5))} / ${fixed(q(naiveDelays, 0.99))}, ${theirs.missed}`);
  }
  const falsePerWeek = ours.falsePages / SEEDS;
  const falseTarget = !scenario.pages;
  const falsePass = falseTarget ? (ours.falsePages === 0 ? 'PASS' : 'FAIL') : '';
  if (falsePass === 'FAIL') failed = true;
  row('false pages per week, mean (max)', `${fixed(falsePerWeek, 2)} (${Math.max(...perSeedFalse)})`, falseTarget ? '0' : '', falsePass);
  row('naive: false pages per week, mean', fixed(theirs.falsePages / SEEDS, 2));
  row('trending reports per week, mean', fixed(ours.trending / SEEDS, 2));
  console.log('');
}
const median = q(costs, 0.5);
const naiveMedian = q(naiveCosts, 0.5);
console.log('cost of one check (µs)');
row('spike test, median / p99', `${fixed(median)} / ${fixed(q(costs, 0.99))}`);
row('naive detector, median / p99', `${fixed(naiveMedian)} / ${fixed(q(naiveCosts, 0.99))}`);
row('spike test ÷ naive (median)', `${fixed(median / naiveMedian, 2)}×`);
console.log(`\nTargets: ${failed ? 'NOT all met' : 'all met'}`);
process.exitCode = failed ? 1 : 0;
