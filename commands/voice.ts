import { z } from 'zod';
import { adminsOnly, defineCommand } from '../src/chat/registry.ts';

/** `/herald voice <description> avoid:"a, b"`: the brand voice the Assistant writes in. */
export default defineCommand({
  name: 'herald voice',
  description: 'Show or set the brand voice used for drafts',
  options: z.object({
    text: z.string().max(600).optional().describe('How the brand sounds, e.g. warm, brief, no jargon'),
    avoid: z.string().max(300).optional().describe('Words the brand never uses, comma separated'),
  }),
  permission: adminsOnly,
  async run({ app, channel, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    if (!options.text) {
      const current = (await app.stores.settings.get(workspace)).voice;
      await respond.ephemeral({ text: current ? t('voice.current', { voice: current.description, avoid: current.avoid?.join(', ') || '—' }) : t('voice.none') });
      return;
    }
    const avoid = options.avoid?.split(',').map((w) => w.trim()).filter(Boolean) ?? [];
    await app.stores.settings.update(workspace, { voice: { description: options.text, ...(avoid.length ? { avoid } : {}) } });
    await respond.ephemeral({ text: t('voice.saved', { voice: options.text }) });
  },
});
