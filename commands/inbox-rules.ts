import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { adminsOnly, defineCommand } from '../src/chat/registry.ts';
import { UserError } from '../src/core/errors.ts';
import { inboxLanguages, sentiments, type InboxRule } from '../src/core/inbox.ts';
import type { Translate } from '../src/i18n/catalogue.ts';
import type { Account } from '../src/store/accounts.ts';
import { scheduleFetches } from '../flows/inbox.ts';

const list = (raw: string | undefined): string[] => (raw ?? '').split(',').map((part) => part.trim()).filter(Boolean);
/** Slack "<#C123|name>", Discord "<#123>", or a bare id. */
const channelId = (raw: string): string => raw.replace(/^<#([\w]+)(\|[^>]*)?>$/, '$1');
const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function describeRule(rule: InboxRule, accounts: readonly Account[], t: Translate): string {
  const conditions = [
    rule.accounts?.length ? `${t('inbox.rules.account')} ${rule.accounts.map((id) => accounts.find((a) => a.id === id)?.handle ?? id).join(', ')}` : '',
    rule.keywords?.length ? `${t('inbox.rules.keyword')} ${rule.keywords.join(', ')}` : '',
    rule.sentiment ? `${t('inbox.rules.sentiment')} ${rule.sentiment}` : '',
    rule.language ? `${t('inbox.rules.language')} ${rule.language}` : '',
    rule.authors?.length ? `VIP ${rule.authors.map((a) => `@${a.replace(/^@/, '')}`).join(', ')}` : '',
  ].filter(Boolean);
  const extras = [rule.slaMinutes ? `SLA ${rule.slaMinutes} min` : '', rule.approval ? t('inbox.rules.approval') : ''].filter(Boolean);
  return `\`${rule.id}\` ${conditions.join(' · ') || t('inbox.rules.everything')} → <#${rule.channel}>${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** Parses "mon-fri 9-18" into business hours. */
export function parseHours(raw: string): { days: number[]; startHour: number; endHour: number } | undefined {
  const match = /^\s*(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?\s+(\d{1,2})-(\d{1,2})\s*$/i.exec(raw);
  if (!match) return undefined;
  const from = days.indexOf(match[1]!.toLowerCase());
  const to = days.indexOf((match[2] ?? match[1]!).toLowerCase());
  const startHour = Number(match[3]);
  const endHour = Number(match[4]);
  if (to < from || startHour >= endHour || endHour > 24) return undefined;
  return { days: days.slice(from, to + 1).map((_, i) => from + i + 1), startHour, endHour };
}

/**
 * `/herald inbox-rules action:add channel:#support keyword:refund sla:30` — where inbox items go:
 * by account, keyword, sentiment, language or VIP author; the first matching rule wins, and a rule
 * with only an account is that account's inbox channel. Also the fetch interval per account and
 * the business hours SLAs count in.
 */
export default defineCommand({
  name: 'herald inbox-rules',
  description: 'Show or change where inbox items go, SLAs, fetch intervals, business hours',
  options: z.object({
    action: z.enum(['list', 'add', 'remove', 'poll', 'hours']).optional().describe('list (default), add, remove, poll, hours'),
    channel: z.string().optional().describe('Where matching items go ("here" for this channel)'),
    account: z.string().optional().describe('Account handle(s), comma separated'),
    keyword: z.string().optional().describe('Words or phrases, comma separated'),
    sentiment: z.enum(sentiments).optional().describe('negative, neutral or positive'),
    language: z.enum(inboxLanguages).optional().describe('en, fr, ro or other'),
    vip: z.string().optional().describe('VIP author handles, comma separated'),
    sla: z.string().regex(/^\d{1,4}$/, 'minutes, e.g. 30').optional().describe('First response due within this many business minutes'),
    approval: z.enum(['yes', 'no']).optional().describe('Replies need an approval first'),
    id: z.string().regex(/^rule-[a-f0-9]+$/, 'a rule id such as rule-1a2b3c').optional().describe('The rule to remove'),
    seconds: z.string().regex(/^\d{1,5}$/, 'seconds, e.g. 60').optional().describe('Fetch interval for the account (poll)'),
    hours: z.string().optional().describe('Business hours, e.g. "mon-fri 9-18"'),
  }),
  permission: adminsOnly,
  async run({ app, channel, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    const accounts = await app.stores.accounts.list(workspace);
    const accountIds = (raw: string | undefined): string[] =>
      list(raw).map((handle) => {
        const found = accounts.find((a) => a.handle.toLowerCase() === handle.replace(/^@/, '').toLowerCase());
        if (!found) throw new UserError('unknown_account', t('inbox.rules.unknownAccount', { handle, known: accounts.map((a) => a.handle).join(', ') || '—' }));
        return found.id;
      });
    let rules = settings.inboxRules;
    switch (options.action ?? 'list') {
      case 'add': {
        if (!options.channel) throw new UserError('missing_channel', t('inbox.rules.needChannel'));
        const rule: InboxRule = {
          id: `rule-${randomBytes(3).toString('hex')}`,
          channel: options.channel === 'here' ? channel.channel : channelId(options.channel),
          ...(options.account ? { accounts: accountIds(options.account) } : {}),
          ...(options.keyword ? { keywords: list(options.keyword) } : {}),
          ...(options.sentiment ? { sentiment: options.sentiment } : {}),
          ...(options.language ? { language: options.language } : {}),
          ...(options.vip ? { authors: list(options.vip).map((h) => h.replace(/^@/, '')) } : {}),
          ...(options.sla ? { slaMinutes: Number(options.sla) } : {}),
          ...(options.approval === 'yes' ? { approval: true } : {}),
        };
        // Specific rules first: a rule with conditions goes before the account-only and catch-all ones.
        const specific = (r: InboxRule): boolean => Boolean(r.keywords?.length || r.sentiment || r.language || r.authors?.length);
        rules = specific(rule) ? [...rules.filter(specific), rule, ...rules.filter((r) => !specific(r))] : [...rules, rule];
        await app.stores.settings.update(workspace, { inboxRules: rules });
        break;
      }
      case 'remove': {
        if (!options.id || !rules.some((r) => r.id === options.id)) throw new UserError('unknown_rule', t('inbox.rules.unknownRule', { id: options.id ?? '—' }));
        rules = rules.filter((r) => r.id !== options.id);
        await app.stores.settings.update(workspace, { inboxRules: rules });
        break;
      }
      case 'poll': {
        const ids = accountIds(options.account);
        if (ids.length === 0 || !options.seconds || Number(options.seconds) < 10) throw new UserError('poll_usage', t('inbox.rules.pollUsage'));
        const poll = [...settings.inboxPoll.filter((p) => !ids.includes(p.accountId)), ...ids.map((accountId) => ({ accountId, seconds: Number(options.seconds) }))];
        await app.stores.settings.update(workspace, { inboxPoll: poll });
        await scheduleFetches(app, ids);
        break;
      }
      case 'hours': {
        const hours = options.hours ? parseHours(options.hours) : undefined;
        if (!hours) throw new UserError('hours_usage', t('inbox.rules.hoursUsage'));
        await app.stores.settings.update(workspace, { businessHours: hours });
        break;
      }
      default:
        break;
    }
    const saved = await app.stores.settings.get(workspace);
    const lines = saved.inboxRules.map((rule) => describeRule(rule, accounts, t));
    const polls = saved.inboxPoll.map((p) => `${accounts.find((a) => a.id === p.accountId)?.handle ?? p.accountId}: ${p.seconds} s`);
    const hours = saved.businessHours ? `${saved.businessHours.days.map((d) => days[d - 1]).join(',')} ${saved.businessHours.startHour}-${saved.businessHours.endHour}` : 'mon-fri 9-18';
    await respond.ephemeral({
      text: [
        t('inbox.rules.header'),
        ...(lines.length ? lines : [t('inbox.rules.none')]),
        t('inbox.rules.fallback', { channel: saved.approvalsChannel ? `<#${saved.approvalsChannel}>` : '—' }),
        t('inbox.rules.polling', { default: app.config.INBOX_POLL_SECONDS, accounts: polls.join(', ') || '—', hours, timezone: saved.timezone ?? 'UTC' }),
      ].join('\n'),
    });
  },
});
