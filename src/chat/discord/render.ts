/**
 * Neutral model → Discord API JSON (embeds, message components, modals). Pure: no I/O, no client.
 *
 * Gaps Discord leaves that the neutral model can express:
 * - Buttons have no confirm dialog. A button with `confirm` renders as a plain button; the flow behind
 *   it must treat the click as the decision (or ask again with a form or an ephemeral card).
 * - Embed images have no alt text; the alt is dropped (uploads via uploadFile keep theirs).
 * - Modals have no custom submit label; `submitLabel` is dropped (Discord shows "Submit").
 */
import { ButtonStyle, ComponentType, SelectMenuDefaultValueType, TextInputStyle } from 'discord.js';
import type {
  APIActionRowComponent,
  APIAllowedMentions,
  APIButtonComponent,
  APIComponentInMessageActionRow,
  APIEmbed,
  APIEmbedField,
  APILabelComponent,
  APIModalInteractionResponseCallbackData,
  APIStringSelectComponent,
  APISelectMenuOption,
} from 'discord.js';
import type { Button, Card, CardAction, Form, FormField, LinkButton, Message, Select } from '../model.ts';
import { LIMITS, mentionedUsers, mentionsAsText, renderMentions } from '../model.ts';

/** Discord's own caps (https://discord.com/developers/docs/resources/message, …/components/reference). */
export const DISCORD_LIMITS = {
  content: 2000,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooter: 2048,
  embedTotal: 6000,
  rows: 5,
  buttonsPerRow: 5,
  buttonLabel: 80,
  selectOptions: 25,
  selectOptionText: 100,
  selectPlaceholder: 150,
  modalTitle: 45,
  modalComponents: 5,
  labelText: 45,
  textInputValue: 4000,
  textInputPlaceholder: 100,
} as const;

/** Message create/edit body for REST (and interaction replies, which take the same fields). */
export interface RenderedMessage {
  content: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIComponentInMessageActionRow>[];
  allowed_mentions: APIAllowedMentions;
}

const DATETIME_ZONE = ' (UTC)';
/** Placeholder of a datetime field, and the format of its initial value (UTC). */
export const DATETIME_FORMAT = 'YYYY-MM-DD HH:MM';

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
const EMPTY = '\u200b';

/**
 * Cuts text to at most `max` UTF-16 units without splitting a grapheme (emoji, accents), marking the
 * cut with an ellipsis. Discord counts lengths in UTF-16 units like JavaScript does.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const { segment } of segmenter.segment(text)) {
    if (out.length + segment.length > max - 1) break;
    out += segment;
  }
  return `${out}…`;
}

/** Herald's own mentions as Discord's (where Discord shows none, footers and titles, `mentionsAsText`). */
const live = (text: string): string => renderMentions(text, (id) => `<@${id}>`);

/**
 * Only the people Herald itself mentioned in the content (model.ts `mention`) are pinged: never
 * @everyone/@here, and never a <@id> or <@&role> that arrived in text from outside (an inbox item, a
 * draft), which Discord still shows as a mention but without notifying anyone. Mentions in embeds
 * never notify on Discord.
 */
export function renderMessage(message: Message): RenderedMessage {
  return {
    content: truncate(live(message.text), DISCORD_LIMITS.content),
    embeds: message.card ? [renderEmbed(message.card)] : [],
    components: message.card?.actions ? renderActions(message.card.actions) : [],
    allowed_mentions: { parse: [], users: mentionedUsers(message.text).slice(0, 100) },
  };
}

export function renderEmbed(card: Card): APIEmbed {
  const embed: APIEmbed = { title: truncate(mentionsAsText(card.title), DISCORD_LIMITS.embedTitle) };
  if (card.body) embed.description = truncate(live(card.body), DISCORD_LIMITS.embedDescription);
  const fields: APIEmbedField[] = (card.fields ?? []).slice(0, DISCORD_LIMITS.embedFields).map((f) => ({
    name: truncate(mentionsAsText(f.label), DISCORD_LIMITS.embedFieldName) || EMPTY,
    value: truncate(live(f.value), DISCORD_LIMITS.embedFieldValue) || EMPTY,
    inline: f.short === true,
  }));
  if (card.context) embed.footer = { text: truncate(mentionsAsText(card.context), DISCORD_LIMITS.embedFooter) };
  if (card.image) embed.image = { url: card.image.url };
  // The 6000-character budget covers every text of the embed: drop fields from the end to fit.
  const size = (): number =>
    (embed.title?.length ?? 0) + (embed.description?.length ?? 0) + (embed.footer?.text.length ?? 0) +
    fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  while (fields.length > 0 && size() > DISCORD_LIMITS.embedTotal) fields.pop();
  if (embed.description && size() > DISCORD_LIMITS.embedTotal) {
    embed.description = truncate(embed.description, Math.max(1, embed.description.length - (size() - DISCORD_LIMITS.embedTotal)));
  }
  if (fields.length > 0) embed.fields = fields;
  return embed;
}

