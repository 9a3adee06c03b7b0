import { z } from 'zod';
import { mention } from '../src/chat/model.ts';
import { defineCommand, everyone } from '../src/chat/registry.ts';
import { networks } from '../src/core/networks.ts';
import { showConversation } from '../flows/inbox.ts';

const age = (from: Date, now: Date): string => {
  const minutes = Math.max(0, Math.round((now.getTime() - from.getTime()) / 60_000));
  return minutes < 90 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.round(minutes / 60)} h` : `${Math.round(minutes / 1_440)} d`;
};

/** `/herald inbox [owner:mine|nobody|all] [open:c-…]`: open conversations, oldest first, with their owners. */
export default defineCommand({
  name: 'herald inbox',
  description: 'List open inbox conversations by age and owner',
  options: z.object({
    owner: z.enum(['all', 'mine', 'nobody']).optional().describe('Whose conversations: all (default), mine, nobody'),
    open: z.string().regex(/^c-[a-f0-9]+$/, 'a conversation id such as c-1a2b3c4d5e6f').optional().describe('Show a conversation’s card (posts it if a burst summarised it)'),
  }),
  permission: everyone,
  async run({ app, channel, options, respond, t, actor, chat }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    if (options.open) {
      const link = await showConversation(app, chat, options.open, workspace, t);
      await respond.ephemeral({ text: t('inbox.list.opened', { link }) });
      return;
    }
    const now = app.clock.now();
    const open = (await app.stores.inbox.open(workspace, 1_000)).filter((c) => c.itemCount > 0);
    const chosen = open.filter((c) => (options.owner === 'mine' ? c.ownerId === actor.ref.user : options.owner === 'nobody' ? !c.ownerId : true));
    if (chosen.length === 0) {
      await respond.ephemeral({ text: t('inbox.list.empty') });
      return;
    }
    const lines: string[] = [];
    for (const conversation of chosen.slice(0, 30)) {
      const item = await app.stores.inbox.item(conversation.rootItemId);
      if (!item) continue;
      lines.push(
        t('inbox.list.line', {
          age: age(conversation.createdAt, now),
          owner: conversation.ownerId ? mention(conversation.ownerId) : t('inbox.status.unowned'),
          network: networks[conversation.network].label,
          author: `@${item.author.handle}`,
          text: item.text.length > 100 ? `${item.text.slice(0, 99)}…` : item.text,
          url: item.url,
          id: conversation.id,
        }) + (conversation.slaDueAt && !conversation.firstResponseAt && conversation.slaDueAt < now ? ` ${t('inbox.list.breached')}` : ''),
      );
    }
    const more = chosen.length > 30 ? `\n${t('inbox.list.more', { count: chosen.length - 30 })}` : '';
    await respond.ephemeral({ text: `${t('inbox.list.header', { count: chosen.length })}\n${lines.join('\n')}${more}` });
  },
});
