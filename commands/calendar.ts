import { z } from 'zod';
import { defineCommand, everyone } from '../src/chat/registry.ts';
import { networks } from '../src/core/networks.ts';
import type { Draft } from '../src/core/draft.ts';

const DAY_MS = 86_400_000;
/** Two posts on one account closer than this are flagged: they compete for the same audience. */
export const TOO_CLOSE_MS = 30 * 60_000;

/** Posts of one account closer together than TOO_CLOSE_MS, by draft id. */
export function crowded(drafts: readonly Draft[]): Set<string> {
  const flagged = new Set<string>();
  const byNetwork = new Map<string, Draft[]>();
  for (const draft of drafts) for (const network of draft.networks) byNetwork.set(network, [...(byNetwork.get(network) ?? []), draft]);
  for (const list of byNetwork.values()) {
    const sorted = [...list].sort((a, b) => a.scheduledAt!.getTime() - b.scheduledAt!.getTime());
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.scheduledAt!.getTime() - sorted[i - 1]!.scheduledAt!.getTime() < TOO_CLOSE_MS) {
        flagged.add(sorted[i]!.id);
        flagged.add(sorted[i - 1]!.id);
      }
    }
  }
  return flagged;
}

/** `/herald calendar [week|month]`: what goes out when, per account, in the viewer's time zone. */
export default defineCommand({
  name: 'herald calendar',
  description: 'Show what is scheduled this week or month',
  options: z.object({ range: z.enum(['week', 'month']).optional().describe('week (default) or month') }),
  permission: everyone,
  async run({ app, channel, membership, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    // The viewer's own zone where the platform gives it (Slack), else the workspace's.
    const zone = membership.timeZone ?? settings.timezone ?? 'UTC';
    const now = app.clock.now();
    const until = new Date(now.getTime() + (options.range === 'month' ? 31 : 7) * DAY_MS);
    const drafts = (await app.stores.drafts.list(workspace, { statuses: ['scheduled', 'approved', 'pending', 'publishing'], limit: 500 }))
      .filter((d) => d.scheduledAt && d.scheduledAt >= new Date(now.getTime() - DAY_MS) && d.scheduledAt <= until)
      .sort((a, b) => a.scheduledAt!.getTime() - b.scheduledAt!.getTime());
    if (drafts.length === 0) {
      await respond.ephemeral({ text: t('calendar.empty', { zone }) });
      return;
    }
    const accounts = await app.stores.accounts.list(workspace);
    const handle = (network: Draft['networks'][number]): string => accounts.find((a) => a.network === network)?.handle ?? networks[network].label;
    const flagged = crowded(drafts.filter((d) => d.status === 'scheduled'));
    const day = new Intl.DateTimeFormat(settings.locale ?? 'en', { timeZone: zone, weekday: 'long', day: 'numeric', month: 'long' });
    const time = new Intl.DateTimeFormat(settings.locale ?? 'en', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    const lines: string[] = [t('calendar.title', { zone, paused: settings.paused ? t('calendar.paused') : '' }).trim()];
    let current = '';
    for (const draft of drafts) {
      const heading = day.format(draft.scheduledAt!);
      if (heading !== current) {
        lines.push(`*${heading}*`);
        current = heading;
      }
      const state = draft.status === 'scheduled' ? '' : ` (${t(`draft.status.${draft.status}`)})`;
      const warn = flagged.has(draft.id) ? ` ⚠️ ${t('calendar.tooClose')}` : '';
      lines.push(`• ${time.format(draft.scheduledAt!)} · ${draft.networks.map(handle).join(', ')} · ${draft.id}${state} · ${draft.text.slice(0, 60)}${warn}`);
    }
    await respond.ephemeral({ text: lines.join('\n') });
  },
});
