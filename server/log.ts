import pino from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Logger = pino.Logger;

/**
 * The gateway's structured JSON log. Secrets never go in: tokens, passwords and keys are redacted by path in case a
 * caller passes them by mistake.
 */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { ...bindings },
    redact: { paths: ['token', 'password', '*.token', '*.password', 'authKey', '*.authToken', 'signedAuthToken'], censor: '[redacted]' },
  });
}
