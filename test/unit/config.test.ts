import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('loadConfig', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ NODE_ENV: 'development', HTTP_PORT: 3000, MONGODB_DB: 'herald', HTTP_HOST: '127.0.0.1' });
    expect(config.MONGODB_URI).toBeUndefined();
  });

  it('coerces numbers and treats an empty MONGODB_URI as unset', () => {
    const config = loadConfig({ HTTP_PORT: '8080', MONGODB_URI: '', SCHEDULER_POLL_MS: '250' });
    expect(config.HTTP_PORT).toBe(8080);
    expect(config.SCHEDULER_POLL_MS).toBe(250);
    expect(config.MONGODB_URI).toBeUndefined();
  });

  it('lists every problem at once, each with the variable and how to fix it', () => {
    let error: unknown;
    try {
      loadConfig({ HTTP_PORT: 'eighty', LOG_LEVEL: 'loud', MONGODB_URI: 'postgres://db', SHUTDOWN_TIMEOUT_MS: '-5' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    const message = (error as ConfigError).message;
    expect(message).toContain('HTTP_PORT is "eighty"');
    expect(message).toContain('Expected a TCP port number');
    expect(message).toContain('LOG_LEVEL is "loud"');
    expect(message).toContain('MONGODB_URI is "postgres://db": must start with mongodb://');
    expect(message).toContain('SHUTDOWN_TIMEOUT_MS');
    expect(message).toContain('.env.example');
  });

  it('never repeats credentials from a wrong value in its message', () => {
    expect(() => loadConfig({ MONGODB_URI: 'mongodb://', HTTP_PORT: 'x' })).toThrow(ConfigError);
    try {
      loadConfig({ MONGODB_URI: 'mongo://admin:hunter2@db.example:27017' });
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
      expect((error as Error).message).toContain('[redacted]@');
    }
    expect.assertions(3);
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ UNRELATED: '1', PATH: '/bin' })).not.toThrow();
  });
});

describe('chat platform configuration', () => {
  it('accepts Socket Mode, HTTP mode and Discord settings', () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: 'xapp-1-A-abc', DISCORD_TOKEN: 'x'.repeat(40), DISCORD_GUILD_ID: '123456789012345678', SLACK_API_URL: 'http://127.0.0.1:9/api/' });
    expect(config.SLACK_APP_TOKEN).toBe('xapp-1-A-abc');
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'abcdef123456' }).SLACK_SIGNING_SECRET).toBe('abcdef123456');
  });

  it('names a Slack bot token without a way to receive events, and never echoes tokens', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-secret-value' })).toThrow(/neither SLACK_APP_TOKEN \(Socket Mode\) nor SLACK_SIGNING_SECRET/);
    try {
      loadConfig({ SLACK_BOT_TOKEN: 'xoxp-wrong-kind-secret', SLACK_APP_TOKEN: 'xapp-1' });
    } catch (error) {
      expect((error as Error).message).toContain('SLACK_BOT_TOKEN is "[redacted]": must start with xoxb-');
      expect((error as Error).message).not.toContain('wrong-kind-secret');
    }
    expect(() => loadConfig({ SLACK_APP_TOKEN: 'xapp-1' })).toThrow(/without SLACK_BOT_TOKEN/);
    expect(() => loadConfig({ DISCORD_GUILD_ID: 'my-server' })).toThrow(/numeric Discord id/);
  });
});

describe('documentation of the configuration', () => {
  it('README’s table and .env.example name every variable the schema reads, and no other', async () => {
    const { readFile } = await import('node:fs/promises');
    const { configSchema } = await import('../../src/config.ts');
    const variables = Object.keys(configSchema.shape).sort();
    const readme = await readFile('README.md', 'utf8');
    const table = [...readme.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(table).toEqual(variables);
    const example = await readFile('.env.example', 'utf8');
    const assigned = [...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    expect(assigned).toEqual(variables);
  });
});
