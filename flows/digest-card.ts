import type { Message } from '../src/chat/model.ts';
import { change } from '../src/core/digest.ts';
import { networks, type NetworkId } from '../src/core/networks.ts';
import type { Translate } from '../src/i18n/catalogue.ts';
import type { AccountFigures, DigestReport, PostLine, Week } from './digest-report.ts';

/**
 * The digest as people read it: one message with the week's headline figures, the networks, the
 * best and worst posts, the team's own figures and the goals; the per-account details go in its
 * thread. Numbers and dates are written the workspace's way (en-GB, fr-FR, ro-RO).
 */

/** Slack's section text holds 3,000 characters; a message body stays well below. */
const BODY_MAX = 2_800;
const intlLocale: Record<string, string> = { en: 'en-GB', fr: 'fr-FR', ro: 'ro-RO' };
export const intlTag = (locale: string): string => intlLocale[locale] ?? 'en-GB';

export interface Formats {
  number(value: number): string;
  percent(value: number): string;
  /** "▲ 12 %" or "▼ 5 %"; "new" when there was nothing before. */
  change(now: number, before: number): string;
  duration(ms: number): string;
  date(at: Date): string;
  dateTime(at: Date): string;
}

export function formats(locale: string, timeZone: string, t: Translate): Formats {
  const tag = intlTag(locale);
  const number = new Intl.NumberFormat(tag, { maximumFractionDigits: 1 });
  const percent = new Intl.NumberFormat(tag, { style: 'percent', maximumFractionDigits: 1 });
  const whole = new Intl.NumberFormat(tag, { style: 'percent', maximumFractionDigits: 0 });
  const date = new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'short', year: 'numeric', timeZone });
  const dateTime = new Intl.DateTimeFormat(tag, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone });
  return {
    number: (value) => number.format(value),
    percent: (value) => percent.format(value),
    change(now, before) {
      const ratio = change(now, before);
      if (ratio === undefined) return t('digest.new');
      if (ratio === 0) return '= 0';
      return `${ratio > 0 ? '▲' : '▼'} ${whole.format(Math.abs(ratio))}`;
    },
    duration(ms) {
      const minutes = Math.round(ms / 60_000);
      if (minutes < 60) return `${minutes} min`;
      const hours = Math.floor(minutes / 60);
      if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')}`;
      return `${number.format(Math.round(hours / 24 * 10) / 10)} ${t('digest.days')}`;
    },
    date: (at) => date.format(at),
    dateTime: (at) => dateTime.format(at),
  };
}

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The accounts of one network added up (their growth when any has it). */
function byNetwork(accounts: readonly AccountFigures[]): { network: NetworkId; accounts: number; week: Week; previous: Week }[] {
  const out = new Map<NetworkId, { network: NetworkId; accounts: number; week: Week; previous: Week }>();
  const add = (into: Week, from: Week): void => {
    into.posts += from.posts;
    into.engagement += from.engagement;
    into.impressions += from.impressions;
    if (from.growth !== undefined) into.growth = (into.growth ?? 0) + from.growth;
  };
  for (const account of accounts) {
    const row = out.get(account.network) ?? { network: account.network, accounts: 0, week: { posts: 0, engagement: 0, impressions: 0 }, previous: { posts: 0, engagement: 0, impressions: 0 } };
    row.accounts += 1;
    add(row.week, account);
    add(row.previous, account.previous);
    out.set(account.network, row);
  }
  return [...out.values()];
}

function weekLine(week: Week, previous: Week, f: Formats, t: Translate): string {
  const parts = [
    t('digest.posts', { count: f.number(week.posts), change: f.change(week.posts, previous.posts) }),
    t('digest.engagement', { count: f.number(week.engagement), change: f.change(week.engagement, previous.engagement) }),
  ];
  if (week.rate !== undefined) parts.push(t('digest.rate', { rate: f.percent(week.rate) }));
  if (week.growth !== undefined) parts.push(t('digest.followers', { growth: `${week.growth >= 0 ? '+' : '−'}${f.number(Math.abs(week.growth))}`, change: f.change(week.growth, previous.growth ?? 0) }));
  return parts.join(' · ');
}

function postLines(posts: readonly PostLine[], f: Formats, t: Translate): string[] {
  return posts.map((post, index) => `${index + 1}. ${networks[post.network].label} “${clip(post.excerpt, 70)}” — ${t('digest.engagementShort', { count: f.number(post.engagement) })} ${post.url}`);
}

