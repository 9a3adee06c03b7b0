import type { Form, FormValues, Message } from './model.ts';

export type Platform = 'slack' | 'discord';

/**
 * Where a message lives. Stored with every draft and inbox item so Herald can post there later.
 * Slack: workspace = team id, channel = channel id, message = ts, thread = thread_ts.
 * Discord: workspace = guild id ("@me" for DMs), channel = channel id, message = message id,
 * thread = the thread channel's id.
 */
export interface ConversationRef {
  platform: Platform;
  workspace: string;
  channel: string;
  message?: string;
  thread?: string;
}

export interface UserRef {
  platform: Platform;
  workspace: string;
  user: string;
}

const refPart = /^[A-Za-z0-9._@-]*$/;

/** "platform:workspace:channel:message:thread", empty parts for what is absent. */
export function serializeRef(ref: ConversationRef): string {
  const parts = [ref.platform, ref.workspace, ref.channel, ref.message ?? '', ref.thread ?? ''];
  if (!parts.every((p) => refPart.test(p))) throw new Error(`conversation ref has a part that cannot be serialised: ${parts.join(' | ')}`);
  return parts.join(':');
}

export function parseRef(value: string): ConversationRef | undefined {
  const parts = value.split(':');
  if (parts.length !== 5) return undefined;
  const [platform, workspace, channel, message, thread] = parts as [string, string, string, string, string];
  if (platform !== 'slack' && platform !== 'discord') return undefined;
  if (!workspace || !channel || !parts.every((p) => refPart.test(p))) return undefined;
  return { platform, workspace, channel, ...(message ? { message } : {}), ...(thread ? { thread } : {}) };
}

/** Who did something, with what Herald needs to decide whether they may. */
export interface Actor {
  ref: UserRef;
  name: string;
  locale?: string;
}

/** Facts about a person for permission checks, resolved by the adapter from the platform. */
export interface Membership {
  /** Slack workspace admin or owner; Discord Administrator or Manage Server. */
  isAdmin: boolean;
  /** Slack user group ids and handles; Discord role ids and names. */
  groups: string[];
  /** The person's own IANA time zone where the platform says (Slack); absent on Discord. */
  timeZone?: string;
}

/** Answers to the person who caused an interaction, while it is still answerable. */
export interface Responder {
  /** A message only the actor sees. */
  ephemeral(message: Message): Promise<void>;
  /** Opens a modal form (only on interactions that carry a trigger: commands, clicks, shortcuts). */
  openForm(form: Form): Promise<void>;
}

export interface FileRef {
  name: string;
  url: string;
  mimeType?: string;
  alt?: string;
}

interface EventBase {
  platform: Platform;
  actor: Actor;
}

export interface CommandInvoked extends EventBase {
  type: 'command';
  /** "herald ping", "draft". */
  command: string;
  /** Raw option values as strings, validated by the registry against the command's schema. */
  options: Record<string, string>;
  channel: ConversationRef;
  respond: Responder;
}

export interface ActionClicked extends EventBase {
  type: 'action';
  actionId: string;
  /** The chosen value of a select. */
  value?: string;
  channel: ConversationRef;
  /** The message carrying the card that was clicked. */
  message: ConversationRef;
  respond: Responder;
}

export interface FormSubmitted extends EventBase {
  type: 'form';
  formId: string;
  values: FormValues;
  respond: Responder;
}

export interface MessagePosted extends EventBase {
  type: 'message';
  message: ConversationRef;
  text: string;
  files: FileRef[];
}

export interface AppMentioned extends EventBase {
  type: 'mention';
  message: ConversationRef;
  /** The text without the mention of Herald. */
  text: string;
  files: FileRef[];
}

export interface ThreadReplied extends EventBase {
  type: 'thread-reply';
  message: ConversationRef;
  /** The message that started the thread. */
  parent: ConversationRef;
  text: string;
  files: FileRef[];
}

export interface ReactionAdded extends EventBase {
  type: 'reaction';
  message: ConversationRef;
  /** Slack's emoji name ("thumbsup"), or Discord's unicode character or custom emoji name. */
  emoji: string;
}

export interface MessageShortcut extends EventBase {
  type: 'shortcut';
  shortcut: string;
  message: ConversationRef;
  text: string;
  files: FileRef[];
  respond: Responder;
}

export type InboundEvent =
  | CommandInvoked
  | ActionClicked
  | FormSubmitted
  | MessagePosted
  | AppMentioned
  | ThreadReplied
  | ReactionAdded
  | MessageShortcut;

/** What a form handler answers: field errors keep the form open (Slack) or are listed (Discord). */
export interface FormResult {
  errors?: Record<string, string>;
}

export type InboundHandler = (event: InboundEvent) => Promise<FormResult | void>;

/** A command or shortcut as the platforms must be told about it (Slack manifest, Discord registration). */
export interface CommandDeclaration {
  /** "herald ping": root command and optional sub-command. */
  name: string;
  description: string;
  options: { name: string; description: string; required: boolean; choices?: string[] }[];
}

export interface ShortcutDeclaration {
  /** Stable id (Slack callback_id; matched by name on Discord). */
  id: string;
  /** What people see in the message menu; Discord's context-menu command name. */
  name: string;
  description: string;
}

/** A file Herald attaches to a message: a chart (with its alt text), a CSV export. */
export interface FileUpload {
  data: Buffer;
  filename: string;
  mimeType: string;
  /** Alt text; every image has one. */
  alt?: string;
  title?: string;
}

/**
 * One chat platform. Flows talk to people only through this; an adapter never knows what a draft is.
 * Adapters acknowledge every interaction at once and run the handler after (platforms allow 3 s).
 */
export interface ChatAdapter {
  readonly platform: Platform;
  start(handler: InboundHandler): Promise<void>;
  stop(): Promise<void>;
  /** Connected to the platform; readiness reports the adapter by name while false. */
  isReady(): boolean;
  /** Tells the platform which commands and shortcuts exist (Discord); a no-op where the manifest does it. */
  registerCommands(commands: readonly CommandDeclaration[], shortcuts: readonly ShortcutDeclaration[]): Promise<void>;
  post(channel: ConversationRef, message: Message): Promise<ConversationRef>;
  update(ref: ConversationRef, message: Message): Promise<void>;
  /** Replies in the message's thread, starting one where the platform needs it. */
  reply(parent: ConversationRef, message: Message): Promise<ConversationRef>;
  /**
   * Makes sure people can answer in the message's thread without Herald writing into it: Discord
   * starts the thread (no message); on Slack every message has one already.
   */
  openThread(ref: ConversationRef): Promise<void>;
  /** Attaches a file in the channel, or in the thread when `where` names a message or thread. */
  uploadFile(where: ConversationRef, file: FileUpload): Promise<void>;
  /** A direct message to a person. */
  notifyUser(user: UserRef, message: Message): Promise<ConversationRef>;
  membership(user: UserRef): Promise<Membership>;
  /** User ids in a Slack user group / Discord role (by id or name), for "all must approve" and reminders. */
  groupMembers(workspace: string, group: string): Promise<string[]>;
  /** A link people can open to the message (Slack permalink; Discord message URL). */
  permalink(ref: ConversationRef): Promise<string | undefined>;
  /** Downloads a file attached to a message (FileRef.url), with the platform's credentials where needed. */
  downloadFile(url: string): Promise<{ bytes: Buffer; mimeType: string }>;
  /** Reads a message (a reaction names only the message): its text, author and files. */
  fetchMessage(ref: ConversationRef): Promise<{ text: string; authorId: string; files: FileRef[] } | undefined>;
}
