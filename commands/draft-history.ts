import { z } from 'zod';
import { historyText } from '../flows/approval.ts';
import { defineCommand, everyone } from '../src/chat/registry.ts';

/** `/draft history <id>`: every transition of a draft, who, when, from, to, version, comment. */
export default defineCommand({
  name: 'draft history',
  description: 'Show the full history of a draft',
  options: z.object({ text: z.string().regex(/^d-[a-z0-9]+$/, 'a draft id such as d-7k2m9qx4').describe('The draft id, e.g. d-7k2m9qx4') }),
  permission: everyone,
  async run({ app, options, respond, t, channel }) {
    const draft = await app.stores.drafts.get(options.text);
    // A draft is visible only to its own workspace.
    if (!draft || draft.workspace !== `${channel.platform}:${channel.workspace}`) {
      await respond.ephemeral({ text: t('draft.missing') });
      return;
    }
    await respond.ephemeral({ text: await historyText(app, draft.id, t) });
  },
});
