import { allCommands, allShortcuts } from '../../commands/index.ts';
import { createDiscordAdapter } from '../chat/discord/adapter.ts';
import { createCommandRegistry } from '../chat/registry.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';

/**
 * `npm run discord:register`: registers Herald's application commands (slash commands and message
 * context-menu commands) with Discord: in DISCORD_GUILD_ID at once when set, else globally.
 * Herald also does this at every start; this is for setting up before the first start.
 */
try {
  const config = loadConfig(process.env);
  if (!config.DISCORD_TOKEN) {
    process.stderr.write('DISCORD_TOKEN is not set: nothing to register. See the README, "Create the Discord application".\n');
    process.exit(2);
  }
  const log = createLogger({ level: config.LOG_LEVEL ?? 'info', format: 'pretty' });
  const adapter = createDiscordAdapter({
    token: config.DISCORD_TOKEN,
    ...(config.DISCORD_API_URL ? { apiUrl: config.DISCORD_API_URL } : {}),
    ...(config.DISCORD_GUILD_ID ? { guildId: config.DISCORD_GUILD_ID } : {}),
    log,
    metrics: createMetrics({ defaultMetrics: false }),
  });
  const registry = createCommandRegistry(allCommands);
  await adapter.start(async () => undefined);
  try {
    await adapter.registerCommands(registry.declarations(), allShortcuts);
  } finally {
    await adapter.stop();
  }
  process.stdout.write(`Registered ${registry.commands.length} commands and ${allShortcuts.length} context-menu commands ${config.DISCORD_GUILD_ID ? `in guild ${config.DISCORD_GUILD_ID}` : 'globally (may take up to an hour to show)'}.\n`);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Registration failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
