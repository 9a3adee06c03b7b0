import type { webApi } from '@slack/bolt';
import type { Logger } from '../../log.ts';
import type { Form, Message } from '../model.ts';
import type { Responder } from '../port.ts';
import type { FormOrigin, ReplyContext } from './events.ts';
import { renderForm, renderMessage, type RenderedMessage } from './render.ts';

export interface ResponderDeps {
  web: webApi.WebClient;
  log: Logger;
  /** A direct message to the person: the last resort when no channel or response_url can carry the answer. */
  directMessage(user: string, message: RenderedMessage): Promise<void>;
}

/** chat.postEphemeral refusals that another route (response_url, DM) can still answer. */
const ROUTE_ERRORS = new Set(['channel_not_found', 'not_in_channel', 'user_not_in_channel', 'is_archived', 'restricted_action', 'method_not_supported_for_channel_type']);

/** The `error` code of a Web API platform error, if that is what it is. */
export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/**
 * Answers the person behind an interaction. Ephemerals go through chat.postEphemeral where there is a
 * channel Herald can post in, else through the interaction's response_url (DMs, channels Herald is
 * not in), else as a DM. Forms open at once: a trigger_id expires 3 s after the interaction.
 */
export function createSlackResponder(context: ReplyContext, deps: ResponderDeps): Responder {
  const { web, log } = deps;
  const ids = { user: context.user, channel: context.channel };

  const viaResponseUrl = async (url: string, rendered: RenderedMessage): Promise<void> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, ...rendered, ...(context.thread ? { thread_ts: context.thread } : {}) }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`Slack response_url answered HTTP ${res.status}`);
  };

  return {
    async ephemeral(message: Message) {
      const rendered = renderMessage(message);
      if (context.channel && !context.directMessage) {
        try {
          await web.chat.postEphemeral({
            channel: context.channel,
            user: context.user,
            ...rendered,
            ...(context.thread ? { thread_ts: context.thread } : {}),
          });
          return;
        } catch (error) {
          const code = slackErrorCode(error);
          if (!code || !ROUTE_ERRORS.has(code)) throw error;
          log.info({ ...ids, code }, 'chat.postEphemeral refused; answering through another route');
        }
      }
      if (context.responseUrl) {
        await viaResponseUrl(context.responseUrl, rendered);
        return;
      }
      await deps.directMessage(context.user, rendered);
    },

    async openForm(form: Form) {
      if (!context.triggerId) throw new Error('This Slack interaction carries no trigger_id: forms open from commands, clicks and shortcuts');
      const origin: FormOrigin = { ...(context.channel ? { c: context.channel } : {}), ...(context.thread ? { t: context.thread } : {}) };
      await web.views.open({ trigger_id: context.triggerId, view: renderForm(form, { privateMetadata: JSON.stringify(origin) }) });
    },
  };
}
