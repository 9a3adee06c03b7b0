import type { CommandDeclaration, ShortcutDeclaration } from '../port.ts';
import { truncate } from './render.ts';

/**
 * The Slack app manifest, built from the same command and shortcut declarations that register
 * Discord's commands, so the two platforms never disagree about what Herald can do.
 * `npm run slack:manifest` writes it (src/cli/slack-manifest.ts).
 */

export interface SlackManifestOptions {
  commands: readonly CommandDeclaration[];
  shortcuts: readonly ShortcutDeclaration[];
  appName?: string;
  description?: string;
  /** Socket Mode (no public URL) or HTTP mode (requestUrl receives events, commands and interactivity). */
  socketMode: boolean;
  requestUrl?: string;
}

export interface SlackManifest {
  _metadata: { major_version: number; minor_version: number };
  display_information: { name: string; description: string; background_color: string };
  features: {
    bot_user: { display_name: string; always_online: boolean };
    /** Absent when there is none: the schema wants at least one item. */
    slash_commands?: { command: string; description: string; usage_hint?: string; should_escape: boolean; url?: string }[];
    shortcuts?: { name: string; type: 'message'; callback_id: string; description: string }[];
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { bot_events: string[]; request_url?: string };
    interactivity: { is_enabled: boolean; request_url?: string };
    org_deploy_enabled: boolean;
    socket_mode_enabled: boolean;
    token_rotation_enabled: boolean;
  };
}

/** Every scope a Web API call or event subscription of the adapter needs, and nothing more. */
export const SLACK_BOT_SCOPES = [
  'app_mentions:read', // app_mention events
  'channels:history', // message.channels events
  'chat:write', // chat.postMessage, chat.update, chat.postEphemeral
  'chat:write.public', // post in public channels Herald was not invited to
  'commands', // slash commands and message shortcuts
  'files:read', // the files people attach to messages Herald turns into drafts
  'files:write', // files.uploadV2 (charts, previews)
  'groups:history', // message.groups events (private channels)
  'im:history', // message.im events
  'im:write', // conversations.open for direct messages
  'reactions:read', // reaction_added events
  'usergroups:read', // usergroups.list for permission checks
  'users:read', // users.info for admin checks, names and locales
] as const;

export const SLACK_BOT_EVENTS = ['app_mention', 'message.channels', 'message.groups', 'message.im', 'reaction_added'] as const;

/** From Slack's manifest schema (slackapi/manifest-schema, v1). */
const LIMITS = { appName: 35, description: 140, command: 32, commandDescription: 2_000, usageHint: 1_000, shortcutName: 24, shortcutDescription: 150 } as const;

export function buildSlackManifest(options: SlackManifestOptions): SlackManifest {
  if (!options.socketMode && !options.requestUrl) {
    throw new Error('An HTTP-mode Slack manifest needs requestUrl (https://<host>/slack/events)');
  }
  const name = truncate(options.appName ?? 'Herald', LIMITS.appName);
  const url = options.socketMode ? undefined : options.requestUrl;
  const commands = slashCommands(options.commands, url);
  const shortcuts = options.shortcuts.map((s) => ({
    name: truncate(s.name, LIMITS.shortcutName),
    type: 'message' as const,
    callback_id: s.id,
    description: truncate(s.description, LIMITS.shortcutDescription),
  }));
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name,
      description: truncate(options.description ?? 'Chat-ops for social media teams: drafts, approvals, publishing, inbox and reports.', LIMITS.description),
      background_color: '#1d3557',
    },
    features: {
      bot_user: { display_name: name, always_online: true },
      ...(commands.length > 0 ? { slash_commands: commands } : {}),
      ...(shortcuts.length > 0 ? { shortcuts } : {}),
    },
    oauth_config: { scopes: { bot: [...SLACK_BOT_SCOPES] } },
    settings: {
      event_subscriptions: { bot_events: [...SLACK_BOT_EVENTS], ...(url ? { request_url: url } : {}) },
      interactivity: { is_enabled: true, ...(url ? { request_url: url } : {}) },
      org_deploy_enabled: false,
      socket_mode_enabled: options.socketMode,
      token_rotation_enabled: false,
    },
  };
}

/** "herald ping" and "herald help" become one /herald command whose usage hint lists the sub-commands. */
function slashCommands(commands: readonly CommandDeclaration[], url: string | undefined): NonNullable<SlackManifest['features']['slash_commands']> {
  const roots = new Map<string, { own?: CommandDeclaration; subs: { name: string; declaration: CommandDeclaration }[] }>();
  for (const declaration of commands) {
    const [root = '', sub] = declaration.name.trim().split(/\s+/);
    if (!root) continue;
    if (root.length + 1 > LIMITS.command) throw new Error(`Slack slash commands have at most ${LIMITS.command - 1} characters after the slash: /${root}`);
    const entry = roots.get(root) ?? { subs: [] };
    if (sub) entry.subs.push({ name: sub, declaration });
    else entry.own = declaration;
    roots.set(root, entry);
  }
  return [...roots.entries()].map(([root, { own, subs }]) => {
    // Without a root command of its own, the autocomplete line names what the sub-commands are.
    const description = own?.description ?? subs.map((s) => s.name).join(' · ');
    const hint = [
      ...(own && own.options.length > 0 ? [optionHint(own)] : []),
      ...subs.map(({ name, declaration }) => [name, optionHint(declaration)].filter(Boolean).join(' ')),
    ].join(' | ');
    return {
      command: `/${root}`,
      description: truncate(description, LIMITS.commandDescription),
      ...(hint ? { usage_hint: truncate(hint, LIMITS.usageHint) } : {}),
      // Mentions arrive as ids (<@U…>, <!subteam^S…>): options such as approvers name people and groups.
      should_escape: true,
      ...(url ? { url } : {}),
    };
  });
}

function optionHint(declaration: CommandDeclaration): string {
  return declaration.options
    .map((option) => {
      const value = option.choices?.length ? option.choices.join('|') : `<${option.name}>`;
      const token = `${option.name}:${value}`;
      return option.required ? token : `[${token}]`;
    })
    .join(' ');
}
