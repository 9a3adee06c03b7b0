/** Interaction callbacks and the interaction webhook (original response, follow-ups). */
import { HttpError, notFound } from './http.ts';
import type { Req, Router } from './http.ts';
import { apiMessage } from './render.ts';
import { messageInput } from './rest.ts';
import type { Ctx } from './rest.ts';
import type { InteractionEdit, InteractionRecord, MessageRecord } from './state.ts';
import { validateModal } from './validation.ts';

const EPHEMERAL = 64;
const LOADING = 128;

export interface InteractionResponseView {
  interactionId: string;
  /** Callback type the bot answered with (4 message, 5 deferred, 6 deferred update, 7 update, 9 modal), null if not yet. */
  type: number | null;
  data: Record<string, unknown> | null;
  ephemeral: boolean;
  modal: Record<string, unknown> | null;
  /** Current state of the original response message (for 6/7: the component's message). */
  original: Record<string, unknown> | null;
  followups: Record<string, unknown>[];
  edits: InteractionEdit[];
}

export function responseView(ctx: Ctx, rec: InteractionRecord): InteractionResponseView {
  const state = ctx.store.state;
  const original = rec.original_message_id && !rec.original_deleted ? ctx.store.anyMessage(rec.original_message_id) : undefined;
  return {
    interactionId: rec.id,
    type: rec.response?.type ?? null,
    data: rec.response?.data ?? null,
    ephemeral: rec.response?.ephemeral ?? false,
    modal: rec.modal ?? null,
    original: original ? apiMessage(state, original) : null,
    followups: rec.followup_ids.map((id) => ctx.store.anyMessage(id)).filter((m) => m !== undefined).map((m) => apiMessage(state, m)),
    edits: rec.edits,
  };
}

