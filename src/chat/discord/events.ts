/**
 * Raw gateway payloads (INTERACTION_CREATE, MESSAGE_CREATE, MESSAGE_REACTION_ADD) → what Herald needs,
 * validated with zod: anything the gateway sends is input, not a promise. Pure; the adapter adds the
 * responder, channel look-ups and the handler.
 */
import { z } from 'zod';
import type { FormValues } from '../model.ts';
import type { Actor, ConversationRef, FileRef } from '../port.ts';

/** What the adapter knows about a channel: its type and, for threads, the parent channel. */
export interface ChannelInfo {
  type: number;
  parentId?: string | null;
}

/** Public, private and announcement threads. */
const THREAD_TYPES: ReadonlySet<number> = new Set([10, 11, 12]);
export const isThread = (channel: ChannelInfo | undefined): boolean => channel !== undefined && THREAD_TYPES.has(channel.type);

const userSchema = z.object({ id: z.string().min(1), username: z.string().optional(), global_name: z.string().nullish(), bot: z.boolean().optional() });
const memberSchema = z.object({ user: userSchema.optional(), nick: z.string().nullish() });
const attachmentSchema = z.object({ filename: z.string(), url: z.string(), content_type: z.string().nullish(), description: z.string().nullish() });
const channelSchema = z.object({ id: z.string().min(1), type: z.number(), parent_id: z.string().nullish() });
const targetMessageSchema = z.object({ id: z.string().min(1), content: z.string().default(''), attachments: z.array(attachmentSchema).default([]) });

type RawUser = z.infer<typeof userSchema>;
type RawMember = z.infer<typeof memberSchema>;

export const workspaceOf = (guildId: string | undefined | null): string => guildId ?? '@me';

/** channel = the parent for a thread (thread = the thread), so a ref always names a real channel. */
export function conversationRef(guildId: string | undefined | null, channelId: string, channel: ChannelInfo | undefined, message?: string): ConversationRef {
  const threaded = isThread(channel) && channel?.parentId;
  return {
    platform: 'discord',
    workspace: workspaceOf(guildId),
    channel: threaded ? channel.parentId! : channelId,
    ...(message ? { message } : {}),
    ...(threaded ? { thread: channelId } : {}),
  };
}

function actorOf(user: RawUser, member: RawMember | undefined, guildId: string | undefined, locale?: string): Actor {
  return {
    ref: { platform: 'discord', workspace: workspaceOf(guildId), user: user.id },
    name: member?.nick || user.global_name || user.username || user.id,
    ...(locale ? { locale } : {}),
  };
}

const filesOf = (attachments: z.infer<typeof attachmentSchema>[]): FileRef[] =>
  attachments.map((a) => ({ name: a.filename, url: a.url, ...(a.content_type ? { mimeType: a.content_type } : {}), ...(a.description ? { alt: a.description } : {}) }));

const issuesOf = (error: z.ZodError): string[] => error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);

// ---------------------------------------------------------------- interactions

const interactionSchema = z.object({
  id: z.string().min(1),
  token: z.string().min(1),
  application_id: z.string().min(1),
  type: z.number().int(),
  guild_id: z.string().optional(),
  channel_id: z.string().optional(),
  channel: channelSchema.optional(),
  member: memberSchema.optional(),
  user: userSchema.optional(),
  locale: z.string().optional(),
  data: z.unknown().optional(),
  message: z.object({ id: z.string().min(1) }).optional(),
});

interface RawOption {
  name: string;
  type: number;
  value?: string | number | boolean | undefined;
  options?: RawOption[] | undefined;
}
const optionSchema: z.ZodType<RawOption> = z.lazy(() =>
  z.object({ name: z.string(), type: z.number(), value: z.union([z.string(), z.number(), z.boolean()]).optional(), options: z.array(optionSchema).optional() }),
);
const commandDataSchema = z.object({
  name: z.string().min(1),
  type: z.number().default(1),
  options: z.array(optionSchema).default([]),
  target_id: z.string().optional(),
  resolved: z.object({ messages: z.record(z.string(), targetMessageSchema).optional() }).optional(),
});
const componentDataSchema = z.object({ custom_id: z.string().min(1), component_type: z.number(), values: z.array(z.string()).optional() });

interface RawModalComponent {
  type: number;
  custom_id?: string | undefined;
  value?: string | null | undefined;
  values?: string[] | undefined;
  component?: RawModalComponent | undefined;
  components?: RawModalComponent[] | undefined;
}
const modalComponentSchema: z.ZodType<RawModalComponent> = z.lazy(() =>
  z.object({
    type: z.number(),
    custom_id: z.string().optional(),
    value: z.string().nullish(),
    values: z.array(z.string()).optional(),
    component: modalComponentSchema.optional(),
    components: z.array(modalComponentSchema).optional(),
  }),
);
const modalDataSchema = z.object({ custom_id: z.string().min(1), components: z.array(modalComponentSchema) });

