/**
 * The REST client Herald talks to Discord with, on its own undici Agent.
 *
 * Bolt's Socket Mode brings a newer undici that can become the process-wide dispatcher; discord.js
 * uploads (FormData from @discordjs/rest's undici) then fail with "action is not a function". So the
 * Agent comes from the undici copy @discordjs/rest itself depends on, resolved through discord.js.
 */
import { createRequire } from 'node:module';
import { REST } from 'discord.js';
import type { RESTOptions } from 'discord.js';

type Dispatcher = NonNullable<RESTOptions['agent']>;
type Agent = Dispatcher & { close(): Promise<void> };

const fromHere = createRequire(import.meta.url);
const fromDiscordJs = createRequire(fromHere.resolve('discord.js'));
const fromRest = createRequire(fromDiscordJs.resolve('@discordjs/rest'));
const { Agent: RestAgent } = fromRest('undici') as { Agent: new () => Agent };

export interface RestClient {
  /** For Herald's own calls: messages, threads, DMs, members, commands, interaction answers. */
  readonly rest: REST;
  /** For the gateway Client's REST (gateway URL, internals): same API URL, same agent. */
  options(): Partial<RESTOptions>;
  /** Closes the sockets; a fresh agent takes over, so the adapter can start again. */
  close(): Promise<void>;
}

export function createRestClient(input: { token: string; apiUrl?: string }): RestClient {
  let agent = new RestAgent();
  const base: Partial<RESTOptions> = { version: '10', ...(input.apiUrl ? { api: input.apiUrl } : {}) };
  const rest = new REST({ ...base, agent }).setToken(input.token);
  return {
    rest,
    options: () => ({ ...base, agent }),
    async close() {
      const old = agent;
      agent = new RestAgent();
      rest.setAgent(agent);
      await old.close().catch(() => undefined);
    },
  };
}
