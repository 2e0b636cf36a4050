import pino from 'pino';
import { stdoutLogDestination, type LogDestination } from './log-destination';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Logger = pino.Logger;

/**
 * The gateway's structured JSON log. Secrets never go in: tokens, passwords and keys are redacted by path in case a
 * caller passes them by mistake. Lines go to `destination` (default: stdout through a destination that never blocks
 * and never throws, see log-destination.ts).
 */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}, destination: LogDestination = stdoutLogDestination()): Logger {
  return pino(
    {
      level,
      base: { ...bindings },
      serializers: { err: serializeError },
      redact: { paths: ['token', 'password', '*.token', '*.password', 'authKey', '*.authToken', 'signedAuthToken'], censor: '[redacted]' },
    },
    destination,
  );
}

/** An error as a log line carries it. */
export interface LoggedError {
  readonly type: string;
  readonly message: string;
  readonly code?: string | number;
  readonly stack?: string;
}

/**
 * serializeError turns whatever was thrown or reported into `{type, message, code?, stack?}`: an Error keeps its name
 * and stack; a plain `{name, message}` object (as SocketCluster and some callers report) keeps its name and message
 * instead of becoming pino's `{"type": "Object", "stack": ""}`; anything else is described by its type and text.
 */
export function serializeError(value: unknown): LoggedError {
  if (typeof value === 'object' && value !== null) {
    const v = value as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown };
    const ctor = (value as { constructor?: { name?: unknown } }).constructor?.name;
    const type = typeof v.name === 'string' && v.name !== '' ? v.name : typeof ctor === 'string' && ctor !== '' && ctor !== 'Object' ? ctor : 'Error';
    const message = typeof v.message === 'string' ? v.message : safeJson(value);
    const out: { type: string; message: string; code?: string | number; stack?: string } = { type, message };
    if (typeof v.code === 'string' || typeof v.code === 'number') out.code = v.code;
    if (value instanceof Error && typeof v.stack === 'string') out.stack = v.stack;
    return out;
  }
  return { type: value === null ? 'null' : typeof value, message: String(value) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
