import { z } from 'zod';
import type { FormField } from '../chat/model.ts';
import { networkIds, type NetworkId } from '../core/networks.ts';
import type { Logger } from '../log.ts';
import { createBlueskyNetwork } from './bluesky/index.ts';
import { createMastodonNetwork } from './mastodon/index.ts';
import { createSandboxNetwork } from './sandbox/index.ts';
import type { SocialNetwork } from './port.ts';

/**
 * The networks Herald can connect accounts on: what to ask for in the private connect form, how
 * to check the answers, and how to build a connector from them.
 */
export interface Connector {
  readonly network: NetworkId;
  readonly label: string;
  /** Fields of the connect form; secrets go into forms only, never into visible messages. */
  readonly fields: readonly FormField[];
  readonly credentials: z.ZodType<Record<string, string>>;
  create(credentials: Record<string, string>, log: Logger): SocialNetwork;
}

const url = z.url({ protocol: /^https?$/ }).transform((value) => value.replace(/\/+$/, ''));

export const connectors: Partial<Record<NetworkId, Connector>> = {
  bluesky: {
    network: 'bluesky',
    label: 'Bluesky',
    fields: [
      { kind: 'text', id: 'identifier', label: 'Handle (e.g. brand.bsky.social)', required: true, maxLength: 253 },
      { kind: 'text', id: 'password', label: 'App password (Settings → App passwords)', required: true, maxLength: 64 },
      { kind: 'text', id: 'service', label: 'PDS URL', required: false, initial: 'https://bsky.social', maxLength: 200 },
    ],
    credentials: z.object({ identifier: z.string().trim().min(3).max(253), password: z.string().trim().min(4).max(64), service: url.optional().default('https://bsky.social') }),
    create: (credentials, log) => createBlueskyNetwork({ service: credentials.service ?? 'https://bsky.social', identifier: credentials.identifier ?? '', password: credentials.password ?? '', log }),
  },
  mastodon: {
    network: 'mastodon',
    label: 'Mastodon',
    fields: [
      { kind: 'text', id: 'instanceUrl', label: 'Instance URL (e.g. https://mastodon.social)', required: true, maxLength: 200 },
      { kind: 'text', id: 'accessToken', label: 'Access token (Preferences → Development)', required: true, maxLength: 200 },
    ],
    credentials: z.object({ instanceUrl: url, accessToken: z.string().trim().min(8).max(200) }),
    create: (credentials, log) => createMastodonNetwork({ instanceUrl: credentials.instanceUrl ?? '', accessToken: credentials.accessToken ?? '', log }),
  },
};

/**
 * The sandbox's simulated network. Not in `connectors`: only a Herald started by the sandbox offers
 * it (enableConnector), so a real workspace never sees it.
 */
export const sandboxConnector: Connector = {
  network: 'sandbox',
  label: 'Sandbox network',
  fields: [
    { kind: 'text', id: 'service', label: 'Network API URL', required: true, maxLength: 200 },
    { kind: 'text', id: 'token', label: 'Access token', required: true, maxLength: 200 },
  ],
  credentials: z.object({ service: url, token: z.string().trim().min(8).max(200) }),
  create: (credentials, log) => createSandboxNetwork({ service: credentials.service ?? '', token: credentials.token ?? '', log }),
};

/** Offers one more connector in this process (the sandbox's). */
export function enableConnector(connector: Connector): void {
  connectors[connector.network] = connector;
}

/** The networks people may name in drafts and settings: every one but the sandbox's, outside a sandbox. */
export function offeredNetworkIds(): NetworkId[] {
  return networkIds.filter((id) => id !== 'sandbox' || connectors.sandbox);
}

export function connectorFor(network: NetworkId): Connector | undefined {
  return connectors[network];
}

/** A client for a connected account (undefined for a network Herald has no connector for), logging with its ids. */
export function clientFor(account: { id: string; network: NetworkId }, credentials: Record<string, string>, log: Logger): SocialNetwork | undefined {
  return connectors[account.network]?.create(credentials, log.child({ network: account.network, account: account.id }));
}
