import { isObj, withBlockIds } from './blocks.ts';
import type { EmulatorCore, ResponseTarget } from './core.ts';
import type { Obj, SlackMessage } from './types.ts';
import { addBotMessage } from './methods-chat.ts';

/**
 * Applies a message sent to a response_url (or a slash command's immediate ack body):
 * delete_original, replace_original, response_type in_channel, otherwise an ephemeral to the user.
 * Returns an error code, or undefined when applied.
 */
export function applyResponse(core: EmulatorCore, target: ResponseTarget, body: Obj, source: 'response_url' | 'ack'): string | undefined {
  const text = typeof body.text === 'string' ? body.text : '';
  const blocks = Array.isArray(body.blocks) ? withBlockIds(body.blocks.filter(isObj)) : undefined;
  const attachments = Array.isArray(body.attachments) ? body.attachments.filter(isObj) : undefined;
  const truthy = (v: unknown): boolean => v === true || v === 'true';

  if (truthy(body.delete_original) || truthy(body.replace_original)) {
    if (!target.messageTs) return 'no_original_message';
    if (target.ephemeral) {
      const eph = core.store.state.ephemerals.find((e) => e.ts === target.messageTs && e.user === target.user);
      if (!eph) return 'message_not_found';
      if (truthy(body.delete_original)) eph.deleted = true;
      else Object.assign(eph, { text, blocks, attachments });
      core.store.emit({ kind: 'ephemeral.updated', channel: eph.channel, ts: eph.ts, user: eph.user });
      return undefined;
    }
    if (truthy(body.delete_original)) return core.store.deleteMessage(target.channel, target.messageTs) ? undefined : 'message_not_found';
    const patch: Partial<SlackMessage> = { text, blocks, attachments };
    return core.store.updateMessage(target.channel, target.messageTs, patch, core.config.botUserId) ? undefined : 'message_not_found';
  }
  if (!text && !blocks && !attachments) return 'no_text';
  const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : target.threadTs;
  if (body.response_type === 'in_channel') {
    addBotMessage(core, target.channel, threadTs, { text, ...(blocks ? { blocks } : {}), ...(attachments ? { attachments } : {}), source });
    return undefined;
  }
  core.store.addEphemeral({
    channel: target.channel,
    user: target.user,
    bot_id: core.config.botId,
    text,
    blocks,
    attachments,
    thread_ts: threadTs,
    source,
  });
  return undefined;
}
