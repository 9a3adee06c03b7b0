import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../log.ts';

/**
 * Bolt's, the WebClient's and the Socket Mode client's log lines, sent to Herald's pino logger.
 * Their debug lines are dropped: they carry raw payloads (message text, the legacy verification
 * token), which Herald never logs.
 */
export function sdkLogger(log: Logger): BoltLogger {
  const line = (args: unknown[]): string =>
    args
      .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a)))
      .join(' ')
      .slice(0, 500);
  let name = 'slack-sdk';
  return {
    debug: () => undefined,
    info: (...args: unknown[]) => log.info({ sdk: name }, line(args)),
    warn: (...args: unknown[]) => log.warn({ sdk: name }, line(args)),
    error: (...args: unknown[]) => log.error({ sdk: name }, line(args)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: (value: string) => {
      name = value;
    },
  };
}
