import type { types } from '@slack/bolt';
import { mentionsAsText, renderMentions } from '../model.ts';
import type { Button, Card, CardAction, CardField, Confirm, Form, FormField, LinkButton, Message, Select, SelectOption } from '../model.ts';

/**
 * Neutral messages and forms → Block Kit. Pure functions: no I/O, no clock, so every rendering rule
 * is unit-tested (test/unit/slack-render.test.ts). Limits are Slack's documented ones; text that is
 * too long is cut with an ellipsis rather than refused, because a shortened card beats a failed post.
 */

export type SlackBlock = types.KnownBlock;

export interface RenderedMessage {
  /** Notification fallback; also the whole message when there are no blocks. */
  text: string;
  blocks?: SlackBlock[];
}

/** Link buttons still send block_actions on click; the adapter ignores action ids with this prefix. */
export const LINK_ACTION_PREFIX = 'herald.link.';

const MAX = {
  messageText: 40_000,
  sectionText: 3_000,
  fieldText: 2_000,
  fieldsPerSection: 10,
  blocks: 50,
  elementsPerActions: 25,
  buttonText: 75,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  placeholder: 150,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  altText: 2_000,
  modalTitle: 24,
  modalButton: 24,
  inputLabel: 2_000,
  inputInitial: 3_000,
  optionsPerSelect: 100,
} as const;

/** Cuts text to `max` characters, ending with an ellipsis when something was cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/** Slack reads &, < and > as control characters in text fields (links, mentions); neutral text is plain. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Neutral text → mrkdwn: everything escaped (nothing from outside becomes a link or a mention), then Herald's own mentions. */
export function mrkdwnText(text: string): string {
  return renderMentions(escapeText(text), (id) => `<@${id}>`);
}

/** The reverse of escapeText, for text Slack sends us. */
export function unescapeText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const plain = (text: string, max: number): types.PlainTextElement => ({ type: 'plain_text', text: truncate(mentionsAsText(text), max), emoji: true });
const mrkdwn = (text: string, max: number): types.MrkdwnElement => ({ type: 'mrkdwn', text: truncate(text, max) });

export function renderMessage(message: Message): RenderedMessage {
  const fallback = message.text || message.card?.title || '';
  const text = truncate(mrkdwnText(fallback), MAX.messageText);
  if (!message.card) return { text };
  return { text, blocks: renderCard(message.card) };
}

export function renderCard(card: Card): SlackBlock[] {
  const head = mrkdwnText(card.title);
  const body = card.body ? `\n${mrkdwnText(card.body)}` : '';
  const top: SlackBlock[] = [{ type: 'section', text: mrkdwn(`*${head}*${body}`, MAX.sectionText) }];
  const tail: SlackBlock[] = [];
  if (card.context) tail.push({ type: 'context', elements: [mrkdwn(mrkdwnText(card.context), MAX.sectionText)] });
  if (card.image) tail.push({ type: 'image', image_url: card.image.url, alt_text: truncate(card.image.alt || card.title, MAX.altText) });
  tail.push(...renderActions(card.actions ?? []));
  const fields = renderFields(card.fields ?? []).slice(0, Math.max(0, MAX.blocks - top.length - tail.length));
  return [...top, ...fields, ...tail];
}

/**
 * Consecutive short fields share sections (two columns, at most ten per section); a long field gets
 * a section of its own so its value is not squeezed into half the width.
 */
export function renderFields(fields: readonly CardField[]): SlackBlock[] {
  const blocks: SlackBlock[] = [];
  let run: types.MrkdwnElement[] = [];
  const flush = (): void => {
    for (let i = 0; i < run.length; i += MAX.fieldsPerSection) blocks.push({ type: 'section', fields: run.slice(i, i + MAX.fieldsPerSection) });
    run = [];
  };
  for (const field of fields) {
    const text = `*${mrkdwnText(field.label)}*\n${mrkdwnText(field.value)}`;
    if (field.short) {
      run.push(mrkdwn(text, MAX.fieldText));
    } else {
      flush();
      blocks.push({ type: 'section', text: mrkdwn(text, MAX.sectionText) });
    }
  }
  flush();
  return blocks;
}

/** Buttons and link buttons share rows; each select gets a row of its own. */
export function renderActions(actions: readonly CardAction[]): SlackBlock[] {
  const blocks: SlackBlock[] = [];
  let row: types.ActionsBlockElement[] = [];
  const flush = (): void => {
    for (let i = 0; i < row.length; i += MAX.elementsPerActions) blocks.push({ type: 'actions', elements: row.slice(i, i + MAX.elementsPerActions) });
    row = [];
  };
  actions.forEach((action, index) => {
    if (action.kind === 'select') {
      flush();
      blocks.push({ type: 'actions', elements: [renderSelect(action)] });
    } else {
      row.push(action.kind === 'link' ? renderLinkButton(action, index) : renderButton(action));
    }
  });
  flush();
  return blocks;
}

