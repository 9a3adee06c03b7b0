import { encodeActionId } from '../src/chat/action-id.ts';
import type { CardAction, Message } from '../src/chat/model.ts';
import type { ActionClicked, ChatAdapter, FormResult, FormSubmitted } from '../src/chat/port.ts';
import { UserError } from '../src/core/errors.ts';
import { isNetworkId, networks } from '../src/core/networks.ts';
import { defineFlow, type FlowContext } from '../src/flow.ts';
import { translator, type Translate } from '../src/i18n/catalogue.ts';
import { connectorFor, connectors } from '../src/networks/index.ts';
import { NetworkError } from '../src/networks/port.ts';
import type { Account } from '../src/store/accounts.ts';
import { EncryptionKeyError } from '../src/store/crypto.ts';
import { scheduleFetches } from './inbox.ts';
import { JobNames } from '../src/jobs/names.ts';

export const ACCOUNTS = 'accounts';

/** The accounts a workspace has connected, their health, and the buttons to connect more. */
export function accountsMessage(accounts: readonly Account[], t: Translate): Message {
  const lines = accounts.map((a) => `${a.health === 'ok' ? '🟢' : '🔴'} ${networks[a.network].label} · ${a.handle}${a.health === 'failing' ? ` · ${a.healthReason ?? ''}` : ''}`);
  const actions: CardAction[] = Object.values(connectors).map((connector) => ({
    kind: 'button',
    actionId: encodeActionId({ flow: ACCOUNTS, action: 'connect', entityId: connector.network }),
    label: t('accounts.connect', { network: connector.label }),
  }));
  if (accounts.length > 0) {
    actions.push({
      kind: 'select',
      actionId: encodeActionId({ flow: ACCOUNTS, action: 'remove', entityId: 'any' }),
      placeholder: t('accounts.remove'),
      options: accounts.map((a) => ({ label: `${networks[a.network].label} · ${a.handle}`.slice(0, 75), value: a.id })),
    });
  }
  const body = lines.length ? lines.join('\n') : t('accounts.none');
  return { text: `${t('accounts.title')}\n${body}`, card: { title: t('accounts.title'), body, actions } };
}

async function requireAdmin(chat: ChatAdapter, event: ActionClicked | FormSubmitted, t: Translate): Promise<void> {
  const membership = await chat.membership(event.actor.ref);
  if (!membership.isAdmin) throw new UserError('admins_only', t('chat.permissionDenied', { requirement: t('chat.requirement.admin'), command: 'herald accounts' }));
}

async function onAction(app: FlowContext, event: ActionClicked, action: string, entityId: string, chat: ChatAdapter): Promise<void> {
  const t = translator(event.actor.locale);
  await requireAdmin(chat, event, t);
  if (action === 'connect') {
    const connector = isNetworkId(entityId) ? connectorFor(entityId) : undefined;
    if (!connector) throw new UserError('unknown_network', t('chat.staleAction'));
    // Credentials are typed into a private form only, never into a message others can see.
    return event.respond.openForm({
      id: encodeActionId({ flow: ACCOUNTS, action: 'save', entityId: connector.network }),
      title: t('accounts.connect', { network: connector.label }),
      submitLabel: t('accounts.connectSubmit'),
      fields: [...connector.fields],
    });
  }
  if (action === 'remove' && event.value) {
    const workspace = `${event.channel.platform}:${event.channel.workspace}`;
    const account = await app.stores.accounts.get(event.value);
    if (!account || account.workspace !== workspace) throw new UserError('missing', t('accounts.missing'));
    await app.stores.accounts.remove(account.id);
    await app.scheduler.cancel(JobNames.inboxFetch, { accountId: account.id });
    app.log.info({ account: account.id, network: account.network, by: event.actor.ref.user }, 'account removed');
    await event.respond.ephemeral(accountsMessage(await app.stores.accounts.list(workspace), t));
    return;
  }
  throw new UserError('unknown_action', t('chat.staleAction'));
}

async function onForm(app: FlowContext, event: FormSubmitted, entityId: string, chat: ChatAdapter): Promise<FormResult | void> {
  const t = translator(event.actor.locale);
  await requireAdmin(chat, event, t);
  const connector = isNetworkId(entityId) ? connectorFor(entityId) : undefined;
  if (!connector) throw new UserError('unknown_network', t('chat.staleAction'));
  const parsed = connector.credentials.safeParse(Object.fromEntries(Object.entries(event.values).filter(([, v]) => v !== undefined && v !== '')));
  if (!parsed.success) return { errors: Object.fromEntries(parsed.error.issues.map((issue) => [String(issue.path[0]), issue.message])) };
  const log = app.log.child({ network: connector.network, user: event.actor.ref.user });
  let info;
  try {
    info = await connector.create(parsed.data, log).verify();
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    const field = connector.fields.find((f) => /password|token/i.test(f.id))?.id ?? connector.fields[0]!.id;
    log.info({ failure: error.failure }, 'account connection refused by the network');
    return { errors: { [field]: t(`delivery.reason.${error.failure}`, { detail: error.message }) } };
  }
  const ws = `${event.actor.ref.platform}:${event.actor.ref.workspace}`;
  try {
    const account = await app.stores.accounts.connect({ workspace: ws, network: connector.network, handle: info.handle, ...(info.displayName ? { displayName: info.displayName } : {}), connectedBy: event.actor.ref.user, credentials: parsed.data });
    log.info({ account: account.id, handle: info.handle }, 'account connected');
    await scheduleFetches(app, [account.id]);
    await event.respond.ephemeral({ text: t('accounts.connected', { network: connector.label, handle: info.handle, followers: info.followers ?? '—' }) });
  } catch (error) {
    if (error instanceof EncryptionKeyError) throw new UserError('no_key', error.message);
    throw error;
  }
}

export default defineFlow({
  name: ACCOUNTS,
  chat: (app) => ({
    actions: { [ACCOUNTS]: (event, id, chat) => onAction(app, event, id.action, id.entityId, chat) },
    forms: { [ACCOUNTS]: (event, id, chat) => onForm(app, event, id.entityId, chat) },
  }),
});
