/**
 * `npm run bench:chat`: what Herald's Slack adapter costs on the ack path.
 *
 * Two Socket Mode apps, each against its own Slack emulator on 127.0.0.1: (a) Herald's adapter with
 * a real InboundHandler that does a little async work after the ack, and (b) a bare Bolt App whose
 * only listener acks (the floor). Both receive the same block_actions clicks at a steady rate, in
 * alternating rounds so neither gets a quieter machine; the emulator measures envelope → ack.
 * Target: Herald's p99 within 1.5× the bare app's. Prints a table and exits by itself.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { App, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { decodeActionId } from '../src/chat/action-id.ts';
import type { InboundHandler } from '../src/chat/port.ts';
import { createSlackAdapter } from '../src/chat/slack/adapter.ts';
import { createLogger } from '../src/log.ts';
import { createSlackEmulator, type DeliveryResult, type SlackEmulator } from '../src/sandbox/slack-emulator/index.ts';

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
    rate: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '4' },
  },
});
const COUNT = Number(args.count);
const WARMUP = Number(args.warmup);
const RATE = Number(args.rate);
const ROUNDS = Math.max(1, Number(args.rounds));
const TARGET_RATIO = 1.5;
const ACTION_ID = 'bench:approve:d1';
const retryConfig = { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 20 };

// A bench that hangs is worse than one that fails: give up after a generous bound.
const watchdog = setTimeout(() => {
  console.error('bench:chat did not finish within 5 minutes; giving up');
  process.exit(1);
}, 5 * 60_000);
watchdog.unref();

interface Subject {
  name: string;
  emulator: SlackEmulator;
  /** The card whose button is clicked. */
  ts: string;
  handled: () => number;
  stop: () => Promise<void>;
}

const card = [
  { type: 'section', text: { type: 'mrkdwn', text: '*Draft d1*\nReady for review' } },
  { type: 'actions', elements: [{ type: 'button', action_id: ACTION_ID, text: { type: 'plain_text', text: 'Approve' }, style: 'primary' }] },
];

async function heraldSubject(): Promise<Subject> {
  const emulator = await createSlackEmulator();
  let handled = 0;
  // A handler shaped like the dispatcher's: decode the action id, wait on I/O a little, answer.
  const handler: InboundHandler = async (event) => {
    if (event.type !== 'action' || !decodeActionId(event.actionId)) return;
    await sleep(2);
    JSON.stringify(event.message);
    handled += 1;
  };
  const adapter = createSlackAdapter({
    botToken: emulator.botToken,
    appToken: emulator.appToken,
    apiUrl: emulator.apiUrl,
    teamId: emulator.teamId,
    botUserId: emulator.botUserId,
    botId: emulator.botId,
    log: createLogger({ level: 'silent', format: 'json' }),
    retries: 2,
    retryMinTimeoutMs: 10,
  });
  await adapter.start(handler);
  const ref = await adapter.post({ platform: 'slack', workspace: emulator.teamId, channel: 'C_GENERAL' }, {
    text: 'Draft d1',
    card: { title: 'Draft d1', body: 'Ready for review', actions: [{ kind: 'button', actionId: ACTION_ID, label: 'Approve', style: 'primary' }] },
  });
  return { name: 'Herald adapter', emulator, ts: ref.message!, handled: () => handled, stop: () => adapter.stop() };
}

async function bareSubject(): Promise<Subject> {
  const emulator = await createSlackEmulator();
  let handled = 0;
  const receiver = new SocketModeReceiver({
    appToken: emulator.appToken,
    logLevel: LogLevel.ERROR,
    installerOptions: { clientOptions: { slackApiUrl: emulator.apiUrl, retryConfig } },
  });
  const app = new App({
    token: emulator.botToken,
    receiver,
    botId: emulator.botId,
    botUserId: emulator.botUserId,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: emulator.apiUrl, retryConfig },
  });
  app.action(ACTION_ID, async ({ ack }) => {
    await ack();
    handled += 1;
  });
  await app.start();
  const posted = await app.client.chat.postMessage({ channel: 'C_GENERAL', text: 'Draft d1', blocks: card });
  return {
    name: 'bare Bolt app',
    emulator,
    ts: posted.ts as string,
    handled: () => handled,
    stop: async () => {
      const disconnected = new Promise((resolve) => receiver.client.once('disconnected', resolve));
      await app.stop();
      await Promise.race([disconnected, sleep(5_000)]);
    },
  };
}

/** Sends `count` clicks at RATE per second (not waiting for acks) and resolves with every delivery. */
async function drive(subject: Subject, count: number): Promise<DeliveryResult[]> {
  const interval = 1_000 / RATE;
  const started = performance.now();
  const pending: Promise<DeliveryResult>[] = [];
  for (let i = 0; i < count; i += 1) {
    const wait = started + i * interval - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(subject.emulator.userClicksButton({ user: 'U_BOB', channel: 'C_GENERAL', ts: subject.ts, actionId: ACTION_ID }));
  }
  return Promise.all(pending);
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
const ms = (value: number): string => `${value.toFixed(2)} ms`.padStart(10);

async function main(): Promise<void> {
  const subjects = [await heraldSubject(), await bareSubject()];
  const latencies = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const unacked = new Map<string, number>(subjects.map((s) => [s.name, 0]));
  try {
    for (const subject of subjects) await drive(subject, WARMUP);
    const perRound = Math.ceil(COUNT / ROUNDS);
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate which one goes first, so drift in the machine's load falls on both.
      const order = round % 2 === 0 ? subjects : [...subjects].reverse();
      for (const subject of order) {
        const n = Math.min(perRound, COUNT - round * perRound);
        if (n <= 0) continue;
        for (const result of await drive(subject, n)) {
          if (result.acked && typeof result.latencyMs === 'number') latencies.get(subject.name)!.push(result.latencyMs);
          else unacked.set(subject.name, unacked.get(subject.name)! + 1);
        }
      }
    }
    await sleep(100); // let the last handlers finish before counting them
    const rows = subjects.map((s) => {
      const sorted = latencies.get(s.name)!.sort((a, b) => a - b);
      return { name: s.name, n: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN, unacked: unacked.get(s.name)!, handled: s.handled() };
    });
    const [herald, bare] = rows as [(typeof rows)[0], (typeof rows)[0]];
    const ratio = herald.p99 / bare.p99;
    console.log(`\nSlack envelope → ack latency, ${COUNT} block_actions per app at ${RATE}/s after ${WARMUP} warm-up, ${ROUNDS} alternating rounds (Node ${process.version})\n`);
    console.log(`${'app'.padEnd(16)}${'acked'.padStart(7)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}${'unacked'.padStart(9)}${'handled'.padStart(9)}`);
    for (const r of rows) console.log(`${r.name.padEnd(16)}${String(r.n).padStart(7)}${ms(r.p50)}${ms(r.p99)}${ms(r.max)}${String(r.unacked).padStart(9)}${String(r.handled).padStart(9)}`);
    console.log(`\np99 ratio Herald / bare: ${ratio.toFixed(2)}× (target ≤ ${TARGET_RATIO}×) → ${ratio <= TARGET_RATIO ? 'within target' : 'OVER TARGET'}`);
  } finally {
    for (const s of subjects) {
      await s.stop();
      await s.emulator.close();
    }
    clearTimeout(watchdog);
  }
}

await main();
