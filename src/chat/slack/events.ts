import type { z } from 'zod';
import type { FormValues } from '../model.ts';
import type { Actor, ConversationRef, FileRef, InboundEvent, Responder } from '../port.ts';
import { blockActions, eventCallback, mentionEvent, messageAction, messageEvent, reactionEvent, slashCommand, viewSubmission, type ElementState, type SlackFiles } from './payloads.ts';
import { LINK_ACTION_PREFIX, unescapeText } from './render.ts';

/**
 * Bolt payloads → neutral events. Pure: the adapter passes in who Herald is and how to build a
 * Responder, and gets back an event, a reason to ignore the payload, or a description of what is
 * malformed (logged, never thrown).
 */

export interface SlackIdentity {
  teamId: string;
  botUserId: string;
  botId: string;
}

/** Everything a Responder needs to answer the person behind an interaction. */
export interface ReplyContext {
  workspace: string;
  user: string;
  channel?: string;
  thread?: string;
  responseUrl?: string;
  triggerId?: string;
  directMessage: boolean;
}

/** Ids for structured logs; never message text. */
export interface PayloadFacts {
  kind: string;
  eventId?: string;
  team?: string;
  channel?: string;
  user?: string;
}

export type Translation =
  | {
      kind: 'event';
      event: InboundEvent;
      facts: PayloadFacts;
      /** The actor's name is only the user id (events carry no names); the adapter looks it up. */
      needsName: boolean;
      /** view_submission: the input block ids, where errors may be shown. */
      formBlocks?: string[];
    }
  | { kind: 'ignore'; reason: string; facts: PayloadFacts }
  | { kind: 'malformed'; problem: string; facts: PayloadFacts };

/** Message subtypes that are a person writing; edits, deletions, joins and the like are not. */
const PERSON_SUBTYPES = new Set([undefined, 'file_share', 'thread_broadcast']);

