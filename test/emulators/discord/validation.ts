/** Discord-like validation of message and modal payloads (400 / 50035 Invalid Form Body). */
import { HttpError } from './http.ts';

type Errors = Record<string, unknown>;
const IS_COMPONENTS_V2 = 1 << 15;

function put(errors: Errors, path: (string | number)[], code: string, message: string): void {
  let node = errors;
  for (const key of path) node = (node[String(key)] ??= {}) as Errors;
  ((node._errors ??= []) as unknown[]).push({ code, message });
}

function checkCustomIds(errors: Errors, components: unknown, path: (string | number)[]): void {
  if (!Array.isArray(components)) return;
  components.forEach((raw, i) => {
    const c = raw as Record<string, unknown>;
    if (typeof c.custom_id === 'string' && c.custom_id.length > 100) {
      put(errors, [...path, i, 'custom_id'], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
    }
    if (c.component) checkCustomIds(errors, [c.component], [...path, i, 'component']);
    checkCustomIds(errors, c.components, [...path, i, 'components']);
  });
}

function throwIf(errors: Errors): void {
  if (Object.keys(errors).length > 0) throw new HttpError(400, 50035, 'Invalid Form Body', errors);
}

/** Validates a message create/edit body; `creating` also rejects empty messages. */
export function validateMessage(body: Record<string, unknown>, fileCount: number, creating: boolean): void {
  const errors: Errors = {};
  const content = body.content;
  if (typeof content === 'string' && content.length > 2000) {
    put(errors, ['content'], 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
  }
  const embeds = body.embeds;
  if (Array.isArray(embeds) && embeds.length > 10) put(errors, ['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  const components = body.components;
  const v2 = typeof body.flags === 'number' && (body.flags & IS_COMPONENTS_V2) !== 0;
  if (Array.isArray(components)) {
    if (!v2 && components.length > 5) put(errors, ['components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 0 and 5 in length.');
    if (!v2) {
      components.forEach((raw, i) => {
        const row = raw as Record<string, unknown>;
        if (row.type !== 1) {
          put(errors, ['components', i], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
          return;
        }
        const children = Array.isArray(row.components) ? row.components : [];
        if (children.length < 1 || children.length > 5) {
          put(errors, ['components', i, 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
        }
        const selects = children.filter((c) => [3, 5, 6, 7, 8].includes((c as { type?: number }).type ?? 0));
        if (selects.length > 0 && children.length > 1) {
          put(errors, ['components', i, 'components'], 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'The specified component exceeds the maximum width');
        }
      });
    }
    checkCustomIds(errors, components, ['components']);
  }
  const allowed = body.allowed_mentions as { parse?: unknown; users?: unknown; roles?: unknown } | undefined;
  if (allowed !== undefined) {
    const parse = Array.isArray(allowed.parse) ? allowed.parse : [];
    // Discord refuses a type both parsed and listed ("users" with users, "roles" with roles).
    for (const kind of ['users', 'roles'] as const) {
      if (parse.includes(kind) && Array.isArray(allowed[kind])) {
        put(errors, ['allowed_mentions', kind], 'SET_TYPE_ALREADY_CONTAINS_VALUE', `parse:[${kind}] and ${kind}: [ids] are mutually exclusive.`);
      }
      if (Array.isArray(allowed[kind]) && (allowed[kind] as unknown[]).length > 100) put(errors, ['allowed_mentions', kind], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
    }
  }
  throwIf(errors);
  if (creating) {
    const empty = !content && !(Array.isArray(embeds) && embeds.length) && !(Array.isArray(components) && components.length) &&
      fileCount === 0 && !body.sticker_ids && !body.poll;
    if (empty) throw new HttpError(400, 50006, 'Cannot send an empty message');
  }
}

export function validateModal(data: Record<string, unknown>): void {
  const errors: Errors = {};
  if (typeof data.custom_id !== 'string' || data.custom_id.length === 0) put(errors, ['data', 'custom_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
  else if (data.custom_id.length > 100) put(errors, ['data', 'custom_id'], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
  if (typeof data.title !== 'string' || data.title.length > 45) put(errors, ['data', 'title'], 'BASE_TYPE_MAX_LENGTH', 'Must be 45 or fewer in length.');
  const components = data.components;
  if (!Array.isArray(components) || components.length < 1 || components.length > 5) {
    put(errors, ['data', 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
  }
  checkCustomIds(errors, components, ['data', 'components']);
  throwIf(errors);
}
