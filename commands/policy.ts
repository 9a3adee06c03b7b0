import { z } from 'zod';
import { mention } from '../src/chat/model.ts';
import { adminsOnly, defineCommand } from '../src/chat/registry.ts';
import type { ApprovalPolicy, ApproverSpec, Requirement } from '../src/core/policy.ts';
import type { Translate } from '../src/i18n/catalogue.ts';

/**
 * Reads "@approvers, <@U123>, <@U123|ana>, <!subteam^S1|@legal>, <@&987>" into groups and users: Slack user
 * groups and Discord roles by id or name, people by their platform id.
 */
export function parseApprovers(raw: string): ApproverSpec {
  const spec: ApproverSpec = { groups: [], users: [] };
  for (const token of raw.split(/[\s,]+/).filter(Boolean)) {
    const group = /^<!subteam\^(\w+)(?:\|[^>]*)?>$/.exec(token) ?? /^<@&(\d+)>$/.exec(token);
    const user = /^<@!?(\w+)(?:\|[^>]*)?>$/.exec(token);
    if (group) spec.groups.push(group[1]!);
    else if (user) spec.users.push(user[1]!);
    else spec.groups.push(token.replace(/^@/, ''));
  }
  return spec;
}

const requirement = z.union([z.enum(['any', 'all']), z.coerce.number().int().min(1).max(20)]);

export function describePolicy(policy: ApprovalPolicy, t: Translate): string {
  const who = (spec: ApproverSpec): string => [...spec.groups.map((g) => `@${g}`), ...spec.users.map((u) => mention(u))].join(', ') || t('policy.admins');
  const steps = policy.steps.map((step, i) => `${i + 1}. ${step.name}: ${who(step.approvers)} · ${t('policy.required', { required: String(step.required) })}${step.forLabels ? ` · ${t('policy.forLabels', { labels: step.forLabels.join(', ') })}` : ''}`);
  return [
    ...steps,
    t(policy.allowSelfApproval ? 'policy.selfAllowed' : 'policy.selfForbidden'),
    t('policy.timers', { remind: policy.remindAfterMinutes, escalate: policy.escalateAfterMinutes, to: policy.escalateTo ? who(policy.escalateTo) : '—' }),
  ].join('\n');
}

/** `/herald policy approvers:@approvers required:2 label-step:legal=@legal self:forbidden scope:channel` */
export default defineCommand({
  name: 'herald policy',
  description: 'Show or set who must approve drafts',
  options: z.object({
    approvers: z.string().optional().describe('Approver groups, roles or people, comma separated'),
    required: z.string().optional().describe('How many must approve: any, all, or a number'),
    'label-step': z.string().optional().describe('A second step for a label, e.g. legal=@legal-team'),
    self: z.enum(['allowed', 'forbidden']).optional().describe('May authors approve their own drafts'),
    remind: z.string().regex(/^\d{1,5}$/, 'minutes, e.g. 240').optional().describe('Remind approvers after this many minutes'),
    escalate: z.string().regex(/^\d{1,5}$/, 'minutes, e.g. 480').optional().describe('Escalate after this many minutes'),
    'escalate-to': z.string().optional().describe('Who gets escalations, comma separated'),
    scope: z.enum(['workspace', 'channel']).optional().describe('Apply to the whole workspace or this channel only'),
  }),
  permission: adminsOnly,
  async run({ app, channel, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    const forChannel = options.scope === 'channel';
    const current = forChannel ? app.stores.settings.policyFor(settings, channel.channel) : settings.policy;
    const changing = ['approvers', 'required', 'label-step', 'self', 'remind', 'escalate', 'escalate-to'].some((k) => options[k as keyof typeof options] !== undefined);
    if (!changing) {
      await respond.ephemeral({ text: `${t('policy.title')}\n${describePolicy(current, t)}` });
      return;
    }
    const required: Requirement | undefined = options.required === undefined ? undefined : requirement.parse(options.required);
    const first = current.steps[0]!;
    const main = { ...first, ...(options.approvers ? { approvers: parseApprovers(options.approvers) } : {}), ...(required !== undefined ? { required } : {}) };
    let extra = current.steps.slice(1);
    if (options['label-step']) {
      const [label, who] = options['label-step'].split('=');
      if (!label || !who) {
        await respond.ephemeral({ text: t('policy.badLabelStep') });
        return;
      }
      extra = [...extra.filter((s) => !s.forLabels?.includes(label)), { name: label, approvers: parseApprovers(who), required: 'any', forLabels: [label] }];
    }
    const policy: ApprovalPolicy = {
      ...current,
      steps: [main, ...extra],
      ...(options.self ? { allowSelfApproval: options.self === 'allowed' } : {}),
      ...(options.remind ? { remindAfterMinutes: Number(options.remind) } : {}),
      ...(options.escalate ? { escalateAfterMinutes: Number(options.escalate) } : {}),
      ...(options['escalate-to'] ? { escalateTo: parseApprovers(options['escalate-to']) } : {}),
    };
    if (forChannel) {
      await app.stores.settings.update(workspace, { channelPolicies: [...settings.channelPolicies.filter((p) => p.channel !== channel.channel), { channel: channel.channel, policy }] });
    } else {
      await app.stores.settings.update(workspace, { policy });
    }
    app.log.info({ workspace, scope: forChannel ? channel.channel : 'workspace' }, 'approval policy changed');
    await respond.ephemeral({ text: `${t('policy.saved')}\n${describePolicy(policy, t)}` });
  },
});
