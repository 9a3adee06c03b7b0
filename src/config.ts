import { z } from 'zod';

/**
 * The whole of Herald's configuration. Nothing else reads process.env: every variable is named
 * here once, with its default and the hint people see when it is wrong.
 */
const port = z.coerce.number().int().min(0).max(65_535);
const positiveMs = z.coerce.number().int().positive();

const emptyAsUndefined = (value: unknown): unknown => (value === '' ? undefined : value);

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional()),
  LOG_FORMAT: z.preprocess(emptyAsUndefined, z.enum(['json', 'pretty']).optional()),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: port.default(3000),
  MONGODB_URI: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\/.+/, 'must start with mongodb:// or mongodb+srv://')
      .optional(),
  ),
  MONGODB_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only, at most 63 characters')
    .default('herald'),
  HERALD_DATA_DIR: z.string().min(1).default('./data'),
  SCHEDULER_POLL_MS: positiveMs.default(5_000),
  SCHEDULER_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(20),
  SCHEDULER_HORIZON_MS: positiveMs.default(30_000),
  SHUTDOWN_TIMEOUT_MS: positiveMs.default(25_000),
  LEDGER_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  SLACK_BOT_TOKEN: z.preprocess(emptyAsUndefined, z.string().startsWith('xoxb-', 'must start with xoxb-').optional()),
  SLACK_APP_TOKEN: z.preprocess(emptyAsUndefined, z.string().startsWith('xapp-', 'must start with xapp-').optional()),
  SLACK_SIGNING_SECRET: z.preprocess(emptyAsUndefined, z.string().min(8, 'looks too short').optional()),
  SLACK_API_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  DISCORD_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(20, 'looks too short').optional()),
  DISCORD_API_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  DISCORD_GUILD_ID: z.preprocess(emptyAsUndefined, z.string().regex(/^\d{5,25}$/, 'must be a numeric Discord id').optional()),
  OPENAI_BASE_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  OPENAI_API_KEY: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  OPENAI_MODEL: z.preprocess(emptyAsUndefined, z.string().min(1).max(200).optional()),
  OPENAI_TIMEOUT_MS: positiveMs.default(30_000),
  HERALD_ENCRYPTION_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine((raw) => (/^[0-9a-fA-F]{64}$/.test(raw) ? true : Buffer.from(raw, 'base64').length === 32), 'must be 32 bytes as 64 hex or 44 base64 characters')
      .optional(),
  ),
  PUBLISH_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
  PUBLISH_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  INBOX_POLL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  INBOX_STREAMING: z.enum(['on', 'off']).default('on'),
  INBOX_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  INBOX_NOTE_PREFIX: z.string().min(1).max(10).default('//'),
  INBOX_RISKY_FOLLOWERS: z.coerce.number().int().min(0).default(10_000),
  CHAT_MESSAGES_PER_SECOND: z.coerce.number().positive().max(50).default(1),
  METRICS_RETENTION_DAYS: z.coerce.number().int().min(8).max(3_650).default(400),
  DIGEST_CHECK_SECONDS: z.coerce.number().int().min(1).max(3_600).default(300),
  HERALD_SANDBOX: z.enum(['auto', 'on', 'off']).default('auto'),
  SANDBOX_PORT: port.default(3100),
});

export type Config = z.infer<typeof configSchema>;

