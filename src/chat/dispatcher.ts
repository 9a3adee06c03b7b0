import { randomBytes } from 'node:crypto';
import { UserError } from '../core/errors.ts';
import { translator } from '../i18n/catalogue.ts';
import type { FlowContext } from '../flow.ts';
import type { Logger } from '../log.ts';
import { decodeActionId, type ActionId } from './action-id.ts';
import { stripMentionMarks } from './model.ts';
import type {
  ActionClicked,
  AppMentioned,
  ChatAdapter,
  FormResult,
  FormSubmitted,
  InboundEvent,
  InboundHandler,
  MessagePosted,
  MessageShortcut,
  ReactionAdded,
  ShortcutDeclaration,
  ThreadReplied,
} from './port.ts';
import type { CommandRegistry } from './registry.ts';

export type ConversationEvent = MessagePosted | AppMentioned | ThreadReplied | ReactionAdded;

/** What a flow answers to: its buttons, its forms, and the conversation events it watches. */
export interface ChatRoutes {
  readonly registry: CommandRegistry;
  /** Keyed by flow name, the first part of every action id the flow encodes. */
  readonly actions?: Record<string, (event: ActionClicked, id: ActionId, chat: ChatAdapter) => Promise<void>>;
  readonly forms?: Record<string, (event: FormSubmitted, id: ActionId, chat: ChatAdapter) => Promise<FormResult | void>>;
  readonly shortcuts?: readonly { declaration: ShortcutDeclaration; run(event: MessageShortcut, chat: ChatAdapter): Promise<void> }[];
  readonly listeners?: readonly ((event: ConversationEvent, chat: ChatAdapter) => Promise<void>)[];
}

/**
 * Turns every inbound event from any adapter into a call of the right command, flow or listener,
 * and makes sure no error escapes: a UserError goes back to its author, anything else is logged
 * with a reference the person can quote.
 */
export function createDispatcher(routes: ChatRoutes, deps: { log: Logger; app: FlowContext }): (chat: ChatAdapter) => InboundHandler {
  const { log, app } = deps;
  // Adapters time each event from its arrival (herald_event_handling_seconds), ack included.
  return (chat) => async (event) => {
    try {
      return await route(cleanEvent(event), chat);
    } catch (error) {
      await answerError(event, error);
      return undefined;
    }
  };

  /** A click, submission or shortcut Herald no longer knows (old card, removed flow): say so, change nothing. */
  async function stale(event: ActionClicked | FormSubmitted | MessageShortcut, what: string, id: string): Promise<void> {
    log.info({ platform: event.platform, user: event.actor.ref.user, [what]: id }, `unknown or stale ${what}`);
    await event.respond.ephemeral({ text: translator(event.actor.locale)('chat.staleAction') });
  }

  async function route(event: InboundEvent, chat: ChatAdapter): Promise<FormResult | void> {
    switch (event.type) {
      case 'command':
        return routes.registry.handle(event, chat, app);
      case 'action': {
        const id = decodeActionId(event.actionId);
        const handler = id && routes.actions?.[id.flow];
        return id && handler ? handler(event, id, chat) : stale(event, 'action', event.actionId);
      }
      case 'form': {
        const id = decodeActionId(event.formId);
        const handler = id && routes.forms?.[id.flow];
        return id && handler ? handler(event, id, chat) : stale(event, 'form', event.formId);
      }
      case 'shortcut': {
        const shortcut = routes.shortcuts?.find((s) => s.declaration.id === event.shortcut);
        return shortcut ? shortcut.run(event, chat) : stale(event, 'shortcut', event.shortcut);
      }
      default:
        for (const listener of routes.listeners ?? []) await listener(event, chat);
        return;
    }
  }

  async function answerError(event: InboundEvent, error: unknown): Promise<void> {
    const respond = 'respond' in event ? event.respond : undefined;
    const t = translator(event.actor.locale);
    const context = { platform: event.platform, type: event.type, user: event.actor.ref.user };
    if (error instanceof UserError) {
      log.info({ ...context, code: error.code }, 'refused with a message to the person');
      await respond?.ephemeral({ text: error.message }).catch((e: unknown) => log.warn({ ...context, err: e }, 'could not answer the person'));
      return;
    }
    const reference = randomBytes(4).toString('hex');
    log.error({ ...context, err: error, reference }, 'event handling failed');
    await respond?.ephemeral({ text: t('chat.internalError', { reference }) }).catch((e: unknown) => log.warn({ ...context, err: e }, 'could not answer the person'));
  }
}

const cleanValues = <T extends Record<string, string | undefined>>(values: T): T =>
  Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value === undefined ? value : stripMentionMarks(value)])) as T;

/** Everything people typed, and their names, without mention marks: only Herald's own `mention()` makes one. */
export function cleanEvent(event: InboundEvent): InboundEvent {
  const actor = { ...event.actor, name: stripMentionMarks(event.actor.name) };
  switch (event.type) {
    case 'command':
      return { ...event, actor, options: cleanValues(event.options) };
    case 'form':
      return { ...event, actor, values: cleanValues(event.values) };
    case 'message':
    case 'mention':
    case 'thread-reply':
    case 'shortcut':
      return { ...event, actor, text: stripMentionMarks(event.text) };
    case 'action':
      return { ...event, actor, ...(event.value === undefined ? {} : { value: stripMentionMarks(event.value) }) };
    case 'reaction':
      return { ...event, actor };
  }
}
