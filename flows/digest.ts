import { z } from 'zod';
import type { ChatAdapter, ConversationRef } from '../src/chat/port.ts';
import { parseRef } from '../src/chat/port.ts';
import { defaultDigestSchedule, LATE_AFTER_MS, latestRun, type DigestRun, type DigestSchedule } from '../src/core/digest.ts';
import { errorMessage } from '../src/core/errors.ts';
import { defineFlow, type FlowContext } from '../src/flow.ts';
import { resolveLocale, translator } from '../src/i18n/catalogue.ts';
import { JobNames } from '../src/jobs/names.ts';
import { defineJob } from '../src/jobs/scheduler.ts';
import type { Logger } from '../src/log.ts';
import type { WorkspaceSettings } from '../src/store/settings.ts';
import { paced, postOnce, runOnce } from './chat-writes.ts';
import { digestCharts } from './digest-charts.ts';
import { accountDetails, digestMessage, intlTag } from './digest-card.ts';
import { computeReport, type DigestReport } from './digest-report.ts';
import { channelRef } from './inbox-card.ts';

/**
 * The weekly digest. A recurring check (every DIGEST_CHECK_SECONDS) finds, per workspace, the
 * latest digest due by its own calendar (local weekday, time and zone, so DST neither shifts nor
 * repeats it) and sends it unless it went out already: each part (the message, the charts, the
 * thread) is posted once per workspace and week through the ledger's unique key, so two Herald
 * processes send one digest, and a digest missed while Herald was down goes out when it is back,
 * marked late. Only the latest week is ever sent: a long outage does not bring a backlog.
 */

const platformOf = (workspace: string): ConversationRef['platform'] => workspace.split(':')[0] as ConversationRef['platform'];

export function scheduleOf(settings: WorkspaceSettings): DigestSchedule {
  const base = defaultDigestSchedule(settings.digest?.timeZone ?? settings.timezone ?? 'UTC');
  return settings.digest ? { weekday: settings.digest.weekday, time: settings.digest.time, timeZone: base.timeZone } : base;
}

/** Where the digest goes: its own channel, else the approvals channel. */
export function digestChannel(settings: WorkspaceSettings): ConversationRef | undefined {
  const channel = settings.digest?.channel ?? settings.approvalsChannel;
  return channel ? channelRef(settings.workspace, channel) : undefined;
}

/**
 * Posts a report: the message, then its charts, then the per-account details in its thread. With
 * a `key`, each part goes out once per key (a retry or a second process finishes what is missing
 * and repeats nothing); without one (an on-demand report), it simply posts.
 */
export async function postReport(app: FlowContext, chat: ChatAdapter, where: ConversationRef, report: DigestReport, settings: WorkspaceSettings, options: { key?: string; late?: boolean; title?: string }, log: Logger): Promise<{ ref: ConversationRef; parts: number } | undefined> {
  const locale = resolveLocale(settings.locale);
  const t = translator(locale);
  const message = digestMessage(report, t, locale, { ...(options.late ? { late: true } : {}), ...(options.title ? { title: options.title } : {}) });
  let parts = 0;
  const once = async (part: string, post: () => Promise<ConversationRef>): Promise<ConversationRef | undefined> => {
    const send = async (): Promise<ConversationRef> => {
      parts += 1;
      return post();
    };
    if (!options.key) return send();
    const ref = await postOnce(app, `${options.key}:${part}`, send);
    return ref ? parseRef(ref) : undefined;
  };
  const posted = await once('message', () => paced(app, where, () => chat.post(where, message)));
  // Another process holds this digest (or it crashed mid-post a moment ago): it finishes the rest.
  if (!posted) return undefined;
  const charts = await digestCharts(report, t, intlTag(locale));
  for (const [index, image] of charts.entries()) {
    await once(`chart-${index}`, async () => {
      await paced(app, where, () => chat.uploadFile(where, image));
      return where;
    });
  }
  for (const [index, details] of accountDetails(report, t, intlTag(locale)).entries()) {
    await once(`details-${index}`, () => paced(app, where, () => chat.reply(posted, details)));
  }
  // Another process may have posted some parts; this one says what it did.
  if (parts > 0) log.info({ workspace: settings.workspace, from: report.from, to: report.to, posts: report.totals.posts, parts, key: options.key }, 'digest posted');
  return { ref: posted, parts };
}

/** Sends one workspace's digest for a run, once; answers whether this call posted any part of it. */
export async function sendDigest(app: FlowContext, settings: WorkspaceSettings, run: DigestRun, log: Logger): Promise<boolean> {
  const where = digestChannel(settings);
  const chat = app.chat.get(platformOf(settings.workspace));
  if (!where || !chat) return false;
  const key = `digest:${settings.workspace}:${run.key}`;
  const done = await app.stores.ledger.get(`${key}:sent`);
  if (done?.state === 'done') return false;
  const late = app.clock.now().getTime() - run.at.getTime() > LATE_AFTER_MS;
  const report = await computeReport(app, settings, { from: run.from, to: run.to });
  const posted = await postReport(app, chat, where, report, settings, { key, late }, log);
  if (!posted) return false;
  await runOnce(app, `${key}:sent`, 'digest', async () => ({ late }));
  if (posted.parts === 0) return false;
  if (late) log.warn({ workspace: settings.workspace, week: run.key, dueAt: run.at }, 'digest sent late (Herald was not running at its time)');
  return true;
}

/** The recurring check: every workspace whose digest is due and not sent yet. */
export async function checkDigests(app: FlowContext, log: Logger): Promise<number> {
  const now = app.clock.now();
  let sent = 0;
  for (const settings of await app.stores.settings.workspaces()) {
    if (!settings.digest?.enabled) continue;
    const run = latestRun(now, scheduleOf(settings));
    // A digest due before it was switched on is not owed.
    if (settings.digest.since && run.at.getTime() < settings.digest.since.getTime()) continue;
    try {
      if (await sendDigest(app, settings, run, log)) sent += 1;
    } catch (error) {
      // The next check tries again; each part already posted stays posted once.
      log.error({ workspace: settings.workspace, week: run.key, err: errorMessage(error) }, 'digest failed');
    }
  }
  return sent;
}

export default defineFlow({
  name: 'digest',
  jobs: (app) => [
    defineJob({
      name: JobNames.digestCheck,
      schema: z.object({}),
      async handler(_data, { log }) {
        await checkDigests(app, log);
      },
    }),
  ],
  async start(app) {
    await app.scheduler.every(`${app.config.DIGEST_CHECK_SECONDS} seconds`, JobNames.digestCheck, {});
  },
});
