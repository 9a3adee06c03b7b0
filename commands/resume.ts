import { z } from 'zod';
import { resumePublishing } from '../flows/pause.ts';
import { defineCommand, everyone } from '../src/chat/registry.ts';

/** `/herald resume`: ends the pause and asks what to do with each held post; nothing is blasted out. */
export default defineCommand({
  name: 'herald resume',
  description: 'End the pause and decide what happens to held posts',
  options: z.object({}),
  permission: everyone,
  async run({ app, chat, actor, channel, membership, respond }) {
    await respond.ephemeral(await resumePublishing(app, chat, { actor, channel, membership }));
  },
});
