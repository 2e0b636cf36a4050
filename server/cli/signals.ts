import type { Logger } from '../log';

/** What the signals act on: the node (its graceful close and its reload). */
export interface Stoppable {
  close(): Promise<void>;
  reload(): void;
}

export interface SignalOptions {
  readonly log: Pick<Logger, 'info' | 'error'>;
  /** GATEHOUSE_SHUTDOWN_TIMEOUT, ms. */
  readonly shutdownTimeoutMs: number;
  /** The backstop ends the process this long after the shutdown timeout, ms. */
  readonly backstopGraceMs: number;
  /** Lets the last log lines out (bounded; never rejects). */
  readonly flushLog: () => Promise<void>;
  /** Ends the process (process.exit; a test's recorder). */
  readonly exit: (status: number) => void;
  /** Where signals come from (process; a test's emitter). */
  readonly signals: Pick<NodeJS.EventEmitter, 'on'>;
}

/**
 * stopOnSignals: SIGTERM and SIGINT start one graceful shutdown (a second signal changes nothing) and SIGHUP reloads.
 * The backstop timer is armed before anything else happens and ends the process with status 1 whatever holds it: a
 * close that never finishes, a log line that throws, a flush that never returns.
 */
export function stopOnSignals(node: Stoppable, opts: SignalOptions): void {
  let stopping = false;
  const exitAfter = (status: number, lastWords: () => void) => {
    attempt(lastWords);
    void opts.flushLog().then(
      () => opts.exit(status),
      () => opts.exit(status),
    );
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => opts.exit(1), opts.shutdownTimeoutMs + opts.backstopGraceMs).unref();
    attempt(() => opts.log.info({ signal }, 'shutting down'));
    let closing: Promise<void>;
    try {
      closing = node.close();
    } catch (err) {
      closing = Promise.reject(err);
    }
    closing.then(
      () => exitAfter(0, () => opts.log.info('shut down')),
      (err) => exitAfter(1, () => opts.log.error({ err }, 'shutdown failed')),
    );
  };
  opts.signals.on('SIGTERM', () => stop('SIGTERM'));
  opts.signals.on('SIGINT', () => stop('SIGINT'));
  opts.signals.on('SIGHUP', () => attempt(() => node.reload()));
}

/** Runs `fn`; whatever it throws is dropped, since nothing on the way out may stop the way out. */
function attempt(fn: () => void): void {
  try {
    fn();
  } catch {
    // Dropped on purpose (see above).
  }
}
