import { z } from 'zod';
import { accountsMessage } from '../flows/accounts.ts';
import { adminsOnly, defineCommand } from '../src/chat/registry.ts';

/** `/herald accounts`: connected accounts with their health; connecting happens in a private form. */
export default defineCommand({
  name: 'herald accounts',
  description: 'List, connect and remove social network accounts',
  options: z.object({}),
  permission: adminsOnly,
  async run({ app, channel, respond, t }) {
    await respond.ephemeral(accountsMessage(await app.stores.accounts.list(`${channel.platform}:${channel.workspace}`), t));
  },
});
