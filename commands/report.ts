import { z } from 'zod';
import { defineCommand, everyone } from '../src/chat/registry.ts';
import { parseRange } from '../src/core/digest.ts';
import { UserError } from '../src/core/errors.ts';
import { postReport } from '../flows/digest.ts';
import { computeReport } from '../flows/digest-report.ts';

/** "@herald.bsky.social" or "herald.bsky.social": an account of the workspace by its handle. */
export function findAccount<T extends { handle: string }>(accounts: readonly T[], raw: string): T | undefined {
  const wanted = raw.trim().replace(/^@/, '').toLowerCase();
  return accounts.find((a) => a.handle.toLowerCase() === wanted || a.handle.toLowerCase().split('@')[0] === wanted);
}

/**
 * `/herald report range:last-week account:@handle`: the digest's content for any range (and one
 * account), posted in this channel with its charts and the per-account details in its thread.
 */
export default defineCommand({
  name: 'herald report',
  description: 'The digest for any range: week, last-week, month, 30d, 2026-11-01..2026-11-30',
  options: z.object({
    range: z.string().optional().describe('week, last-week (default), month, last-month, 30d, or 2026-11-01..2026-11-30'),
    account: z.string().optional().describe('Only this account, by its handle'),
  }),
  permission: everyone,
  async run({ app, chat, channel, options, respond, t, log }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    const zone = settings.digest?.timeZone ?? settings.timezone ?? 'UTC';
    const range = parseRange(options.range, app.clock.now(), zone);
    if (!range.ok) throw new UserError('report_range', t('report.badRange', { range: options.range ?? '' }));
    let accountId: string | undefined;
    if (options.account) {
      const account = findAccount(await app.stores.accounts.list(workspace), options.account);
      if (!account) throw new UserError('report_account', t('report.noAccount', { account: options.account }));
      accountId = account.id;
    }
    await respond.ephemeral({ text: t('report.working') });
    const report = await computeReport(app, settings, { from: range.from, to: range.to, ...(accountId ? { accountId } : {}) });
    const where = { platform: channel.platform, workspace: channel.workspace, channel: channel.channel };
    await postReport(app, chat, where, report, settings, { title: t('report.title', { range: options.range ?? 'last-week' }) }, log);
  },
});
