import { z } from 'zod';
import { adminsOnly, defineCommand } from '../src/chat/registry.ts';
import { networkIds } from '../src/core/networks.ts';
import { describeSlots, parseSlots } from '../src/core/slots.ts';
import { UserError } from '../src/core/errors.ts';

/** `/herald slots network:bluesky times:"mon-fri 09:30, 13:00"`: when queued posts go out. */
export default defineCommand({
  name: 'herald slots',
  description: 'Show or set posting slots for "Add to queue"',
  options: z.object({
    network: z.enum(networkIds).optional().describe('The network whose account the slots are for'),
    times: z.string().max(300).optional().describe('e.g. mon-fri 09:30, 13:00; sat 11:00 (workspace time zone)'),
  }),
  permission: adminsOnly,
  async run({ app, channel, options, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const settings = await app.stores.settings.get(workspace);
    if (!options.network || !options.times) {
      const lines = settings.slots.map((s) => t('slots.saved', { network: s.network, slots: describeSlots(s.slots) }));
      await respond.ephemeral({ text: lines.length ? lines.join('\n') : t('slots.none') });
      return;
    }
    const parsed = parseSlots(options.times);
    if (!parsed.ok) throw new UserError('bad_slots', t('slots.bad', { bad: parsed.bad }));
    await app.stores.settings.update(workspace, { slots: [...settings.slots.filter((s) => s.network !== options.network), { network: options.network, slots: parsed.slots }] });
    await respond.ephemeral({ text: t('slots.saved', { network: options.network, slots: describeSlots(parsed.slots) }) });
  },
});
