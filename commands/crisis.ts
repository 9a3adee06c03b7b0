import { z } from 'zod';
import { adminsOnly, defineCommand } from '../src/chat/registry.ts';
import { UserError } from '../src/core/errors.ts';
import { crisisSensitivities } from '../src/store/settings.ts';

/**
 * `/herald crisis action:channel` (here), `action:watch phrase:"data breach"`, `action:unwatch`,
 * `action:sensitivity level:high`, `action:reach followers:50000`: where incident cards go, the
 * watchlist (any language; accents and case do not matter), how readily a spike counts, and from
 * how many followers a complaint counts as high-reach.
 */
export default defineCommand({
  name: 'herald crisis',
  description: 'Show or change crisis detection: channel, watchlist, sensitivity, reach',
  options: z.object({
    action: z.enum(['show', 'channel', 'watch', 'unwatch', 'sensitivity', 'reach']).optional().describe('show (default), channel, watch, unwatch, sensitivity, reach'),
    phrase: z.string().max(100).optional().describe('A word or phrase to watch for'),
    level: z.enum(crisisSensitivities).optional().describe('low, medium or high'),
    followers: z.string().regex(/^\d{1,9}$/, 'a number, e.g. 50000').optional().describe('Followers from which an author is high-reach'),
  }),
  permission: adminsOnly,
  async run({ app, channel, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const { crisis } = await app.stores.settings.get(workspace);
    const phrase = options.phrase?.trim();
    switch (options.action ?? 'show') {
      case 'channel':
        crisis.channel = channel.channel;
        break;
      case 'watch':
        if (!phrase) throw new UserError('crisis_usage', t('crisis.settings.usage'));
        crisis.watchlist = [...new Set([...crisis.watchlist, phrase])];
        break;
      case 'unwatch':
        if (!phrase) throw new UserError('crisis_usage', t('crisis.settings.usage'));
        crisis.watchlist = crisis.watchlist.filter((entry) => entry.toLowerCase() !== phrase.toLowerCase());
        break;
      case 'sensitivity':
        if (!options.level) throw new UserError('crisis_usage', t('crisis.settings.usage'));
        crisis.sensitivity = options.level;
        break;
      case 'reach':
        if (!options.followers) throw new UserError('crisis_usage', t('crisis.settings.usage'));
        crisis.reachFollowers = Number(options.followers);
        break;
      default:
        break;
    }
    if ((options.action ?? 'show') !== 'show') await app.stores.settings.update(workspace, { crisis });
    await respond.ephemeral({
      text: t('crisis.settings', {
        channel: crisis.channel ? `<#${crisis.channel}>` : '—',
        sensitivity: crisis.sensitivity,
        reach: crisis.reachFollowers ?? app.config.INBOX_RISKY_FOLLOWERS,
        watchlist: crisis.watchlist.map((entry) => `“${entry}”`).join(', ') || '—',
      }),
    });
  },
});