export type InteractionBody =
  | { kind: 'command'; command: string; options: Record<string, string> }
  | { kind: 'shortcut'; name: string; target: ConversationRef; text: string; files: FileRef[] }
  | { kind: 'component'; customId: string; value?: string }
  | { kind: 'modal'; customId: string; values: FormValues }
  | { kind: 'autocomplete' }
  | { kind: 'unsupported'; reason: string };

export interface ParsedInteraction {
  id: string;
  token: string;
  applicationId: string;
  type: number;
  actor: Actor;
  /** Where the interaction happened (undefined only for payloads without a channel). */
  channel?: ConversationRef;
  /** The message a component sits on, or a modal opened from a component was shown over. */
  message?: ConversationRef;
  body: InteractionBody;
}

export type InteractionParse =
  | { ok: true; interaction: ParsedInteraction }
  /** Not answerable: without id, token and a person there is nobody to answer. */
  | { ok: false; issues: string[]; id?: string };

export const InteractionKind = { Ping: 1, ApplicationCommand: 2, Component: 3, Autocomplete: 4, ModalSubmit: 5 } as const;
const COMPONENT_BUTTON = 2;
const COMPONENT_STRING_SELECT = 3;

export function parseInteraction(raw: unknown): InteractionParse {
  const base = interactionSchema.safeParse(raw);
  if (!base.success) {
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
    return { ok: false, issues: issuesOf(base.error), ...(id ? { id } : {}) };
  }
  const p = base.data;
  const user = p.member?.user ?? p.user;
  if (!user) return { ok: false, issues: ['member.user / user: missing'], id: p.id };
  const channelInfo = p.channel ? { type: p.channel.type, parentId: p.channel.parent_id ?? null } : undefined;
  const channelId = p.channel_id ?? p.channel?.id;
  const channel = channelId ? conversationRef(p.guild_id, channelId, channelInfo) : undefined;
  const message = channelId && p.message ? conversationRef(p.guild_id, channelId, channelInfo, p.message.id) : undefined;
  const interaction: ParsedInteraction = {
    id: p.id, token: p.token, applicationId: p.application_id, type: p.type,
    actor: actorOf(user, p.member, p.guild_id, p.locale),
    ...(channel ? { channel } : {}),
    ...(message ? { message } : {}),
    body: interactionBody(p.type, p.data, p.guild_id, channelId, channelInfo),
  };
  return { ok: true, interaction };
}

function interactionBody(type: number, data: unknown, guildId: string | undefined, channelId: string | undefined, channel: ChannelInfo | undefined): InteractionBody {
  const unsupported = (reason: string): InteractionBody => ({ kind: 'unsupported', reason });
  switch (type) {
    case InteractionKind.ApplicationCommand: {
      const parsed = commandDataSchema.safeParse(data);
      if (!parsed.success) return unsupported(`command data: ${issuesOf(parsed.error).join('; ')}`);
      const d = parsed.data;
      if (d.type === 1) return { kind: 'command', ...flattenCommand(d.name, d.options) };
      if (d.type === 3) {
        const target = d.target_id ? d.resolved?.messages?.[d.target_id] : undefined;
        if (!target || !channelId) return unsupported('message command without its target message');
        return { kind: 'shortcut', name: d.name, target: conversationRef(guildId, channelId, channel, target.id), text: target.content, files: filesOf(target.attachments) };
      }
      return unsupported(`application command type ${d.type}`);
    }
    case InteractionKind.Component: {
      const parsed = componentDataSchema.safeParse(data);
      if (!parsed.success) return unsupported(`component data: ${issuesOf(parsed.error).join('; ')}`);
      const d = parsed.data;
      if (d.component_type === COMPONENT_BUTTON) return { kind: 'component', customId: d.custom_id };
      if (d.component_type === COMPONENT_STRING_SELECT) {
        const value = d.values?.[0];
        return { kind: 'component', customId: d.custom_id, ...(value !== undefined ? { value } : {}) };
      }
      return unsupported(`component type ${d.component_type}`);
    }
    case InteractionKind.ModalSubmit: {
      const parsed = modalDataSchema.safeParse(data);
      if (!parsed.success) return unsupported(`modal data: ${issuesOf(parsed.error).join('; ')}`);
      return { kind: 'modal', customId: parsed.data.custom_id, values: modalValues(parsed.data.components) };
    }
    case InteractionKind.Autocomplete:
      return { kind: 'autocomplete' };
    default:
      return unsupported(`interaction type ${type}`);
  }
}

/** "/herald ping a:b" arrives as herald → sub-command ping → option a; flattened to a name and strings. */
export function flattenCommand(root: string, options: readonly RawOption[]): { command: string; options: Record<string, string> } {
  const names = [root];
  const values: Record<string, string> = {};
  let level: readonly RawOption[] = options;
  for (;;) {
    const nested = level.find((o) => o.type === 1 || o.type === 2);
    if (!nested) break;
    names.push(nested.name);
    level = nested.options ?? [];
  }
  for (const option of level) if (option.value !== undefined) values[option.name] = String(option.value);
  return { command: names.join(' '), options: values };
}

