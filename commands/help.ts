import { z } from 'zod';
import { defineCommand, everyone } from '../src/chat/registry.ts';

/** `/herald help`: the commands this person may run, and nothing they may not. */
export default defineCommand({
  name: 'herald help',
  description: 'List the Herald commands you can run',
  options: z.object({}),
  permission: everyone,
  async run({ respond, t, allowed }) {
    const commands = allowed();
    if (commands.length === 0) {
      await respond.ephemeral({ text: t('help.empty') });
      return;
    }
    const lines = commands.map((command) => `/${command.name} — ${command.description}`);
    await respond.ephemeral({
      text: `${t('help.title')}\n${lines.join('\n')}`,
      card: { title: t('help.title'), fields: commands.map((command) => ({ label: `/${command.name}`, value: command.description })) },
    });
  },
});