/** Buttons and link buttons share rows of five, in order; each select gets a row of its own. */
export function renderActions(actions: readonly CardAction[]): APIActionRowComponent<APIComponentInMessageActionRow>[] {
  const buttons = actions.filter((a): a is Button | LinkButton => a.kind !== 'select').map(renderButton);
  const selects = actions.filter((a): a is Select => a.kind === 'select').map(renderSelect);
  const rows: APIActionRowComponent<APIComponentInMessageActionRow>[] = [];
  for (let i = 0; i < buttons.length; i += DISCORD_LIMITS.buttonsPerRow) {
    rows.push({ type: ComponentType.ActionRow, components: buttons.slice(i, i + DISCORD_LIMITS.buttonsPerRow) });
  }
  for (const select of selects) rows.push({ type: ComponentType.ActionRow, components: [select] });
  return rows.slice(0, DISCORD_LIMITS.rows);
}

const buttonStyles = { primary: ButtonStyle.Primary, danger: ButtonStyle.Danger, default: ButtonStyle.Secondary } as const;

function renderButton(action: Button | LinkButton): APIButtonComponent {
  const label = truncate(action.label, Math.min(LIMITS.buttonLabel, DISCORD_LIMITS.buttonLabel));
  if (action.kind === 'link') return { type: ComponentType.Button, style: ButtonStyle.Link, label, url: action.url };
  // action.confirm has no Discord equivalent (see the file comment): the button renders as is.
  return { type: ComponentType.Button, style: buttonStyles[action.style ?? 'default'], label, custom_id: action.actionId };
}

function selectOptions(options: Select['options'], initial: string | undefined): APISelectMenuOption[] {
  return options.slice(0, DISCORD_LIMITS.selectOptions).map((o) => ({
    label: truncate(o.label, DISCORD_LIMITS.selectOptionText),
    value: o.value,
    ...(o.description ? { description: truncate(o.description, DISCORD_LIMITS.selectOptionText) } : {}),
    ...(initial !== undefined && o.value === initial ? { default: true } : {}),
  }));
}

function renderSelect(select: Select): APIStringSelectComponent {
  return {
    type: ComponentType.StringSelect,
    custom_id: select.actionId,
    placeholder: truncate(select.placeholder, DISCORD_LIMITS.selectPlaceholder),
    options: selectOptions(select.options, select.initial),
    min_values: 1,
    max_values: 1,
  };
}

/** "2025-03-07 14:05" in UTC: what a datetime field shows and expects back. */
export function formatDateTime(date: Date): string {
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * A modal of Label components (Discord's current modal layout): text inputs, string selects and user
 * selects. Throws on more than five fields: a flow must fit Discord's modal, not lose fields silently.
 */
export function renderForm(form: Form): APIModalInteractionResponseCallbackData {
  const max = Math.min(LIMITS.formFields, DISCORD_LIMITS.modalComponents);
  if (form.fields.length === 0 || form.fields.length > max) {
    throw new Error(`form ${form.id} has ${form.fields.length} fields; a Discord modal takes 1 to ${max}`);
  }
  return {
    custom_id: form.id,
    title: truncate(form.title, Math.min(LIMITS.formTitle, DISCORD_LIMITS.modalTitle)),
    components: form.fields.map(renderField),
  };
}

function renderField(field: FormField): APILabelComponent {
  const label = truncate(field.label, DISCORD_LIMITS.labelText);
  const required = field.required === true;
  switch (field.kind) {
    case 'text':
      return {
        type: ComponentType.Label,
        label,
        component: {
          type: ComponentType.TextInput,
          custom_id: field.id,
          style: field.multiline ? TextInputStyle.Paragraph : TextInputStyle.Short,
          required,
          ...(field.maxLength !== undefined ? { max_length: Math.min(field.maxLength, DISCORD_LIMITS.textInputValue) } : {}),
          ...(field.initial ? { value: truncate(field.initial, Math.min(field.maxLength ?? Infinity, DISCORD_LIMITS.textInputValue)) } : {}),
          ...(field.placeholder ? { placeholder: truncate(field.placeholder, DISCORD_LIMITS.textInputPlaceholder) } : {}),
        },
      };
    case 'select':
      return {
        type: ComponentType.Label,
        label,
        component: {
          type: ComponentType.StringSelect,
          custom_id: field.id,
          options: selectOptions(field.options, field.initial),
          required,
          min_values: required ? 1 : 0,
          max_values: 1,
        },
      };
    case 'datetime':
      return {
        type: ComponentType.Label,
        // A text input read as UTC (Slack's picker shows each person's own time): the label says so.
        label: `${truncate(field.label, DISCORD_LIMITS.labelText - DATETIME_ZONE.length)}${DATETIME_ZONE}`,
        component: {
          type: ComponentType.TextInput,
          custom_id: field.id,
          style: TextInputStyle.Short,
          required,
          placeholder: DATETIME_FORMAT,
          max_length: 32,
          ...(field.initial ? { value: formatDateTime(field.initial) } : {}),
        },
      };
    case 'user':
      return {
        type: ComponentType.Label,
        label,
        component: {
          type: ComponentType.UserSelect,
          custom_id: field.id,
          required,
          min_values: required ? 1 : 0,
          max_values: 1,
          ...(field.initial ? { default_values: [{ id: field.initial, type: SelectMenuDefaultValueType.User }] } : {}),
        },
      };
  }
}