/** Labels (type 18) and legacy action rows (type 1) around text inputs and selects, keyed by custom_id. */
export function modalValues(components: readonly RawModalComponent[]): FormValues {
  const values: FormValues = {};
  const visit = (c: RawModalComponent): void => {
    if (c.component) visit(c.component);
    for (const child of c.components ?? []) visit(child);
    if (!c.custom_id) return;
    const value = c.values ? c.values[0] : c.value;
    // An empty optional input is absent, as on Slack.
    values[c.custom_id] = value === null || value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  components.forEach(visit);
  return values;
}

// ---------------------------------------------------------------- messages and reactions

const gatewayMessageSchema = z.object({
  id: z.string().min(1),
  channel_id: z.string().min(1),
  guild_id: z.string().optional(),
  author: userSchema,
  member: memberSchema.optional(),
  content: z.string().default(''),
  mentions: z.array(z.object({ id: z.string() })).default([]),
  attachments: z.array(attachmentSchema).default([]),
  webhook_id: z.string().optional(),
  type: z.number().default(0),
});
export type GatewayMessage = z.infer<typeof gatewayMessageSchema>;

export function parseGatewayMessage(raw: unknown): { ok: true; message: GatewayMessage } | { ok: false; issues: string[] } {
  const parsed = gatewayMessageSchema.safeParse(raw);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, issues: issuesOf(parsed.error) };
}

/** Default (0) and reply (19) messages are people talking; the rest are system notices. */
const PEOPLE_MESSAGE_TYPES: ReadonlySet<number> = new Set([0, 19]);

/** Why Herald does not hand a message to its handler, or undefined when it does. */
export function ignoreReason(message: GatewayMessage, botUserId: string | undefined): string | undefined {
  if (botUserId !== undefined && message.author.id === botUserId) return 'own message';
  if (message.author.bot) return 'bot author';
  if (message.webhook_id) return 'webhook message';
  if (!PEOPLE_MESSAGE_TYPES.has(message.type)) return `system message type ${message.type}`;
  return undefined;
}

export type MessageEvent =
  | { type: 'message'; message: ConversationRef; text: string; files: FileRef[]; actor: Actor }
  | { type: 'mention'; message: ConversationRef; text: string; files: FileRef[]; actor: Actor }
  | { type: 'thread-reply'; message: ConversationRef; parent: ConversationRef; text: string; files: FileRef[]; actor: Actor };

/**
 * A thread message → thread-reply (a Discord thread started from a message has that message's id,
 * so the parent ref is channel = parent channel, message = thread id); a mention of Herald → mention,
 * without the mention; anything else → message.
 */
export function messageEvent(message: GatewayMessage, channel: ChannelInfo | undefined, botUserId: string | undefined): MessageEvent {
  const actor = actorOf(message.author, message.member, message.guild_id);
  const files = filesOf(message.attachments);
  const ref = conversationRef(message.guild_id, message.channel_id, channel, message.id);
  const mentionPattern = botUserId ? new RegExp(`<@!?${botUserId}>\\s*`, 'g') : undefined;
  const text = mentionPattern ? message.content.replace(mentionPattern, '').trim() : message.content;
  if (ref.thread) {
    const parent: ConversationRef = { platform: 'discord', workspace: ref.workspace, channel: ref.channel, message: ref.thread, thread: ref.thread };
    return { type: 'thread-reply', message: ref, parent, text, files, actor };
  }
  const mentioned = botUserId !== undefined && (message.mentions.some((m) => m.id === botUserId) || text !== message.content);
  return { type: mentioned ? 'mention' : 'message', message: ref, text, files, actor };
}

const reactionSchema = z.object({
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  message_id: z.string().min(1),
  guild_id: z.string().optional(),
  member: memberSchema.optional(),
  emoji: z.object({ id: z.string().nullish(), name: z.string().nullish() }),
});
export type GatewayReaction = z.infer<typeof reactionSchema>;

export function parseReaction(raw: unknown): { ok: true; reaction: GatewayReaction } | { ok: false; issues: string[] } {
  const parsed = reactionSchema.safeParse(raw);
  return parsed.success ? { ok: true, reaction: parsed.data } : { ok: false, issues: issuesOf(parsed.error) };
}

export function reactionEvent(reaction: GatewayReaction, channel: ChannelInfo | undefined): { type: 'reaction'; message: ConversationRef; emoji: string; actor: Actor } {
  const user = reaction.member?.user ?? { id: reaction.user_id };
  return {
    type: 'reaction',
    message: conversationRef(reaction.guild_id, reaction.channel_id, channel, reaction.message_id),
    // A unicode emoji is its own name; a custom one has a name, or only an id once deleted.
    emoji: reaction.emoji.name ?? reaction.emoji.id ?? '',
    actor: actorOf(user, reaction.member, reaction.guild_id),
  };
}
