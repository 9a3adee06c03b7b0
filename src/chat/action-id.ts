import { LIMITS } from './model.ts';

/**
 * Buttons survive restarts because their ids carry everything a handler needs: the flow, the action
 * and the entity, as "flow:action:entityId" (≤ 100 characters, Discord's custom_id limit).
 */
export interface ActionId {
  flow: string;
  action: string;
  entityId: string;
}

const part = /^[a-z0-9][a-z0-9._-]*$/;

export function encodeActionId({ flow, action, entityId }: ActionId): string {
  if (!part.test(flow) || !part.test(action)) throw new Error(`flow and action must be lowercase words: ${flow}:${action}`);
  if (entityId.length === 0 || /[\s]/.test(entityId)) throw new Error(`entity id must be non-empty without spaces: "${entityId}"`);
  const encoded = `${flow}:${action}:${entityId}`;
  if (encoded.length > LIMITS.actionId) throw new Error(`action id longer than ${LIMITS.actionId} characters: ${encoded}`);
  return encoded;
}

/** Returns undefined for anything that is not an action id Herald made (stale, foreign, tampered). */
export function decodeActionId(value: string): ActionId | undefined {
  if (value.length > LIMITS.actionId) return undefined;
  const first = value.indexOf(':');
  const second = value.indexOf(':', first + 1);
  if (first <= 0 || second <= first + 1 || second === value.length - 1) return undefined;
  const flow = value.slice(0, first);
  const action = value.slice(first + 1, second);
  const entityId = value.slice(second + 1);
  if (!part.test(flow) || !part.test(action) || /\s/.test(entityId)) return undefined;
  return { flow, action, entityId };
}
