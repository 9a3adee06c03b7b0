import { z } from 'zod';
import { mention } from '../src/chat/model.ts';
import { defineCommand, everyone } from '../src/chat/registry.ts';
import { UserError } from '../src/core/errors.ts';
import { isTimeOfDay, turnAt, type OnCallRotation } from '../src/core/oncall.ts';
import { isTimeZone } from '../src/core/when.ts';
import { parseApprovers } from './policy.ts';

/** People by id, and the first group, from mentions as the platforms send them (see parseApprovers). */
export function parsePeople(raw: string): { people: string[]; group?: string } {
  const { users, groups } = parseApprovers(raw);
  return { people: [...new Set(users)], ...(groups[0] ? { group: groups[0] } : {}) };
}

const who = (spec: { people: string[]; group?: string }): string => [...spec.people.map((u) => mention(u)), ...(spec.group ? [`@${spec.group}`] : [])].join(', ') || '—';

/**
 * `/herald oncall people:@ana,@bogdan handover:09:00 every:7 timezone:Europe/Bucharest ack:10
 * escalation:@lead`: who is paged for an incident, when turns change, how long an acknowledgement
 * may take before the next person and the escalation people are paged. Without options: who is on
 * call now. Anyone may look; admins change it.
 */
export default defineCommand({
  name: 'herald oncall',
  description: 'Show or set the on-call rotation that incidents page',
  options: z.object({
    people: z.string().optional().describe('Who takes turns, in order: @people, or a user group / role'),
    handover: z.string().optional().describe('Time of the hand-over, e.g. 09:00'),
    every: z.string().regex(/^\d{1,2}$/, 'days, e.g. 7').optional().describe('Days between hand-overs (1 daily, 7 weekly)'),
    timezone: z.string().optional().describe('Time zone of the hand-over, e.g. Europe/Bucharest'),
    ack: z.string().regex(/^\d{1,3}$/, 'minutes, e.g. 10').optional().describe('Minutes to acknowledge before escalating'),
    escalation: z.string().optional().describe('Paged with the next person when nobody acknowledges'),
  }),
  permission: everyone,
  async run({ app, actor, chat, channel, membership, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    const changing = Object.values(options).some((value) => value !== undefined);
    let rotation = settings.oncall;
    if (changing) {
      if (!membership.isAdmin) throw new UserError('not_allowed', t('chat.permissionDenied', { requirement: t('chat.requirement.admin'), command: 'herald oncall' }));
      const team = options.people ? parsePeople(options.people) : { people: rotation?.people ?? [], ...(rotation?.group ? { group: rotation.group } : {}) };
      const escalation = options.escalation ? parsePeople(options.escalation) : { people: rotation?.escalationPeople ?? [], ...(rotation?.escalationGroup ? { group: rotation.escalationGroup } : {}) };
      const handoverTime = options.handover ?? rotation?.handoverTime ?? '09:00';
      const timeZone = options.timezone ?? rotation?.timeZone ?? settings.timezone ?? 'UTC';
      if (!isTimeOfDay(handoverTime)) throw new UserError('oncall_time', t('oncall.bad', { problem: t('oncall.badTime') }));
      if (!isTimeZone(timeZone)) throw new UserError('oncall_zone', t('oncall.bad', { problem: t('oncall.badZone', { zone: timeZone }) }));
      if (team.people.length === 0 && !team.group) throw new UserError('oncall_nobody', t('oncall.bad', { problem: t('oncall.nobody') }));
      const everyDays = Math.min(28, Math.max(1, Number(options.every ?? rotation?.everyDays ?? 7)));
      const ackMinutes = Math.min(240, Math.max(1, Number(options.ack ?? rotation?.ackMinutes ?? 10)));
      // A new team starts its rotation now; changing only the times keeps whose turn it is.
      const since = options.people || !rotation ? app.clock.now() : rotation.since;
      const next: OnCallRotation = {
        people: team.people,
        ...(team.group ? { group: team.group } : {}),
        handoverTime,
        everyDays,
        timeZone,
        since,
        escalationPeople: escalation.people,
        ...(escalation.group ? { escalationGroup: escalation.group } : {}),
        ackMinutes,
      };
      await app.stores.settings.update(workspace, { oncall: next });
      app.log.info({ workspace, people: next.people.length, group: next.group, everyDays, ackMinutes, by: actor.ref.user }, 'on-call rotation set');
      rotation = next;
    }
    if (!rotation) {
      await respond.ephemeral({ text: t('oncall.none') });
      return;
    }
    const members = [...new Set([...rotation.people, ...(rotation.group ? await chat.groupMembers(channel.workspace, rotation.group) : [])])];
    const turn = turnAt(rotation, members, app.clock.now());
    await respond.ephemeral({
      text: t('oncall.header', {
        who: turn ? mention(turn.user) : '—',
        until: turn ? new Intl.DateTimeFormat('en-GB', { timeZone: rotation.timeZone, dateStyle: 'medium', timeStyle: 'short' }).format(turn.until) : '—',
        zone: rotation.timeZone,
        people: who({ people: rotation.people, ...(rotation.group ? { group: rotation.group } : {}) }),
        time: rotation.handoverTime,
        days: rotation.everyDays,
        minutes: rotation.ackMinutes,
        escalation: who({ people: rotation.escalationPeople, ...(rotation.escalationGroup ? { group: rotation.escalationGroup } : {}) }),
      }),
    });
  },
});
