import { buildViewValues } from './blocks.ts';
import type { Actors } from './actors.ts';
import type { EmulatorCore } from './core.ts';
import type { DeliveryHub } from './delivery.ts';
import type { DeliveryResult, SlackView } from './types.ts';
import { applyResponseAction, closeView, publicView, stackOf } from './views.ts';

function openViewFor(core: EmulatorCore, viewId: string, user?: string): SlackView {
  const view = core.store.state.views.find((v) => v.id === viewId);
  if (!view || view.status !== 'open') throw new Error(`slack emulator: view ${viewId} is not open`);
  if (user !== undefined && view.user !== user) throw new Error(`slack emulator: view ${viewId} is open for ${view.user}, not ${user}`);
  return view;
}

/**
 * The user submits an open modal: values (by action_id, or block_id → action_id) become view.state.values;
 * the ack's response_action is applied (errors are recorded and keep the view open).
 */
export async function userSubmitsView(
  core: EmulatorCore,
  hub: DeliveryHub,
  actors: Actors,
  opts: { user?: string; viewId: string; values?: Record<string, unknown> },
): Promise<DeliveryResult> {
  const view = openViewFor(core, opts.viewId, opts.user);
  const u = actors.user(view.user);
  view.state = { values: buildViewValues(view.blocks, opts.values ?? {}) };
  const payload = {
    ...actors.interactive('view_submission', u),
    view: publicView(core, view),
    response_urls: [],
  };
  const result = await hub.send('interactive', payload);
  if (result.acked) applyResponseAction(core, view, result.payload);
  return result;
}

/** The user closes a modal; `view_closed` is delivered only when the view asked for notify_on_close. */
export async function userClosesView(
  core: EmulatorCore,
  hub: DeliveryHub,
  actors: Actors,
  opts: { user?: string; viewId: string },
): Promise<DeliveryResult> {
  const view = openViewFor(core, opts.viewId, opts.user);
  const u = actors.user(view.user);
  const cleared = view.clear_on_close || stackOf(core, view).length === 1;
  closeView(core, view, view.clear_on_close);
  if (!view.notify_on_close) {
    return { deliveryId: '', envelopeId: '', type: 'interactive', delivered: false, acked: false, retryAttempt: 0 };
  }
  const { trigger_id: _t, ...base } = actors.interactive('view_closed', u);
  return hub.send('interactive', { ...base, view: publicView(core, view), is_cleared: cleared });
}
