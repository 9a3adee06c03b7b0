/**
 * One interaction's answers: the Responder a handler gets, plus the adapter's own acknowledgements.
 *
 * Discord wants a first answer within 3 s, and a modal can only be that first answer. So the handler
 * runs at once; a timer defers (ephemeral "thinking" for commands, a silent deferred update for
 * clicks) if the handler has not answered in time; and when the handler ends without answering, the
 * adapter acknowledges for it. Every call goes through one queue so the timer and the handler never
 * both answer first (Discord would refuse the second with 40060).
 */
import { randomBytes } from 'node:crypto';
import { InteractionResponseType, MessageFlags, Routes } from 'discord.js';
import type { REST } from 'discord.js';
import { translator } from '../../i18n/catalogue.ts';
import type { Logger } from '../../log.ts';
import type { Form, Message } from '../model.ts';
import type { FormResult, Responder } from '../port.ts';
import type { ParsedInteraction } from './events.ts';
import { renderForm, renderMessage } from './render.ts';

/** command: slash and context-menu commands; component: buttons and selects; modal: form submissions. */
export type InteractionFlavour = 'command' | 'component' | 'modal' | 'other';

export type AckState = 'none' | 'deferred-reply' | 'deferred-update' | 'replied' | 'modal';

export interface InteractionSession {
  readonly respond: Responder;
  /** How the interaction has been answered so far. */
  state(): AckState;
  /** Called by the timer: acknowledges if nothing has been sent yet. */
  deferIfSilent(): Promise<void>;
  /** After the handler: lists form errors, acknowledges a silent handler, clears a dangling "thinking". */
  finish(result: FormResult | void, labels?: Readonly<Record<string, string>>): Promise<void>;
  /** For interactions Herald does not handle: an ephemeral note if still answerable. */
  notRecognised(): Promise<void>;
}

export function createInteractionSession(options: {
  rest: REST;
  interaction: ParsedInteraction;
  flavour: InteractionFlavour;
  log: Logger;
}): InteractionSession {
  const { rest, interaction, flavour, log } = options;
  const { id, token, applicationId } = interaction;
  const t = translator(interaction.actor.locale);
  let state: AckState = 'none';
  /** A deferred reply whose "thinking…" message has not been replaced by an answer yet. */
  let loading = false;
  let queue: Promise<unknown> = Promise.resolve();

  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const run = queue.then(op);
    queue = run.catch(() => undefined);
    return run;
  };
  const callback = async (body: object): Promise<void> => {
    await rest.post(Routes.interactionCallback(id, token), { body, auth: false });
  };
  const followUp = async (body: object): Promise<void> => {
    await rest.post(Routes.webhook(applicationId, token), { body, auth: false });
  };
  const original = Routes.webhookMessage(applicationId, token, '@original');

  const deferNow = async (): Promise<void> => {
    // A click or a form opened from a card: acknowledge without a visible message.
    if (flavour === 'component' || (flavour === 'modal' && interaction.message)) {
      await callback({ type: InteractionResponseType.DeferredMessageUpdate });
      state = 'deferred-update';
      return;
    }
    await callback({ type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: MessageFlags.Ephemeral } });
    state = 'deferred-reply';
    loading = true;
  };

  const ephemeralNow = async (message: Message): Promise<void> => {
    const body = renderMessage(message);
    if (state === 'none') {
      await callback({ type: InteractionResponseType.ChannelMessageWithSource, data: { ...body, flags: MessageFlags.Ephemeral } });
      state = 'replied';
    } else if (state === 'deferred-reply' && loading) {
      await rest.patch(original, { body, auth: false });
      loading = false;
      state = 'replied';
    } else {
      await followUp({ ...body, flags: MessageFlags.Ephemeral });
    }
  };

  const respond: Responder = {
    ephemeral: (message) => serial(() => ephemeralNow(message)),
    openForm: (form: Form) =>
      serial(async () => {
        if (state === 'none' && flavour !== 'modal') {
          await callback({ type: InteractionResponseType.Modal, data: renderForm(form) });
          state = 'modal';
          return;
        }
        // Discord only shows a modal as the first answer, and never over a submitted modal: the flow
        // took longer than the defer timer, or chained forms. A bug on Herald's side, said as such.
        const reference = randomBytes(4).toString('hex');
        log.error({ formId: form.id, state, flavour, reference }, 'form could not open: the interaction was already answered');
        await ephemeralNow({ text: t('chat.internalError', { reference }) });
      }),
  };

  return {
    respond,
    state: () => state,
    deferIfSilent: () =>
      serial(async () => {
        if (state !== 'none') return;
        log.debug({ flavour }, 'handler still running: deferring the interaction');
        await deferNow();
      }).catch((error: unknown) => log.warn({ err: describeError(error), flavour }, 'could not defer the interaction')),
    finish: (result, labels = {}) =>
      serial(async () => {
        const errors = result?.errors ? Object.entries(result.errors) : [];
        if (errors.length > 0) {
          // Discord closes a modal on submit, so the person gets the problems as a message.
          const problems = errors.map(([field, error]) => `${labels[field] ?? field}: ${error}`).join('; ');
          await ephemeralNow({ text: t('chat.formProblems', { problems }) });
        }
        if (state === 'none') await deferNow();
        if (state === 'deferred-reply' && loading) {
          // Nothing to say (the handler posted in the channel, say): remove the "thinking…" message.
          await rest.delete(original, { auth: false });
          loading = false;
        }
      }).catch((error: unknown) => log.warn({ err: describeError(error), flavour }, 'could not complete the interaction')),
    notRecognised: () =>
      serial(async () => {
        if (state !== 'none') return;
        if (interaction.type === 4) {
          await callback({ type: InteractionResponseType.ApplicationCommandAutocompleteResult, data: { choices: [] } });
          state = 'replied';
          return;
        }
        await ephemeralNow({ text: translator(interaction.actor.locale)('chat.notRecognised') });
      }).catch((error: unknown) => log.warn({ err: describeError(error) }, 'could not answer an unrecognised interaction')),
  };
}

/**
 * Error facts safe to log: never the request body (message text of private people) nor the URL of
 * an interaction webhook (it carries the interaction token).
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const e = error as Error & { code?: unknown; status?: unknown; method?: unknown; url?: unknown };
  const route = typeof e.url === 'string' ? e.url.replace(/\/(interactions|webhooks)\/(\d+)\/[^/?]+/, '/$1/$2/[token]').replace(/^https?:\/\/[^/]+/, '') : undefined;
  return {
    type: e.name,
    message: redactTokens(e.message),
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(typeof e.status === 'number' ? { status: e.status } : {}),
    ...(typeof e.method === 'string' ? { method: e.method } : {}),
    ...(route ? { route } : {}),
  };
}

const redactTokens = (text: string): string => text.replace(/\/(interactions|webhooks)\/(\d+)\/[^/\s?]+/g, '/$1/$2/[token]');