export function digestMessage(report: DigestReport, t: Translate, locale: string, options: { late?: boolean; title?: string } = {}): Message {
  const f = formats(locale, report.timeZone, t);
  const range = `${f.date(report.from)} – ${f.date(new Date(report.to.getTime() - 1))}`;
  const title = options.title ?? t('digest.title', { range });
  const w = report.workflow;
  const sections: string[] = [];

  const nets = byNetwork(report.accounts);
  sections.push(
    [
      t('digest.section.networks'),
      ...(nets.length === 0 ? [t('digest.noAccounts')] : nets.map((n) => `• ${networks[n.network].label}${n.accounts > 1 ? ` (${t('digest.accounts', { count: n.accounts })})` : ''}: ${weekLine(n.week, n.previous, f, t)}`)),
    ].join('\n'),
  );
  if (report.top.length > 0) sections.push([t('digest.section.top'), ...postLines(report.top, f, t)].join('\n'));
  if (report.bottom.length > 0) sections.push([t('digest.section.bottom'), ...postLines(report.bottom, f, t)].join('\n'));

  const team = [
    t('digest.approvals', { count: f.number(w.approvals), median: w.approvalMedianMs !== undefined ? f.duration(w.approvalMedianMs) : '—' }),
    t('digest.onTime', { rate: w.onTimeRate !== undefined ? f.percent(w.onTimeRate) : '—', onTime: f.number(w.onTime), due: f.number(w.due) }),
    t('digest.failed', { count: f.number(w.failed) }),
  ];
  sections.push([t('digest.section.team'), `• ${team.join(' · ')}`].join('\n'));

  const share = (n: number): string => (w.inbox.total > 0 ? f.percent(n / w.inbox.total) : '—');
  const inbox = [
    `• ${t('digest.inbox', { total: f.number(w.inbox.total), negative: share(w.inbox.negative), neutral: share(w.inbox.neutral), positive: share(w.inbox.positive) })}`,
    `• ${t('digest.response', { median: w.responseMedianMs !== undefined ? f.duration(w.responseMedianMs) : '—', p90: w.responseP90Ms !== undefined ? f.duration(w.responseP90Ms) : '—', answered: f.number(w.answered), conversations: f.number(w.conversations) })}`,
    `• ${t('digest.sla', { rate: w.slaRate !== undefined ? f.percent(w.slaRate) : '—', met: f.number(w.slaMet), due: f.number(w.slaDue) })} · ${t('digest.open', { count: f.number(w.open) })}`,
  ];
  sections.push([t('digest.section.inbox'), ...inbox].join('\n'));

  sections.push(
    [
      t('digest.section.incidents'),
      ...(w.incidents.length === 0
        ? [t('digest.noIncidents')]
        : w.incidents.slice(0, 5).map((incident) =>
            `• ${t('digest.incident', {
              id: incident.id,
              opened: f.dateTime(incident.openedAt),
              ack: incident.timeToAcknowledgeMs !== undefined ? f.duration(incident.timeToAcknowledgeMs) : '—',
              resolve: incident.timeToResolveMs !== undefined ? f.duration(incident.timeToResolveMs) : t('digest.stillOpen'),
            })}${incident.cause ? ` — ${clip(incident.cause, 120)}` : ''}`,
          )),
    ].join('\n'),
  );

  if (report.goals.length > 0) {
    sections.push(
      [
        t('digest.section.goals'),
        ...report.goals.map((g) => {
          const handle = g.goal.accountId ? report.accounts.find((a) => a.accountId === g.goal.accountId)?.handle : undefined;
          const actual = g.actual === undefined ? '—' : g.goal.metric === 'sla' ? `${f.number(g.actual)} %` : g.goal.metric === 'response' ? `${f.number(Math.round(g.actual))} min` : f.number(g.actual);
          const target = g.goal.metric === 'sla' ? `${f.number(g.goal.target)} %` : g.goal.metric === 'response' ? `≤ ${f.number(g.goal.target)} min` : f.number(g.goal.target);
          const mark = g.progress === undefined ? '·' : g.progress >= 1 ? '✅' : '⏳';
          return `${mark} ${t(`digest.goal.${g.goal.metric}`)}${handle ? ` (${handle})` : ''}: ${actual} / ${target}${g.progress !== undefined ? ` (${f.percent(Math.min(g.progress, 9.99))})` : ''}`;
        }),
      ].join('\n'),
    );
  }

  let body = sections.join('\n\n');
  if (body.length > BODY_MAX) body = `${body.slice(0, BODY_MAX - 1)}…`;
  const context = [...(options.late ? [t('digest.late')] : []), t('digest.footnote')].join(' · ');
  return {
    text: `${title}: ${t('digest.posts', { count: f.number(report.totals.posts), change: f.change(report.totals.posts, report.totals.previous.posts) })}, ${t('digest.engagement', { count: f.number(report.totals.engagement), change: f.change(report.totals.engagement, report.totals.previous.engagement) })}`,
    card: {
      title: options.late ? `${title} · ${t('digest.lateShort')}` : title,
      body,
      fields: [
        { label: t('digest.field.posts'), value: `${f.number(report.totals.posts)} (${f.change(report.totals.posts, report.totals.previous.posts)})`, short: true },
        { label: t('digest.field.engagement'), value: `${f.number(report.totals.engagement)} (${f.change(report.totals.engagement, report.totals.previous.engagement)})`, short: true },
        { label: t('digest.field.followers'), value: report.totals.growth !== undefined ? `${report.totals.growth >= 0 ? '+' : '−'}${f.number(Math.abs(report.totals.growth))}` : '—', short: true },
        { label: t('digest.field.inbox'), value: f.number(w.inbox.total), short: true },
      ],
      context,
    },
  };
}

/** Per account, for the digest's thread: the week's figures and every post with its engagement. */
export function accountDetails(report: DigestReport, t: Translate, locale: string): Message[] {
  const f = formats(locale, report.timeZone, t);
  const messages: Message[] = [];
  let current: string[] = [];
  const flush = (): void => {
    if (current.length > 0) messages.push({ text: current.join('\n') });
    current = [];
  };
  for (const account of report.accounts) {
    const block = [`*${networks[account.network].label} ${account.handle}*${account.followers !== undefined ? ` · ${t('digest.followerCount', { count: f.number(account.followers) })}` : ''}`, weekLine(account, account.previous, f, t)];
    if (current.join('\n').length + block.join('\n').length > BODY_MAX) flush();
    current.push(...block, '');
  }
  flush();
  return messages;
}