export function renderButton(button: Button): types.Button {
  return {
    type: 'button',
    action_id: button.actionId,
    text: plain(button.label, MAX.buttonText),
    ...(button.style === 'primary' || button.style === 'danger' ? { style: button.style } : {}),
    ...(button.confirm ? { confirm: renderConfirm(button.confirm, button.style === 'danger') } : {}),
  };
}

function renderLinkButton(link: LinkButton, index: number): types.Button {
  return { type: 'button', action_id: `${LINK_ACTION_PREFIX}${index}`, text: plain(link.label, MAX.buttonText), url: link.url };
}

function renderConfirm(confirm: Confirm, danger: boolean): types.ConfirmationDialog {
  return {
    title: plain(confirm.title, MAX.confirmTitle),
    text: plain(confirm.text, MAX.confirmText),
    confirm: plain(confirm.confirm, MAX.confirmButton),
    deny: plain(confirm.deny, MAX.confirmButton),
    ...(danger ? { style: 'danger' as const } : {}),
  };
}

function renderOption(option: SelectOption): types.PlainTextOption {
  return {
    text: plain(option.label, MAX.optionText),
    value: option.value.slice(0, MAX.optionValue),
    ...(option.description ? { description: plain(option.description, MAX.optionDescription) } : {}),
  };
}

function renderSelect(select: Select): types.StaticSelect {
  const options = select.options.slice(0, MAX.optionsPerSelect).map(renderOption);
  const initial = options.find((o) => o.value === select.initial);
  return {
    type: 'static_select',
    action_id: select.actionId,
    placeholder: plain(select.placeholder, MAX.placeholder),
    options,
    ...(initial ? { initial_option: initial } : {}),
  };
}

// ---- forms ----

export interface FormRenderOptions {
  /** Opaque context for the submission (where the form was opened), at most 3000 characters. */
  privateMetadata?: string;
  /** Text of the close button; Slack shows its own ("Cancel") when absent. */
  closeLabel?: string;
}

/**
 * Form → modal. Every field is an input block whose block_id and action_id are the field id, so a
 * submission's values and the errors Herald answers with are keyed by the ids the flow chose.
 */
export function renderForm(form: Form, options: FormRenderOptions = {}): types.ModalView {
  return {
    type: 'modal',
    callback_id: form.id,
    title: plain(form.title, MAX.modalTitle),
    submit: plain(form.submitLabel, MAX.modalButton),
    ...(options.closeLabel ? { close: plain(options.closeLabel, MAX.modalButton) } : {}),
    ...(options.privateMetadata ? { private_metadata: options.privateMetadata.slice(0, 3_000) } : {}),
    blocks: form.fields.map(renderInput),
  };
}

function renderInput(field: FormField): types.InputBlock {
  return {
    type: 'input',
    block_id: field.id,
    label: plain(field.label, MAX.inputLabel),
    optional: field.required !== true,
    element: renderInputElement(field),
  };
}

function renderInputElement(field: FormField): types.InputBlockElement {
  switch (field.kind) {
    case 'text':
      return {
        type: 'plain_text_input',
        action_id: field.id,
        ...(field.multiline ? { multiline: true } : {}),
        ...(field.maxLength ? { max_length: field.maxLength } : {}),
        ...(field.initial ? { initial_value: truncate(field.initial, field.maxLength ?? MAX.inputInitial) } : {}),
        ...(field.placeholder ? { placeholder: plain(field.placeholder, MAX.placeholder) } : {}),
      };
    case 'select': {
      const options = field.options.slice(0, MAX.optionsPerSelect).map(renderOption);
      const initial = options.find((o) => o.value === field.initial);
      return { type: 'static_select', action_id: field.id, options, ...(initial ? { initial_option: initial } : {}) };
    }
    case 'datetime':
      return {
        type: 'datetimepicker',
        action_id: field.id,
        ...(field.initial ? { initial_date_time: Math.floor(field.initial.getTime() / 1_000) } : {}),
      };
    case 'user':
      return { type: 'users_select', action_id: field.id, ...(field.initial ? { initial_user: field.initial } : {}) };
  }
}

/**
 * A form handler's errors → the `errors` of a view_submission ack. Keys must be block ids of the
 * view's input blocks (Slack refuses the whole ack otherwise), so an error for anything else joins
 * the first field's message rather than being lost.
 */
export function viewErrors(errors: Record<string, string> | undefined, inputBlocks: readonly string[]): Record<string, string> | undefined {
  const entries = Object.entries(errors ?? {}).filter(([, text]) => text);
  const first = inputBlocks[0];
  if (entries.length === 0 || first === undefined) return undefined;
  const out: Record<string, string> = {};
  const stray: string[] = [];
  for (const [field, text] of entries) {
    if (inputBlocks.includes(field)) out[field] = truncate(text, MAX.sectionText);
    else stray.push(text);
  }
  if (stray.length > 0) out[first] = truncate([out[first], ...stray].filter(Boolean).join(' · '), MAX.sectionText);
  return out;
}
