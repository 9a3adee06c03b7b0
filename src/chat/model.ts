/**
 * Platform-neutral outgoing messages: plain data that flows build and adapters render (Block Kit on
 * Slack, components on Discord). Nothing here knows a platform.
 */

export type ButtonStyle = 'primary' | 'danger' | 'default';

/** Asked before a dangerous click takes effect. */
export interface Confirm {
  title: string;
  text: string;
  confirm: string;
  deny: string;
}

export interface Button {
  kind: 'button';
  /** An encoded action id (see action-id.ts). */
  actionId: string;
  label: string;
  style?: ButtonStyle;
  confirm?: Confirm;
}

export interface LinkButton {
  kind: 'link';
  label: string;
  url: string;
}

export interface SelectOption {
  label: string;
  value: string;
  description?: string;
}

export interface Select {
  kind: 'select';
  actionId: string;
  placeholder: string;
  options: SelectOption[];
  initial?: string;
}

export type CardAction = Button | LinkButton | Select;

export interface CardField {
  label: string;
  value: string;
  /** Shown side by side with the next short field where the platform can. */
  short?: boolean;
}

export interface Card {
  title: string;
  body?: string;
  fields?: CardField[];
  /** A small line under the card: who, when, status. */
  context?: string;
  image?: { url: string; alt: string };
  /** At most five buttons and link buttons, and selects on rows of their own. */
  actions?: CardAction[];
}

export interface Message {
  /** Plain text: the notification line, and the whole message when there is no card. */
  text: string;
  card?: Card;
}

export type FormField =
  | { kind: 'text'; id: string; label: string; placeholder?: string; initial?: string; required?: boolean; maxLength?: number; multiline?: boolean }
  | { kind: 'select'; id: string; label: string; options: SelectOption[]; initial?: string; required?: boolean }
  | { kind: 'datetime'; id: string; label: string; initial?: Date; required?: boolean }
  | { kind: 'user'; id: string; label: string; initial?: string; required?: boolean };

/** A modal form. Its id is an encoded action id, so the submission finds its flow and entity. */
export interface Form {
  id: string;
  title: string;
  submitLabel: string;
  fields: FormField[];
}

export const LIMITS = {
  /** Discord's cap on custom_id, the tighter of the two platforms. */
  actionId: 100,
  buttonsPerCard: 5,
  formFields: 5,
  formTitle: 45,
  buttonLabel: 80,
} as const;

/** Values of a submitted form, keyed by field id; a user field holds the user id. */
export type FormValues = Record<string, string | undefined>;

/**
 * Mentions Herald makes. A flow writes `mention(id)` into any text; each renderer turns it into its
 * platform's mention, and on Discord only these ids may ping. Text from outside (chat messages, form
 * values, names, network items, the assistant's answers) passes through `stripMentionMarks` where it
 * enters, so `<@123>` in a stranger's comment stays inert text and nobody can forge a mark.
 */
const MARK_OPEN = '\uE000';
const MARK_CLOSE = '\uE001';
const MARKS = /[\uE000\uE001]/g;
/** A mention mark; group 1 is the user id. */
export const MENTION_MARK = /\uE000([A-Za-z0-9_]{1,32})\uE001/g;

/** A mention of a platform user (Slack U…/W…, a Discord snowflake) that every renderer understands. */
export function mention(userId: string): string {
  return /^[A-Za-z0-9_]{1,32}$/.test(userId) ? `${MARK_OPEN}${userId}${MARK_CLOSE}` : `@${userId}`;
}

/** Inbound text without mention marks (they only ever come from `mention`). */
export function stripMentionMarks(text: string): string {
  return text.replace(MARKS, '');
}

/** Rewrites each mark with `as(id)` and drops marks a cut left unpaired. */
export function renderMentions(text: string, as: (userId: string) => string): string {
  return text.replace(MENTION_MARK, (_, id: string) => as(id)).replace(MARKS, '');
}

/** Where a platform shows no mentions (button labels, footers): each mark as plain "@id". */
export function mentionsAsText(text: string): string {
  return renderMentions(text, (id) => `@${id}`);
}

/** The ids mentioned with `mention`, once each, in order. */
export function mentionedUsers(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(MENTION_MARK), (m) => m[1]!))];
}
