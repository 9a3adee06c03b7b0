import { describe, expect, it } from 'vitest';
import { redactUri } from '../../src/log.ts';
import { captureLogger } from '../support/log.ts';

describe('logger', () => {
  it('never writes secrets, wherever they sit in the log object', () => {
    const { log, text, lines } = captureLogger();
    log.info({ token: 'xoxb-111-secret', slack: { botToken: 'xoxb-222-secret', signingSecret: 'sig-333' }, account: { credentials: { accessToken: 'at-444' } } }, 'connected');
    log.info({ SLACK_APP_TOKEN: 'xapp-555', OPENAI_API_KEY: 'sk-666', HERALD_ENCRYPTION_KEY: 'k-777' }, 'config');
    log.warn({ headers: { authorization: 'Bearer zzz-888' } }, 'request');
    const output = text();
    for (const secret of ['xoxb-111', 'xoxb-222', 'sig-333', 'at-444', 'xapp-555', 'sk-666', 'k-777', 'zzz-888']) {
      expect(output).not.toContain(secret);
    }
    expect(lines()).toHaveLength(3);
    expect(output).toContain('[redacted]');
  });

  it('strips credentials from connection strings in fields and messages', () => {
    const { log, text } = captureLogger();
    log.info({ uri: 'mongodb://herald:s3cr3t@db:27017/herald' }, 'connecting');
    log.error('failed to reach mongodb+srv://root:pa55@cluster.example/herald');
    const output = text();
    expect(output).not.toContain('s3cr3t');
    expect(output).not.toContain('pa55');
    expect(output).toContain('mongodb://[redacted]@db:27017/herald');
  });

  it('writes structured JSON lines with a level label', () => {
    const { log, lines } = captureLogger();
    log.child({ draftId: 'd1' }).warn('slow');
    expect(lines()[0]).toMatchObject({ level: 'warn', draftId: 'd1', msg: 'slow', service: 'herald' });
  });

  it('leaves plain text alone', () => {
    expect(redactUri('user@example.com wrote')).toBe('user@example.com wrote');
    expect(redactUri('https://a:b@host/x')).toBe('https://[redacted]@host/x');
  });
});
