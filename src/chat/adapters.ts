import type { Config } from '../config.ts';
import type { RequestHandler } from '../http/server.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { createDiscordAdapter } from './discord/adapter.ts';
import type { ChatAdapter, Platform } from './port.ts';
import { createSlackAdapter } from './slack/adapter.ts';

export interface ChatDeps {
  log: Logger;
  metrics: Metrics;
  /** Herald's HTTP server, for Slack's HTTP mode. */
  mount: (prefix: string, handler: RequestHandler) => void;
}

/** One adapter per platform the configuration names; none when no credentials are set. */
export function createChatAdapters(config: Config, deps: ChatDeps): ChatAdapter[] {
  const adapters: ChatAdapter[] = [];
  if (config.SLACK_BOT_TOKEN) {
    adapters.push(
      createSlackAdapter({
        botToken: config.SLACK_BOT_TOKEN,
        ...(config.SLACK_APP_TOKEN ? { appToken: config.SLACK_APP_TOKEN } : {}),
        ...(config.SLACK_SIGNING_SECRET ? { signingSecret: config.SLACK_SIGNING_SECRET } : {}),
        ...(config.SLACK_API_URL ? { apiUrl: config.SLACK_API_URL } : {}),
        mount: deps.mount,
        log: deps.log.child({ platform: 'slack' }),
        metrics: deps.metrics,
      }),
    );
  }
  if (config.DISCORD_TOKEN) {
    adapters.push(
      createDiscordAdapter({
        token: config.DISCORD_TOKEN,
        ...(config.DISCORD_API_URL ? { apiUrl: config.DISCORD_API_URL } : {}),
        ...(config.DISCORD_GUILD_ID ? { guildId: config.DISCORD_GUILD_ID } : {}),
        log: deps.log.child({ platform: 'discord' }),
        metrics: deps.metrics,
      }),
    );
  }
  return adapters;
}

/** The adapters by platform, for flows that post to a stored ConversationRef. */
export interface ChatDirectory {
  get(platform: Platform): ChatAdapter | undefined;
  all(): readonly ChatAdapter[];
}

/** Reads the list on every call: adapters are created after the flows are given the directory. */
export function createChatDirectory(adapters: readonly ChatAdapter[]): ChatDirectory {
  return { get: (platform) => adapters.find((adapter) => adapter.platform === platform), all: () => adapters };
}