const escapeRegExp = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function problemOf(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

export function translate(body: unknown, identity: SlackIdentity, respond: (context: ReplyContext) => Responder): Translation {
  if (!isObject(body)) return { kind: 'malformed', problem: 'payload is not an object', facts: { kind: 'unknown' } };
  if ('event' in body) return translateEvent(body, identity);
  if ('command' in body) return translateCommand(body, respond);
  const type = typeof body.type === 'string' ? body.type : String(body.type);
  switch (type) {
    case 'block_actions':
      return translateAction(body, identity, respond);
    case 'view_submission':
      return translateSubmission(body, identity, respond);
    case 'message_action':
      return translateShortcut(body, identity, respond);
    case 'view_closed':
    case 'shortcut':
    case 'block_suggestion':
      return { kind: 'ignore', reason: `Herald does not use ${type}`, facts: { kind: type } };
    default:
      return { kind: 'malformed', problem: `unknown payload type "${type.slice(0, 40)}"`, facts: { kind: 'unknown' } };
  }
}

const slackRef = (workspace: string, channel: string, message?: string, thread?: string): ConversationRef => ({
  platform: 'slack',
  workspace,
  channel,
  ...(message ? { message } : {}),
  ...(thread && thread !== message ? { thread } : {}),
});

const actorOf = (workspace: string, id: string, name?: string): Actor => ({ ref: { platform: 'slack', workspace, user: id }, name: name || id });

const isDirect = (channel: string | undefined, name?: string): boolean => name === 'directmessage' || (channel?.startsWith('D') ?? false);

/**
 * With should_escape (manifest.ts), Slack sends "@alice" as <@U123|alice>; Herald's commands read
 * <@U123>, the form both platforms share. Entities are unescaped: the registry parses plain text.
 */
export function commandText(text: string): string {
  return unescapeText(text.replace(/<@([UW][A-Z0-9_]+)\|[^>]*>/g, '<@$1>'));
}

function translateCommand(body: Record<string, unknown>, respond: (context: ReplyContext) => Responder): Translation {
  const parsed = slashCommand.safeParse(body);
  if (!parsed.success) return { kind: 'malformed', problem: problemOf(parsed.error), facts: { kind: 'command' } };
  const c = parsed.data;
  const facts = { kind: 'command', team: c.team_id, channel: c.channel_id, user: c.user_id };
  const event: InboundEvent = {
    platform: 'slack',
    type: 'command',
    actor: actorOf(c.team_id, c.user_id, c.user_name),
    command: c.command.replace(/^\//, ''),
    // The registry splits the sub-command and parses key:value tokens (RAW_TEXT_OPTION).
    options: { _text: commandText(c.text ?? '') },
    channel: slackRef(c.team_id, c.channel_id),
    respond: respond({
      workspace: c.team_id,
      user: c.user_id,
      channel: c.channel_id,
      directMessage: isDirect(c.channel_id, c.channel_name),
      ...(c.response_url ? { responseUrl: c.response_url } : {}),
      ...(c.trigger_id ? { triggerId: c.trigger_id } : {}),
    }),
  };
  return { kind: 'event', event, facts, needsName: !c.user_name };
}

function translateAction(body: Record<string, unknown>, identity: SlackIdentity, respond: (context: ReplyContext) => Responder): Translation {
  const parsed = blockActions.safeParse(body);
  if (!parsed.success) return { kind: 'malformed', problem: problemOf(parsed.error), facts: { kind: 'action' } };
  const p = parsed.data;
  const workspace = p.team?.id ?? p.user.team_id ?? identity.teamId;
  const channel = p.channel?.id ?? p.container?.channel_id;
  const messageTs = p.container?.message_ts ?? p.message?.ts;
  const facts = { kind: 'action', team: workspace, user: p.user.id, ...(channel ? { channel } : {}) };
  const clicked = p.actions[0]!;
  if (clicked.action_id.startsWith(LINK_ACTION_PREFIX)) return { kind: 'ignore', reason: 'link button click', facts };
  if (!channel || !messageTs) return { kind: 'ignore', reason: 'action outside a message', facts };
  const thread = p.message?.thread_ts ?? p.container?.thread_ts;
  const value = clicked.selected_option?.value ?? clicked.selected_user ?? undefined;
  const event: InboundEvent = {
    platform: 'slack',
    type: 'action',
    actor: actorOf(workspace, p.user.id, p.user.username ?? p.user.name),
    actionId: clicked.action_id,
    ...(value !== undefined ? { value } : {}),
    channel: slackRef(workspace, channel),
    message: slackRef(workspace, channel, messageTs, thread),
    respond: respond({
      workspace,
      user: p.user.id,
      channel,
      directMessage: isDirect(channel),
      ...(thread && thread !== messageTs ? { thread } : {}),
      ...(p.response_url ? { responseUrl: p.response_url } : {}),
      ...(p.trigger_id ? { triggerId: p.trigger_id } : {}),
    }),
  };
  return { kind: 'event', event, facts, needsName: !(p.user.username ?? p.user.name) };
}

/** Where a form was opened, carried in the view's private_metadata so its submission can answer there. */
export interface FormOrigin {
  c?: string;
  t?: string;
}

function originOf(metadata: string | undefined): FormOrigin {
  if (!metadata) return {};
  try {
    const value: unknown = JSON.parse(metadata);
    if (!isObject(value)) return {};
    return { ...(typeof value.c === 'string' ? { c: value.c } : {}), ...(typeof value.t === 'string' ? { t: value.t } : {}) };
  } catch {
    return {};
  }
}

function stateValue(state: ElementState): string | undefined {
  if (typeof state.selected_date_time === 'number') return new Date(state.selected_date_time * 1_000).toISOString();
  if (state.selected_option) return state.selected_option.value;
  if (state.selected_options) return state.selected_options.map((o) => o.value).join(',');
  if (state.selected_users) return state.selected_users.join(',');
  return state.selected_user ?? state.selected_date ?? state.selected_time ?? state.selected_conversation ?? state.selected_channel ?? state.value ?? undefined;
}

function translateSubmission(body: Record<string, unknown>, identity: SlackIdentity, respond: (context: ReplyContext) => Responder): Translation {
  const parsed = viewSubmission.safeParse(body);
  if (!parsed.success) return { kind: 'malformed', problem: problemOf(parsed.error), facts: { kind: 'form' } };
  const p = parsed.data;
  const workspace = p.team?.id ?? p.user.team_id ?? identity.teamId;
  // Block ids are the form's field ids (render.ts), so values come back keyed the way the flow asked.
  const values: FormValues = {};
  for (const [blockId, actions] of Object.entries(p.view.state.values)) {
    const first = Object.values(actions)[0];
    values[blockId] = first ? stateValue(first) : undefined;
  }
  const inputs = p.view.blocks?.filter((b) => b.type === 'input' && b.block_id).map((b) => b.block_id as string);
  const origin = originOf(p.view.private_metadata);
  const event: InboundEvent = {
    platform: 'slack',
    type: 'form',
    actor: actorOf(workspace, p.user.id, p.user.username ?? p.user.name),
    formId: p.view.callback_id,
    values,
    respond: respond({
      workspace,
      user: p.user.id,
      directMessage: isDirect(origin.c),
      ...(origin.c ? { channel: origin.c } : {}),
      ...(origin.t ? { thread: origin.t } : {}),
      ...(p.trigger_id ? { triggerId: p.trigger_id } : {}),
    }),
  };
  return {
    kind: 'event',
    event,
    facts: { kind: 'form', team: workspace, user: p.user.id },
    needsName: !(p.user.username ?? p.user.name),
    formBlocks: inputs?.length ? inputs : Object.keys(p.view.state.values),
  };
}

export function fileRefs(list: SlackFiles): FileRef[] {
  return (list ?? []).map((f) => ({
    name: f.name ?? f.title ?? f.id ?? 'file',
    url: f.url_private ?? '',
    ...(f.mimetype ? { mimeType: f.mimetype } : {}),
    ...(f.alt_txt ? { alt: f.alt_txt } : {}),
  }));
}

function translateShortcut(body: Record<string, unknown>, identity: SlackIdentity, respond: (context: ReplyContext) => Responder): Translation {
  const parsed = messageAction.safeParse(body);
  if (!parsed.success) return { kind: 'malformed', problem: problemOf(parsed.error), facts: { kind: 'shortcut' } };
  const p = parsed.data;
  const workspace = p.team?.id ?? p.user.team_id ?? identity.teamId;
  const channel = p.channel.id;
  const thread = p.message.thread_ts;
  const event: InboundEvent = {
    platform: 'slack',
    type: 'shortcut',
    actor: actorOf(workspace, p.user.id, p.user.username ?? p.user.name),
    shortcut: p.callback_id,
    message: slackRef(workspace, channel, p.message.ts, thread),
    text: unescapeText(p.message.text ?? ''),
    files: fileRefs(p.message.files),
    respond: respond({
      workspace,
      user: p.user.id,
      channel,
      directMessage: isDirect(channel),
      ...(thread && thread !== p.message.ts ? { thread } : {}),
      ...(p.response_url ? { responseUrl: p.response_url } : {}),
      ...(p.trigger_id ? { triggerId: p.trigger_id } : {}),
    }),
  };
  return { kind: 'event', event, facts: { kind: 'shortcut', team: workspace, channel, user: p.user.id }, needsName: !(p.user.username ?? p.user.name) };
}

function translateEvent(body: Record<string, unknown>, identity: SlackIdentity): Translation {
  const envelope = eventCallback.safeParse(body);
  if (!envelope.success) return { kind: 'malformed', problem: problemOf(envelope.error), facts: { kind: 'event' } };
  const { event_id: eventId, team_id: teamId, event: raw } = envelope.data;
  const workspace = teamId ?? identity.teamId;
  const base = { ...(eventId ? { eventId } : {}), team: workspace };
  switch (raw.type) {
    case 'message':
      return translateMessage(body.event, workspace, base, identity);
    case 'app_mention':
      return translateMention(body.event, workspace, base, identity);
    case 'reaction_added': {
      const parsed = reactionEvent.safeParse(body.event);
      if (!parsed.success) return { kind: 'malformed', problem: problemOf(parsed.error), facts: { ...base, kind: 'reaction' } };
      const r = parsed.data;
      const facts = { ...base, kind: 'reaction', user: r.user, ...(r.item.channel ? { channel: r.item.channel } : {}) };
      if (r.user === identity.botUserId) return { kind: 'ignore', reason: 'Herald’s own reaction', facts };
      if (r.item.type !== 'message' || !r.item.channel || !r.item.ts) return { kind: 'ignore', reason: `reaction on a ${r.item.type}`, facts };
      const event: InboundEvent = { platform: 'slack', type: 'reaction', actor: actorOf(workspace, r.user), message: slackRef(workspace, r.item.channel, r.item.ts), emoji: r.reaction };
      return { kind: 'event', event, facts, needsName: true };
    }
    default:
      return { kind: 'ignore', reason: `event ${raw.type.slice(0, 40)} is not used`, facts: { ...base, kind: 'event' } };
  }
}

type Base = { eventId?: string; team: string };

function translateMessage(raw: unknown, workspace: string, base: Base, identity: SlackIdentity): Translation {
  const parsed = messageEvent.safeParse(raw);
  if (!parsed.success) return { kind: 'malformed', problem: problemOf(parsed.error), facts: { ...base, kind: 'message' } };
  const m = parsed.data;
  const facts = { ...base, kind: 'message', channel: m.channel, ...(m.user ? { user: m.user } : {}) };
  if (m.bot_id || m.subtype === 'bot_message') return { kind: 'ignore', reason: m.bot_id === identity.botId ? 'Herald’s own message' : 'bot message', facts };
  if (!PERSON_SUBTYPES.has(m.subtype)) return { kind: 'ignore', reason: `message subtype ${m.subtype}`, facts };
  if (!m.user) return { kind: 'ignore', reason: 'message without a user', facts };
  if (m.user === identity.botUserId) return { kind: 'ignore', reason: 'Herald’s own message', facts };
  // Slack sends both app_mention and message for a mention; the app_mention is the one Herald keeps.
  // Direct messages get no app_mention, so a mention there stays a message.
  if (m.channel_type !== 'im' && (m.text ?? '').includes(`<@${identity.botUserId}`)) return { kind: 'ignore', reason: 'delivered as app_mention', facts };
  const actor = actorOf(workspace, m.user);
  const text = unescapeText(m.text ?? '');
  const files = fileRefs(m.files);
  if (m.thread_ts && m.thread_ts !== m.ts) {
    const event: InboundEvent = {
      platform: 'slack',
      type: 'thread-reply',
      actor,
      message: slackRef(workspace, m.channel, m.ts, m.thread_ts),
      parent: slackRef(workspace, m.channel, m.thread_ts),
      text,
      files,
    };
    return { kind: 'event', event, facts: { ...facts, kind: 'thread-reply' }, needsName: true };
  }
  const event: InboundEvent = { platform: 'slack', type: 'message', actor, message: slackRef(workspace, m.channel, m.ts), text, files };
  return { kind: 'event', event, facts, needsName: true };
}

function translateMention(raw: unknown, workspace: string, base: Base, identity: SlackIdentity): Translation {
  const parsed = mentionEvent.safeParse(raw);
  if (!parsed.success) return { kind: 'malformed', problem: problemOf(parsed.error), facts: { ...base, kind: 'mention' } };
  const m = parsed.data;
  const facts = { ...base, kind: 'mention', channel: m.channel, ...(m.user ? { user: m.user } : {}) };
  if (m.bot_id || !m.user || m.user === identity.botUserId) return { kind: 'ignore', reason: 'mention by a bot', facts };
  const mention = new RegExp(`<@${escapeRegExp(identity.botUserId)}(?:\\|[^>]*)?>[ \\t]?`, 'g');
  const event: InboundEvent = {
    platform: 'slack',
    type: 'mention',
    actor: actorOf(workspace, m.user),
    message: slackRef(workspace, m.channel, m.ts, m.thread_ts),
    text: unescapeText((m.text ?? '').replace(mention, '')).trim(),
    files: fileRefs(m.files),
  };
  return { kind: 'event', event, facts, needsName: true };
}