/** What to tell a person about each variable when its value is missing or wrong. */
const hints: Record<keyof Config, string> = {
  NODE_ENV: 'one of development, production, test',
  LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent (default: info; warn in the sandbox)',
  LOG_FORMAT: 'json or pretty (default: pretty in development, json otherwise)',
  HTTP_HOST: 'the address the HTTP server binds to, e.g. 127.0.0.1 or 0.0.0.0',
  HTTP_PORT: 'a TCP port number, e.g. 3000 (0 picks a free port)',
  MONGODB_URI: 'a MongoDB connection string such as mongodb://127.0.0.1:27017/?replicaSet=rs0, or unset for the embedded database',
  MONGODB_DB: 'the database name, e.g. herald',
  HERALD_DATA_DIR: 'a folder for the embedded database, e.g. ./data',
  SCHEDULER_POLL_MS: 'milliseconds between job polls, e.g. 5000',
  SCHEDULER_MAX_CONCURRENCY: 'how many jobs one process runs at once, 1 to 1000',
  SCHEDULER_HORIZON_MS: 'milliseconds ahead within which a one-off job waits in the scheduler’s own queue, e.g. 30000',
  SHUTDOWN_TIMEOUT_MS: 'milliseconds to wait for running jobs on shutdown, e.g. 25000',
  LEDGER_RETENTION_DAYS: 'days to keep completed side-effect records, 1 to 3650',
  SLACK_BOT_TOKEN: 'the Bot User OAuth Token (xoxb-…) from your Slack app’s OAuth & Permissions page',
  SLACK_APP_TOKEN: 'an app-level token (xapp-…) with connections:write, for Socket Mode',
  SLACK_SIGNING_SECRET: 'the Signing Secret from your Slack app’s Basic Information page, for HTTP mode',
  SLACK_API_URL: 'the Slack Web API base URL, e.g. https://slack.com/api/ (GovSlack, a proxy or an emulator)',
  DISCORD_TOKEN: 'the bot token from your Discord application’s Bot page',
  DISCORD_API_URL: 'the Discord REST base URL, e.g. https://discord.com/api',
  DISCORD_GUILD_ID: 'a server (guild) id to register commands there at once; unset registers them globally',
  OPENAI_BASE_URL: 'the base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1',
  OPENAI_API_KEY: 'the API key for OPENAI_BASE_URL (servers that need none accept any value)',
  OPENAI_MODEL: 'the model name, e.g. gpt-4o-mini; unset uses the deterministic fallbacks',
  OPENAI_TIMEOUT_MS: 'milliseconds to wait for the model, e.g. 30000',
  HERALD_ENCRYPTION_KEY: 'a 32-byte key for stored credentials, e.g. the output of `openssl rand -base64 32`',
  PUBLISH_MAX_ATTEMPTS: 'how many times a transient publishing failure is tried, 1 to 20',
  PUBLISH_RETRY_BASE_MS: 'milliseconds before the first retry of a transient publishing failure; it doubles each time',
  INBOX_POLL_SECONDS: 'seconds between inbox fetches of an account (each account can override it with /herald inbox-rules poll), 1 to 86400',
  INBOX_STREAMING: 'on: also listen to networks that push news of new items (Mastodon’s streaming API) and fetch at once; off: polling only',
  INBOX_RETENTION_DAYS: 'days to keep inbound comments, mentions and their authors’ data (GDPR), 1 to 3650',
  INBOX_NOTE_PREFIX: 'what starts an internal note in an inbox thread (never sent to the network), e.g. //',
  INBOX_RISKY_FOLLOWERS: 'an author with at least this many followers makes a negative item risky: replies need an approval',
  CHAT_MESSAGES_PER_SECOND: 'most messages Herald sends into one chat channel per second (the platforms allow about 1)',
  METRICS_RETENTION_DAYS: 'days to keep raw metric snapshots (posts keep their latest counters), 8 to 3650',
  DIGEST_CHECK_SECONDS: 'seconds between checks for a weekly digest that is due, 1 to 3600',
  HERALD_SANDBOX: 'auto: the browser sandbox when no Slack or Discord credentials are set (never with NODE_ENV=production); on: always (like --sandbox); off: never',
  SANDBOX_PORT: 'the port of the sandbox page on 127.0.0.1, e.g. 3100 (0 picks a free port)',
};

/** Rules that involve several variables at once. */
function crossChecks(config: Config): string[] {
  const problems: string[] = [];
  if (config.SLACK_BOT_TOKEN && !config.SLACK_APP_TOKEN && !config.SLACK_SIGNING_SECRET) {
    problems.push('SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP mode) is. Set one of them.');
  }
  if (!config.SLACK_BOT_TOKEN && (config.SLACK_APP_TOKEN || config.SLACK_SIGNING_SECRET)) {
    problems.push('SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is set without SLACK_BOT_TOKEN. Set SLACK_BOT_TOKEN too, or unset them.');
  }
  return problems;
}

/** Raised when the environment does not describe a runnable Herald; carries every problem at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Herald cannot start: the configuration has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\nSet these variables in the environment or in .env (see .env.example and the README's configuration table).`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape).map((key) => [key, env[key]]),
  );
  const parsed = configSchema.safeParse(known);
  if (parsed.success) {
    const problems = crossChecks(parsed.data);
    if (problems.length > 0) throw new ConfigError(problems);
    return parsed.data;
  }
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0]) as keyof Config;
    const value = env[key];
    const shown = value === undefined ? 'is not set' : `is ${JSON.stringify(redactValue(key, value))}`;
    return `${key} ${shown}: ${issue.message}. Expected ${hints[key]}.`;
  });
  throw new ConfigError(problems);
}

/** Shows a value in an error without exposing credentials in it. */
function redactValue(key: string, value: string): string {
  if (/TOKEN|SECRET|KEY|PASSWORD/i.test(key)) return '[redacted]';
  return value.replace(/\/\/([^@/]*)@/, '//[redacted]@');
}
