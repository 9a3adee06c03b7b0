import { z } from 'zod';
import { adminsOnly, defineCommand } from '../src/chat/registry.ts';
import { parseRange } from '../src/core/digest.ts';
import { UserError } from '../src/core/errors.ts';
import { exportFiles } from '../flows/digest-export.ts';

/**
 * `/herald export range:last-month`: the range's posts with their metrics and its inbox items with
 * response times as two CSV files, sent to the person who asked in a direct message (an export
 * is theirs, not the channel's). Admins only: it is the workspace's data in bulk.
 */
export default defineCommand({
  name: 'herald export',
  description: 'CSV files of posts with metrics and inbox items with response times, sent to you',
  options: z.object({
    range: z.string().optional().describe('week, last-week (default), month, last-month, 30d, or 2026-11-01..2026-11-30'),
  }),
  permission: adminsOnly,
  async run({ app, actor, chat, channel, options, respond, t, log }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    const zone = settings.digest?.timeZone ?? settings.timezone ?? 'UTC';
    const range = parseRange(options.range, app.clock.now(), zone);
    if (!range.ok) throw new UserError('export_range', t('report.badRange', { range: options.range ?? '' }));
    const { files, posts, items } = await exportFiles(app, workspace, range.from, range.to, zone);
    const dm = await chat.notifyUser(actor.ref, { text: t('export.dm', { range: options.range ?? 'last-week', posts, items }) });
    const where = { platform: dm.platform, workspace: dm.workspace, channel: dm.channel };
    for (const file of files) await chat.uploadFile(where, file);
    log.info({ workspace, posts, items, by: actor.ref.user }, 'export sent');
    await respond.ephemeral({ text: t('export.sent', { posts, items }) });
  },
});
