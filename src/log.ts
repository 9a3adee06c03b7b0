import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Keys whose values are secrets wherever they appear in a log object. pino's redaction works on
 * paths, so the list covers the top level and one or two levels down, which is where Herald puts
 * context objects.
 */
const secretKeys = [
  'token',
  'botToken',
  'appToken',
  'accessToken',
  'refreshToken',
  'password',
  'secret',
  'signingSecret',
  'clientSecret',
  'apiKey',
  'authorization',
  'cookie',
  'encryptionKey',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'DISCORD_TOKEN',
  'OPENAI_API_KEY',
  'HERALD_ENCRYPTION_KEY',
];
const redactPaths = secretKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/** Strips user:password@ from connection strings anywhere in a string. */
export function redactUri(value: string): string {
  return value.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^@/\s]+@/gi, '$1[redacted]@');
}

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** Where the lines go; stdout when absent. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: { service: 'herald' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: {
      level: (label: string) => ({ level: label }),
      log(object: Record<string, unknown>) {
        for (const [key, value] of Object.entries(object)) {
          if (typeof value === 'string' && value.includes('@')) object[key] = redactUri(value);
        }
        return object;
      },
    },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        const redacted = args.map((arg) => (typeof arg === 'string' ? redactUri(arg) : arg));
        method.apply(this, redacted);
      },
    },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base);
}
