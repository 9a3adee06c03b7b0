import { dayIn } from '../src/core/digest.ts';
import type { FlowContext } from '../src/flow.ts';
import type { FileUpload } from '../src/chat/port.ts';

/**
 * `/herald export`: the range's posts with their metrics and its inbox items with response times,
 * as CSV files a spreadsheet opens. Inbox rows carry what an item was and how fast the team
 * answered, never who wrote it or what it said (personal data stays in Herald, under retention).
 */

/** One CSV field: quoted when it must be, and a leading =, +, - or @ neutralised (spreadsheet formulas). */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

const iso = (at: Date | undefined): string | undefined => at?.toISOString();
const minutes = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms / 600) / 100);

export async function exportFiles(app: FlowContext, workspace: string, from: Date, to: Date, zone: string): Promise<{ files: FileUpload[]; posts: number; items: number }> {
  const accounts = new Map((await app.stores.accounts.list(workspace)).map((a) => [a.id, a.handle]));
  const [published, due, items, conversations] = await Promise.all([
    app.stores.metrics.published(workspace, from, to),
    app.stores.metrics.due(workspace, from, to),
    app.stores.inbox.exportItems(workspace, from, to),
    app.stores.inbox.conversationsBetween(workspace, new Date(from.getTime() - 30 * 86_400_000), to),
  ]);
  const failed = due.filter((p) => p.status === 'failed');
  const postRows = [
    ...published.map((p) => [iso(p.publishedAt), iso(p.dueAt), p.network, accounts.get(p.accountId) ?? p.accountId, 'published', p.url, p.excerpt, p.metrics?.likes, p.metrics?.reposts, p.metrics?.replies, p.metrics?.quotes, p.metrics?.impressions, p.engagement, p.stage, '']),
    ...failed.map((p) => ['', iso(p.dueAt), p.network, accounts.get(p.accountId) ?? p.accountId, 'failed', '', '', undefined, undefined, undefined, undefined, undefined, undefined, '', p.reason]),
  ];
  const byId = new Map(conversations.map((c) => [c.id, c]));
  const itemRows = items.map((item) => {
    const conversation = byId.get(item.conversationId);
    const response = conversation?.firstResponseAt ? conversation.firstResponseAt.getTime() - conversation.createdAt.getTime() : undefined;
    const sla = conversation?.slaDueAt ? (conversation.firstResponseAt ? (conversation.firstResponseAt <= conversation.slaDueAt ? 'met' : 'missed') : conversation.slaDueAt <= app.clock.now() ? 'missed' : 'pending') : '';
    return [iso(item.receivedAt), item.network, accounts.get(item.accountId) ?? item.accountId, item.kind, item.labels.sentiment, item.conversationId, item.starts ? 'yes' : 'no', item.starts ? minutes(response) : undefined, item.starts ? sla : '', conversation?.status];
  });
  // Named by the local days it covers, as people asked for them.
  const stamp = `${dayIn(from, zone)}_${dayIn(new Date(to.getTime() - 1), zone)}`;
  return {
    posts: postRows.length,
    items: itemRows.length,
    files: [
      {
        data: Buffer.from(toCsv(['published_at', 'due_at', 'network', 'account', 'status', 'url', 'text', 'likes', 'reposts', 'replies', 'quotes', 'impressions', 'engagement', 'metrics_stage', 'failure'], postRows)),
        filename: `herald-posts_${stamp}.csv`,
        mimeType: 'text/csv',
        title: `Posts ${stamp}`,
      },
      {
        data: Buffer.from(toCsv(['received_at', 'network', 'account', 'kind', 'sentiment', 'conversation', 'starts_conversation', 'first_response_minutes', 'sla', 'conversation_status'], itemRows)),
        filename: `herald-inbox_${stamp}.csv`,
        mimeType: 'text/csv',
        title: `Inbox ${stamp}`,
      },
    ],
  };
}
