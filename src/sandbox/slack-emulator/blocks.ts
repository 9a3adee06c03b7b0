import type { Obj } from './types.ts';

const BLOCK_TYPES = new Set([
  'actions', 'context', 'context_actions', 'divider', 'file', 'header', 'image', 'input', 'markdown',
  'rich_text', 'section', 'video', 'table', 'call', 'rich_text_section',
]);

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Slack's common checks: an array (≤ 50 for messages, ≤ 100 for views) of objects with a known type. */
export function blocksError(blocks: unknown, max = 50): string | undefined {
  if (!Array.isArray(blocks) || blocks.length > max) return 'invalid_blocks';
  for (const b of blocks) {
    if (!isObj(b) || typeof b.type !== 'string' || !BLOCK_TYPES.has(b.type)) return 'invalid_blocks';
    if (b.block_id !== undefined && (typeof b.block_id !== 'string' || b.block_id.length > 255)) return 'invalid_blocks';
  }
  const ids = blocks.map((b: Obj) => b.block_id).filter((id) => id !== undefined);
  if (new Set(ids).size !== ids.length) return 'invalid_blocks';
  return undefined;
}

/** Gives every block a block_id (Slack assigns random ones to blocks that have none). */
export function withBlockIds(blocks: Obj[]): Obj[] {
  return blocks.map((b, i) => (b.block_id === undefined ? { ...b, block_id: `b${i}_${String(b.type)}` } : b));
}

export interface FoundElement {
  block: Obj;
  blockId: string;
  element: Obj;
}

/** Every interactive element (accessory, actions elements, input element) in a list of blocks. */
export function elementsOf(blocks: readonly Obj[]): FoundElement[] {
  const out: FoundElement[] = [];
  for (const block of blocks) {
    const blockId = String(block.block_id ?? '');
    if (isObj(block.accessory)) out.push({ block, blockId, element: block.accessory });
    if (isObj(block.element)) out.push({ block, blockId, element: block.element });
    if (Array.isArray(block.elements) && (block.type === 'actions' || block.type === 'context_actions')) {
      for (const el of block.elements) if (isObj(el)) out.push({ block, blockId, element: el });
    }
  }
  return out;
}

export function findElement(blocks: readonly Obj[] | undefined, actionId: string): FoundElement | undefined {
  return elementsOf(blocks ?? []).find((f) => f.element.action_id === actionId);
}

function optionsOf(element: Obj): Obj[] {
  const direct = Array.isArray(element.options) ? (element.options as Obj[]) : [];
  const grouped = Array.isArray(element.option_groups)
    ? (element.option_groups as Obj[]).flatMap((g) => (Array.isArray(g.options) ? (g.options as Obj[]) : []))
    : [];
  return [...direct, ...grouped];
}

export function findOption(element: Obj, value: string): Obj {
  const option = optionsOf(element).find((o) => o.value === value);
  if (!option) throw new Error(`option ${value} not found in element ${String(element.action_id)}`);
  return option;
}

const NON_STATE = new Set(['button', 'overflow', 'image', 'workflow_button']);

type InputValue = string | number | string[] | null | undefined;

/** The state.values entry Slack builds for one element given a simple value. */
export function elementState(element: Obj, value: InputValue): Obj {
  const type = String(element.type);
  const many = (v: InputValue): string[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [String(v)]);
  switch (type) {
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input':
      return { type, value: value === undefined || value === null ? (element.initial_value ?? null) : String(value) };
    case 'static_select':
    case 'radio_buttons':
      return { type, selected_option: value ? findOption(element, String(value)) : (element.initial_option ?? null) };
    case 'multi_static_select':
    case 'checkboxes':
      return {
        type,
        selected_options: value === undefined ? (element.initial_options ?? []) : many(value).map((v) => findOption(element, v)),
      };
    case 'users_select':
      return { type, selected_user: value ?? element.initial_user ?? null };
    case 'multi_users_select':
      return { type, selected_users: value === undefined ? (element.initial_users ?? []) : many(value) };
    case 'conversations_select':
      return { type, selected_conversation: value ?? element.initial_conversation ?? null };
    case 'channels_select':
      return { type, selected_channel: value ?? element.initial_channel ?? null };
    case 'datepicker':
      return { type, selected_date: value ?? element.initial_date ?? null };
    case 'timepicker':
      return { type, selected_time: value ?? element.initial_time ?? null };
    case 'datetimepicker':
      return { type, selected_date_time: value === undefined || value === null ? (element.initial_date_time ?? null) : Number(value) };
    default:
      return { type, value: value ?? null };
  }
}

/**
 * Builds view.state.values from a simple map keyed by action_id, or by block_id → action_id.
 * Required inputs left empty throw, as Slack's client would refuse to submit.
 */
export function buildViewValues(blocks: readonly Obj[], values: Record<string, unknown>): Record<string, Record<string, Obj>> {
  const out: Record<string, Record<string, Obj>> = {};
  for (const { block, blockId, element } of elementsOf(blocks)) {
    if (NON_STATE.has(String(element.type)) || (block.type !== 'input' && !element.action_id)) continue;
    const actionId = String(element.action_id ?? '');
    const nested = values[blockId];
    const raw = isObj(nested) ? nested[actionId] : values[actionId];
    const state = elementState(element, raw as InputValue);
    if (block.type === 'input' && block.optional !== true && isEmpty(state)) {
      throw new Error(`required input ${blockId}/${actionId} has no value`);
    }
    (out[blockId] ??= {})[actionId] = state;
  }
  return out;
}

function isEmpty(state: Obj): boolean {
  const v = Object.entries(state).find(([k]) => k !== 'type')?.[1];
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}
