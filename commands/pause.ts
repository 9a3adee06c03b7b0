import { z } from 'zod';
import { pausePublishing } from '../flows/pause.ts';
import { defineCommand, everyone } from '../src/chat/registry.ts';

/** `/herald pause <reason>`: the kill switch; every scheduled post is held until /herald resume. */
export default defineCommand({
  name: 'herald pause',
  description: 'Hold every scheduled post (the crisis kill switch)',
  options: z.object({ text: z.string().min(3).max(300).describe('Why publishing is paused') }),
  permission: everyone,
  async run({ app, chat, actor, channel, membership, options, respond, t }) {
    await pausePublishing(app, chat, { actor, channel, membership, reason: options.text });
    await respond.ephemeral({ text: t('pause.done') });
  },
});
