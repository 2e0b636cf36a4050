/** Longest stretch of unwritten log output kept in memory while the reader lags, bytes; later lines are dropped. */
export const MAX_UNWRITTEN_LOG_BYTES = 16 * 1024 * 1024;

/** Where pino writes log lines. */
export interface LogDestination {
  write(line: string): void;
}

/** A stream the destination writes to: process.stdout or a test's stand-in. */
interface Output {
  write(chunk: string): unknown;
  readonly writableLength: number;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}

/**
 * SafeLogDestination writes log lines to a stream without ever blocking or throwing: a write to a pipe whose reader
 * is gone (EPIPE) only stops the logging; a reader that lags leaves at most MAX_UNWRITTEN_LOG_BYTES queued, and
 * lines past it are dropped and counted. pino's own stdout destination, in contrast, retries a failed write forever
 * in its exit handler, so a node whose log collector died never exited.
 */
export class SafeLogDestination implements LogDestination {
  /** Lines not written: the stream failed, or too much was queued. */
  dropped = 0;
  private broken = false;

  constructor(
    private readonly output: Output,
    private readonly maxUnwritten = MAX_UNWRITTEN_LOG_BYTES,
  ) {
    output.on('error', () => {
      this.broken = true;
    });
  }

  write(line: string): void {
    if (this.broken || this.output.writableLength > this.maxUnwritten) {
      this.dropped += 1;
      return;
    }
    try {
      this.output.write(line);
    } catch {
      this.broken = true;
      this.dropped += 1;
    }
  }

  /** Resolves once what was written has left the process, or after `ms`, whichever comes first. Never rejects. */
  flush(ms: number): Promise<void> {
    if (this.broken || this.output.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.output.off('drain', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.output.once('drain', done);
    });
  }
}

let stdoutDestination: SafeLogDestination | undefined;

/** The process's one stdout log destination (shared by every logger, so stdout gets one error listener). */
export function stdoutLogDestination(): SafeLogDestination {
  stdoutDestination ??= new SafeLogDestination(process.stdout);
  return stdoutDestination;
}
