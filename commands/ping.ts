import { z } from 'zod';
import { defineCommand, everyone } from '../src/chat/registry.ts';

/** `/herald ping`: proves Herald hears and answers on this platform. */
export default defineCommand({
  name: 'herald ping',
  description: 'Check that Herald is running and can answer you here',
  options: z.object({}),
  permission: everyone,
  async run({ respond, t, channel }) {
    await respond.ephemeral({ text: t('ping.pong', { platform: channel.platform === 'slack' ? 'Slack' : 'Discord' }) });
  },
});
