import { z } from 'zod';
import { defineCommand, everyone } from '../src/chat/registry.ts';
import { goalMetrics, type Goal } from '../src/core/digest.ts';
import { UserError } from '../src/core/errors.ts';
import { findAccount } from './report.ts';

/**
 * `/herald goals metric:posts target:15 account:@handle`: a weekly target the digest measures the
 * week against (posts, engagement, followers gained, median first response in minutes as a
 * ceiling, SLA compliance in %). `target:0` removes it. Without options: the goals.
 */
export default defineCommand({
  name: 'herald goals',
  description: 'Show or set weekly goals the digest reports on',
  options: z.object({
    metric: z.enum(goalMetrics).optional().describe('posts, engagement, followers, response (minutes) or sla (%)'),
    target: z.string().regex(/^\d+(\.\d+)?$/, 'a number, e.g. 15').optional().describe('Weekly target; 0 removes the goal'),
    account: z.string().optional().describe('One account by its handle; the whole workspace when absent'),
  }),
  permission: everyone,
  async run({ app, channel, membership, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    const accounts = await app.stores.accounts.list(workspace);
    let goals = settings.goals;
    if (options.metric || options.target) {
      if (!membership.isAdmin) throw new UserError('not_allowed', t('chat.permissionDenied', { requirement: t('chat.requirement.admin'), command: 'herald goals' }));
      if (!options.metric || !options.target) throw new UserError('goals_incomplete', t('goals.incomplete'));
      const account = options.account ? findAccount(accounts, options.account) : undefined;
      if (options.account && !account) throw new UserError('goals_account', t('report.noAccount', { account: options.account }));
      const target = Number(options.target);
      if (options.metric === 'sla' && target > 100) throw new UserError('goals_sla', t('goals.badSla'));
      const same = (g: Goal): boolean => g.metric === options.metric && g.accountId === account?.id;
      goals = [...goals.filter((g) => !same(g)), ...(target > 0 ? [{ metric: options.metric, target, ...(account ? { accountId: account.id } : {}) }] : [])];
      await app.stores.settings.update(workspace, { goals });
    }
    if (goals.length === 0) {
      await respond.ephemeral({ text: t('goals.none') });
      return;
    }
    const handle = (id: string | undefined): string => (id ? (accounts.find((a) => a.id === id)?.handle ?? id) : t('goals.workspace'));
    await respond.ephemeral({ text: [t('goals.header'), ...goals.map((g) => `• ${t(`digest.goal.${g.metric}`)} (${handle(g.accountId)}): ${g.target}`)].join('\n') });
  },
});