export function registerInteractions(router: Router, ctx: Ctx, options: { timeoutMs: number }): void {
  const { store } = ctx;
  const state = store.state;

  const byToken = (r: Req): InteractionRecord => {
    const rec = Object.values(state.interactions).find((i) => i.token === r.params.token);
    if (!rec || r.params.app !== state.application_id) throw notFound('Webhook', 10015);
    return rec;
  };
  const respond = (rec: InteractionRecord, r: Req, type: number, data: Record<string, unknown> | null, ephemeral: boolean, msg?: MessageRecord) => {
    rec.response = { type, data, ephemeral, at: Date.now() };
    if (msg) rec.original_message_id = msg.id;
    store.changed();
    if (r.query.get('with_response') !== 'true') return { status: 204 };
    return {
      status: 200,
      body: {
        interaction: {
          id: rec.id, type: rec.type, activity_instance_id: null, ...(msg ? { response_message_id: msg.id, response_message_loading: (msg.flags & LOADING) !== 0, response_message_ephemeral: ephemeral } : {}),
        },
        resource: { type, ...(msg ? { message: apiMessage(state, msg) } : {}) },
      },
    };
  };
  const newMessage = (rec: InteractionRecord, r: Req, followup: boolean) => {
    const input = messageInput(ctx, r, rec.channel_id, true);
    const ephemeral = ((input.flags ?? 0) & EPHEMERAL) !== 0;
    const command = rec.type === 2 && !followup ? ((rec.payload.data as { type?: number }).type === 1 ? 20 : 23) : 0;
    return store.createMessage({
      channelId: rec.channel_id, authorId: state.bot_user_id, ...input, type: command, webhook_id: state.application_id,
      application_id: state.application_id, interaction_id: rec.id, ephemeral,
    });
  };

  router.add('POST', '/interactions/:id/:token/callback', (r) => {
    const rec = state.interactions[r.params.id!];
    if (!rec || rec.token !== r.params.token) throw notFound('interaction', 10062);
    if (rec.response) throw new HttpError(400, 40060, 'Interaction has already been acknowledged.');
    if (Date.now() - rec.created_at > options.timeoutMs) throw notFound('interaction', 10062);
    const type = r.body.type;
    const data = (r.body.data ?? null) as Record<string, unknown> | null;
    const ephemeral = typeof data?.flags === 'number' && (data.flags & EPHEMERAL) !== 0;
    const componentMessage = rec.message_id ? store.findMessage(rec.channel_id, rec.message_id) : undefined;
    switch (type) {
      case 1:
        return respond(rec, r, 1, null, false);
      case 4:
        return respond(rec, r, 4, data, ephemeral, newMessage(rec, { ...r, body: data ?? {} }, false));
      case 5: {
        const msg = store.createMessage({
          channelId: rec.channel_id, authorId: state.bot_user_id, flags: LOADING | (ephemeral ? EPHEMERAL : 0), type: rec.type === 2 ? 20 : 0,
          webhook_id: state.application_id, application_id: state.application_id, interaction_id: rec.id, ephemeral,
        });
        return respond(rec, r, 5, data, ephemeral, msg);
      }
      case 6:
      case 7: {
        if (!componentMessage) throw new HttpError(400, 40004, 'Interaction response type is only valid for component interactions');
        if (type === 7) store.editMessage(componentMessage, messageInput(ctx, { ...r, body: data ?? {} }, rec.channel_id, false, componentMessage));
        return respond(rec, r, type, data, componentMessage.ephemeral === true, componentMessage);
      }
      case 8:
        return respond(rec, r, 8, data, false);
      case 9: {
        if (rec.type === 5) throw new HttpError(400, 50035, 'Invalid Form Body', { type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Cannot respond to a modal submit with a modal' }] } });
        validateModal(data ?? {});
        rec.modal = structuredClone(data ?? {});
        return respond(rec, r, 9, data, false);
      }
      default:
        throw new HttpError(400, 50035, 'Invalid Form Body', { type: { _errors: [{ code: 'BASE_TYPE_CHOICES', message: `Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.` }] } });
    }
  }, false);

  const target = (rec: InteractionRecord, mid: string): MessageRecord => {
    const id = mid === '@original' ? (rec.original_deleted ? undefined : rec.original_message_id) : rec.followup_ids.find((f) => f === mid);
    const msg = id ? store.anyMessage(id) : undefined;
    if (!msg) throw notFound('Message', 10008);
    return msg;
  };
  const edit = (rec: InteractionRecord, mid: string, r: Req) => {
    const msg = target(rec, mid);
    const input = messageInput(ctx, r, msg.channel_id, false, msg);
    rec.edits.push({ target: mid, data: structuredClone(r.body), at: Date.now() });
    if (msg.flags & LOADING) {
      msg.flags &= ~LOADING;
      if (input.flags !== undefined) input.flags &= ~LOADING;
    }
    store.editMessage(msg, input);
    return { status: 200, body: apiMessage(state, msg) };
  };
  for (const mid of ['@original', ':mid']) {
    const path = `/webhooks/:app/:token/messages/${mid}`;
    router.add('GET', path, (r) => ({ status: 200, body: apiMessage(state, target(byToken(r), r.params.mid ?? '@original')) }), false);
    router.add('PATCH', path, (r) => edit(byToken(r), r.params.mid ?? '@original', r), false);
    router.add('DELETE', path, (r) => {
      const rec = byToken(r);
      const mid = r.params.mid ?? '@original';
      store.deleteMessage(target(rec, mid));
      if (mid === '@original') rec.original_deleted = true;
      else rec.followup_ids = rec.followup_ids.filter((f) => f !== mid);
      store.changed();
      return { status: 204 };
    }, false);
  }
  router.add('POST', '/webhooks/:app/:token', (r) => {
    const rec = byToken(r);
    if (!rec.response) throw notFound('Webhook', 10015);
    const original = rec.original_message_id && !rec.original_deleted ? store.anyMessage(rec.original_message_id) : undefined;
    // Like Discord: the first follow-up after a deferred reply replaces the "thinking…" message.
    if (original && rec.response.type === 5 && original.flags & LOADING) return edit(rec, '@original', r);
    const msg = newMessage(rec, r, true);
    rec.followup_ids.push(msg.id);
    store.changed();
    return r.query.get('wait') === 'false' ? { status: 204 } : { status: 200, body: apiMessage(state, msg) };
  }, false);
}
