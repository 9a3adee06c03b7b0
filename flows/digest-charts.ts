import type { FileUpload } from '../src/chat/port.ts';
import { renderChart } from '../src/charts/render.ts';
import { networks, type NetworkId } from '../src/core/networks.ts';
import type { Translate } from '../src/i18n/catalogue.ts';
import type { DigestReport } from './digest-report.ts';

/**
 * The digest's two charts: engagement per day per network, and inbound sentiment per day. Each
 * comes with alt text that says what the chart shows in numbers (totals and the busiest day), so
 * a screen reader or a notification gets the point without the picture.
 */

const networkColours: Partial<Record<NetworkId, string>> = { bluesky: '#1185fe', mastodon: '#6364ff', x: '#111111', linkedin: '#0a66c2', threads: '#555555', instagram: '#d62976', sandbox: '#0f766e' };
const sentimentColours = { negative: '#d64545', neutral: '#9aa5b1', positive: '#2e9e5b' } as const;

/** "Mon 24" in the workspace's language, for a local day YYYY-MM-DD. */
export function dayLabel(day: string, locale: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Intl.DateTimeFormat(locale, { weekday: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d, 12)));
}

function busiest<T extends { day: string }>(rows: readonly T[], value: (row: T) => number): { day: string; value: number } | undefined {
  let best: { day: string; value: number } | undefined;
  const byDay = new Map<string, number>();
  for (const row of rows) byDay.set(row.day, (byDay.get(row.day) ?? 0) + value(row));
  for (const [day, total] of byDay) if (!best || total > best.value) best = { day, value: total };
  return best && best.value > 0 ? best : undefined;
}

export async function digestCharts(report: DigestReport, t: Translate, locale: string): Promise<FileUpload[]> {
  const number = new Intl.NumberFormat(locale);
  const order = report.days.map((day) => dayLabel(day, locale));
  const images: FileUpload[] = [];

  const used = [...new Set(report.engagementByDay.map((row) => row.network))];
  if (used.length > 0) {
    const values = report.engagementByDay.map((row) => ({ day: dayLabel(row.day, locale), network: networks[row.network].label, engagement: row.engagement }));
    const png = await renderChart({
      title: t('digest.chart.engagement'),
      data: { values },
      mark: { type: 'bar', cornerRadiusTopLeft: 3, cornerRadiusTopRight: 3 },
      encoding: {
        x: { field: 'day', type: 'ordinal', sort: order, title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'network' },
        y: { field: 'engagement', type: 'quantitative', title: t('digest.chart.engagementAxis'), axis: { tickMinStep: 1 } },
        color: { field: 'network', type: 'nominal', title: null, scale: { domain: used.map((n) => networks[n].label), range: used.map((n) => networkColours[n] ?? '#777777') } },
      },
    });
    const totals = used.map((network) => `${networks[network].label} ${number.format(report.engagementByDay.filter((r) => r.network === network).reduce((a, r) => a + r.engagement, 0))}`).join(', ');
    const peak = busiest(report.engagementByDay, (r) => r.engagement);
    images.push({ data: png, mimeType: 'image/png', filename: 'engagement-per-day.png', title: t('digest.chart.engagement'), alt: t('digest.chart.engagementAlt', { totals, peak: peak ? `${dayLabel(peak.day, locale)} (${number.format(peak.value)})` : '—' }) });
  }

  const sentiments = ['negative', 'neutral', 'positive'] as const;
  const values = report.sentimentByDay.flatMap((row) => sentiments.map((sentiment) => ({ day: dayLabel(row.day, locale), sentiment: t(`digest.sentiment.${sentiment}`), order: sentiments.indexOf(sentiment), items: row[sentiment] })));
  const png = await renderChart({
    title: t('digest.chart.sentiment'),
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'day', type: 'ordinal', sort: order, title: null, axis: { labelAngle: 0 } },
      y: { field: 'items', type: 'quantitative', stack: 'zero', title: t('digest.chart.sentimentAxis'), axis: { tickMinStep: 1 } },
      color: { field: 'sentiment', type: 'nominal', title: null, sort: sentiments.map((s) => t(`digest.sentiment.${s}`)), scale: { domain: sentiments.map((s) => t(`digest.sentiment.${s}`)), range: sentiments.map((s) => sentimentColours[s]) } },
      order: { field: 'order', type: 'quantitative' },
    },
  });
  const inbox = report.workflow.inbox;
  const peak = busiest(report.sentimentByDay, (r) => r.negative + r.neutral + r.positive);
  images.push({
    data: png,
    mimeType: 'image/png',
    filename: 'inbound-sentiment-per-day.png',
    title: t('digest.chart.sentiment'),
    alt: t('digest.chart.sentimentAlt', { total: number.format(inbox.total), negative: number.format(inbox.negative), neutral: number.format(inbox.neutral), positive: number.format(inbox.positive), peak: peak ? `${dayLabel(peak.day, locale)} (${number.format(peak.value)})` : '—' }),
  });
  return images;
}
