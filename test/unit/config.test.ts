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
