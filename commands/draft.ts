import { z } from 'zod';
import { createDraft } from '../flows/approval.ts';
import { defineCommand, everyone } from '../src/chat/registry.ts';

/** `/draft <text>` on Slack, `/draft new text:…` on Discord: a draft from typed text. */
export default defineCommand({
  name: 'draft new',
  description: 'Turn text into a post draft for review',
  slackDefault: true,
  options: z.object({
    text: z.string().describe('The post text'),
    networks: z.string().optional().describe('Networks, comma separated (e.g. bluesky,x)'),
    when: z.string().optional().describe('Publish time, e.g. 2026-12-01 14:30 (UTC)'),
    labels: z.string().optional().describe('Labels, comma separated (e.g. legal)'),
  }),
  permission: everyone,
  async run({ app, chat, actor, channel, options, respond, t }) {
    const draft = await createDraft(app, chat, {
      author: actor,
      channel,
      text: options.text,
      ...(options.networks ? { networks: options.networks } : {}),
      ...(options.when ? { when: options.when } : {}),
      ...(options.labels ? { labels: options.labels.split(/[\s,]+/).filter(Boolean) } : {}),
    });
    await respond.ephemeral({ text: t('draft.created', { id: draft.id }) });
  },
});
