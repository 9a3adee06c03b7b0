import { z } from 'zod';
import { adminsOnly, defineCommand } from '../src/chat/registry.ts';
import { parseNetworks } from '../flows/approval.ts';
import { isTimeZone } from '../src/core/when.ts';

/**
 * `/herald settings approvals:here watch:here reaction:memo networks:bluesky,x`: where cards go,
 * which channels the draft reaction works in, and the default networks.
 */
export default defineCommand({
  name: 'herald settings',
  description: 'Show or change where drafts go and how they start',
  options: z.object({
    approvals: z.string().optional().describe('"here" to make this channel the approvals channel'),
    watch: z.enum(['here', 'off']).optional().describe('"here" to watch this channel for the draft reaction, "off" to stop'),
    reaction: z.string().max(64).optional().describe('The emoji that turns a message into a draft'),
    networks: z.string().optional().describe('Default networks, comma separated'),
    timezone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Paris').optional().describe('Time zone for schedules and the calendar, e.g. Europe/Paris'),
  }),
  permission: adminsOnly,
  async run({ app, channel, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const current = await app.stores.settings.get(workspace);
    const changes: Parameters<typeof app.stores.settings.update>[1] = {};
    if (options.approvals) changes.approvalsChannel = options.approvals === 'here' ? channel.channel : options.approvals.replace(/^<#([\w]+)(\|.*)?>$/, '$1');
    if (options.watch === 'here') changes.watchedChannels = [...new Set([...current.watchedChannels, channel.channel])];
    if (options.watch === 'off') changes.watchedChannels = current.watchedChannels.filter((c) => c !== channel.channel);
    if (options.reaction) changes.draftReaction = options.reaction.replace(/^:|:$/g, '');
    if (options.networks) {
      changes.defaultNetworks = parseNetworks(options.networks, [], t);
    }
    if (options.timezone) changes.timezone = options.timezone;
    const saved = Object.keys(changes).length ? await app.stores.settings.update(workspace, changes) : current;
    await respond.ephemeral({
      text: t('settings.summary', {
        approvals: saved.approvalsChannel ?? t('settings.sameChannel'),
        watched: saved.watchedChannels.join(', ') || '—',
        reaction: saved.draftReaction,
        networks: saved.defaultNetworks.join(', '),
        timezone: saved.timezone ?? 'UTC',
      }),
    });
  },
});
