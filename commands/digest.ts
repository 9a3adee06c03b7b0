import { z } from 'zod';
import { defineCommand, everyone } from '../src/chat/registry.ts';
import { nextRun, parseWeekday } from '../src/core/digest.ts';
import { UserError } from '../src/core/errors.ts';
import { isTimeOfDay } from '../src/core/oncall.ts';
import { isTimeZone } from '../src/core/when.ts';
import type { DigestSettings } from '../src/store/settings.ts';
import { scheduleOf } from '../flows/digest.ts';
import { intlTag } from '../flows/digest-card.ts';
import { resolveLocale } from '../src/i18n/catalogue.ts';

const channelId = (raw: string, here: string): string => (raw === 'here' ? here : raw.replace(/^<#([\w]+)(\|.*)?>$/, '$1'));

/**
 * `/herald digest channel:here day:monday time:09:00 timezone:Europe/Bucharest state:on`: where
 * and when the weekly digest goes. Without options: the current settings and the next digest.
 * Anyone may look; admins change it.
 */
export default defineCommand({
  name: 'herald digest',
  description: 'Show or set where and when the weekly digest goes',
  options: z.object({
    channel: z.string().optional().describe('"here" or a #channel for the digest'),
    day: z.string().optional().describe('Day of the week, e.g. monday'),
    time: z.string().optional().describe('Local time, e.g. 09:00'),
    timezone: z.string().optional().describe('Time zone, e.g. Europe/Bucharest'),
    state: z.enum(['on', 'off']).optional().describe('on: send it every week; off: stop'),
  }),
  permission: everyone,
  async run({ app, actor, channel, membership, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    const changing = Object.values(options).some((value) => value !== undefined);
    let digest = settings.digest;
    if (changing) {
      if (!membership.isAdmin) throw new UserError('not_allowed', t('chat.permissionDenied', { requirement: t('chat.requirement.admin'), command: 'herald digest' }));
      const weekday = options.day !== undefined ? parseWeekday(options.day) : (digest?.weekday ?? 1);
      if (weekday === undefined) throw new UserError('digest_day', t('digest.settings.bad', { problem: t('digest.settings.badDay', { day: options.day ?? '' }) }));
      const time = options.time ?? digest?.time ?? '09:00';
      if (!isTimeOfDay(time)) throw new UserError('digest_time', t('digest.settings.bad', { problem: t('oncall.badTime') }));
      const timeZone = options.timezone ?? digest?.timeZone;
      if (timeZone && !isTimeZone(timeZone)) throw new UserError('digest_zone', t('digest.settings.bad', { problem: t('oncall.badZone', { zone: timeZone }) }));
      const target = options.channel ? channelId(options.channel, channel.channel) : (digest?.channel ?? (settings.approvalsChannel ? undefined : channel.channel));
      const enabled = options.state ? options.state === 'on' : true;
      const next: DigestSettings = {
        ...(target ? { channel: target } : {}),
        weekday,
        time,
        ...(timeZone ? { timeZone } : {}),
        enabled,
        // Switching it on (again) owes nothing for the weeks before.
        ...(enabled ? { since: digest?.enabled && digest.since ? digest.since : app.clock.now() } : {}),
      };
      await app.stores.settings.update(workspace, { digest: next });
      app.log.info({ workspace, weekday, time, timeZone, enabled, by: actor.ref.user }, 'digest settings saved');
      digest = next;
    }
    if (!digest) {
      await respond.ephemeral({ text: t('digest.settings.none') });
      return;
    }
    const schedule = scheduleOf({ ...settings, digest });
    const next = nextRun(app.clock.now(), schedule);
    const when = new Intl.DateTimeFormat(intlTag(resolveLocale(actor.locale)), { timeZone: schedule.timeZone, weekday: 'long', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(next.at);
    await respond.ephemeral({
      text: digest.enabled
        ? t('digest.settings.summary', { channel: `<#${digest.channel ?? settings.approvalsChannel ?? channel.channel}>`, when, zone: schedule.timeZone })
        : t('digest.settings.off'),
    });
  },
});
