import { randomBytes } from 'node:crypto';
import { blocksError, isObj, withBlockIds } from './blocks.ts';
import { ApiError, type EmulatorCore } from './core.ts';
import type { Obj, SlackView } from './types.ts';

const newHash = (): string => `${Math.floor(Date.now() / 1000)}.${randomBytes(6).toString('hex')}`;

function validate(input: unknown): Obj {
  if (!isObj(input)) throw new ApiError('invalid_arguments');
  if (input.type !== 'modal' && input.type !== 'home') throw new ApiError('invalid_arguments');
  if (input.type === 'modal' && !isObj(input.title)) throw new ApiError('invalid_arguments');
  const err = blocksError(input.blocks, 100);
  if (err) throw new ApiError(err);
  const hasInput = (input.blocks as Obj[]).some((b) => b.type === 'input');
  if (input.type === 'modal' && hasInput && !isObj(input.submit)) throw new ApiError('invalid_arguments');
  if (typeof input.private_metadata === 'string' && input.private_metadata.length > 3000) throw new ApiError('invalid_arguments');
  return input;
}

function content(input: Obj): Pick<SlackView, 'type' | 'callback_id' | 'external_id' | 'blocks' | 'private_metadata' | 'notify_on_close' | 'clear_on_close'> &
  Partial<Pick<SlackView, 'title' | 'submit' | 'close'>> {
  return {
    type: String(input.type),
    callback_id: typeof input.callback_id === 'string' ? input.callback_id : '',
    external_id: typeof input.external_id === 'string' ? input.external_id : '',
    blocks: withBlockIds(input.blocks as Obj[]),
    private_metadata: typeof input.private_metadata === 'string' ? input.private_metadata : '',
    notify_on_close: input.notify_on_close === true,
    clear_on_close: input.clear_on_close === true,
    ...(isObj(input.title) ? { title: input.title } : {}),
    ...(isObj(input.submit) ? { submit: input.submit } : {}),
    ...(isObj(input.close) ? { close: input.close } : {}),
  };
}

/** The view object as Slack sends it (no emulator bookkeeping). */
export function publicView(core: EmulatorCore, v: SlackView): Obj {
  const { user: _u, status: _s, errors: _e, ...rest } = v;
  return { ...rest, app_installed_team_id: core.config.teamId };
}

function create(core: EmulatorCore, user: string, input: unknown, previous?: SlackView): SlackView {
  const id = core.store.nextId('V');
  const view: SlackView = {
    id,
    team_id: core.config.teamId,
    ...content(validate(input)),
    hash: newHash(),
    root_view_id: previous?.root_view_id ?? id,
    previous_view_id: previous?.id ?? null,
    app_id: core.config.appId,
    bot_id: core.config.botId,
    user,
    status: 'open',
    state: { values: {} },
  };
  core.store.state.views.push(view);
  core.store.emit({ kind: 'view.opened', viewId: view.id, user });
  return view;
}

export function findView(core: EmulatorCore, viewId?: unknown, externalId?: unknown): SlackView {
  const view = core.store.state.views.find(
    (v) => (typeof viewId === 'string' && v.id === viewId) || (typeof externalId === 'string' && externalId !== '' && v.external_id === externalId),
  );
  if (!view) throw new ApiError('not_found');
  return view;
}

export function stackOf(core: EmulatorCore, view: SlackView): SlackView[] {
  return core.store.state.views.filter((v) => v.root_view_id === view.root_view_id && v.status === 'open');
}

export function openView(core: EmulatorCore, triggerId: unknown, input: unknown): SlackView {
  const user = core.exchangeTrigger(triggerId);
  return create(core, user, input);
}

export function pushView(core: EmulatorCore, user: string, input: unknown): SlackView {
  const top = core.store.state.views.filter((v) => v.user === user && v.status === 'open' && v.type === 'modal').at(-1);
  if (!top) throw new ApiError('not_found');
  if (stackOf(core, top).length >= 3) throw new ApiError('push_limit_reached');
  return create(core, user, input, top);
}

export function updateView(core: EmulatorCore, view: SlackView, input: unknown, hash?: unknown): SlackView {
  if (typeof hash === 'string' && hash !== '' && hash !== view.hash) throw new ApiError('hash_conflict');
  Object.assign(view, content(validate(input)), { hash: newHash(), state: { values: {} } });
  delete view.errors;
  core.store.emit({ kind: 'view.updated', viewId: view.id, user: view.user });
  return view;
}

export function closeView(core: EmulatorCore, view: SlackView, wholeStack: boolean): void {
  const targets = wholeStack ? stackOf(core, view) : [view];
  for (const v of targets) v.status = 'closed';
  core.store.emit({ kind: 'view.closed', viewId: view.id, user: view.user });
}

/** Applies a view_submission ack (response_action errors/update/push/clear, or close). */
export function applyResponseAction(core: EmulatorCore, view: SlackView, ack: unknown): void {
  const action = isObj(ack) ? ack.response_action : undefined;
  const a = ack as Obj;
  switch (action) {
    case 'errors':
      view.errors = isObj(a.errors) ? (a.errors as Record<string, string>) : {};
      core.store.emit({ kind: 'view.errors', viewId: view.id, user: view.user });
      return;
    case 'update':
      updateView(core, view, a.view);
      return;
    case 'push':
      create(core, view.user, a.view, view);
      return;
    case 'clear':
      closeView(core, view, true);
      return;
    default:
      delete view.errors;
      closeView(core, view, false);
  }
}
