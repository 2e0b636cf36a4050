import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { SafeLogDestination } from '../../server/log-destination';
import { serializeError } from '../../server/log';
import { stopOnSignals, type SignalOptions, type Stoppable } from '../../server/cli/signals';

// The way out of a node: nothing on it (a close that hangs, a log line that throws, a reader that is gone) may keep
// the process alive. The process-level test (both pipes destroyed, SIGTERM) is in node-output.test.ts.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function harness(node: Stoppable, overrides: Partial<SignalOptions> = {}) {
  const exits: number[] = [];
  const lines: string[] = [];
  const signals = new EventEmitter();
  stopOnSignals(node, {
    log: {
      info: (...args: unknown[]) => {
        lines.push(String(args.at(-1)));
      },
      error: (...args: unknown[]) => {
        lines.push(String(args.at(-1)));
      },
    },
    shutdownTimeoutMs: 50,
    backstopGraceMs: 50,
    flushLog: async () => undefined,
    exit: (status) => {
      exits.push(status);
    },
    signals,
    ...overrides,
  });
  return { exits, lines, signals };
}

test('SIGTERM: one graceful close, logged in order, then status 0; a second signal changes nothing', async () => {
  let closes = 0;
  const h = harness({
    close: async () => {
      closes++;
      await sleep(10);
    },
    reload: () => undefined,
  });
  h.signals.emit('SIGTERM');
  h.signals.emit('SIGINT');
  await sleep(40);
  assert.is(closes, 1);
  assert.equal(h.lines, ['shutting down', 'shut down']);
  assert.equal(h.exits, [0]);
});

test('a close that never finishes: the backstop ends the process with status 1', async () => {
  const h = harness({ close: () => new Promise<void>(() => undefined), reload: () => undefined });
  h.signals.emit('SIGTERM');
  await sleep(60);
  assert.equal(h.exits, []);
  await sleep(100);
  assert.equal(h.exits, [1]);
});

test('a logger that throws and a flush that never returns stop nothing: the backstop still fires', async () => {
  const throwing = () => {
    throw new Error('EPIPE');
  };
  const h = harness(
    { close: async () => undefined, reload: () => undefined },
    {
      log: { info: throwing, error: throwing },
      flushLog: () => new Promise<void>(() => undefined),
    },
  );
  h.signals.emit('SIGINT');
  await sleep(160);
  assert.equal(h.exits, [1]);
});

test('a close that fails (or throws) exits 1 after logging why', async () => {
  const h = harness({
    close: () => {
      throw new Error('boom');
    },
    reload: () => undefined,
  });
  h.signals.emit('SIGTERM');
  await sleep(20);
  assert.equal(h.lines, ['shutting down', 'shutdown failed']);
  assert.equal(h.exits, [1]);
});

test('SIGHUP reloads, and a reload that throws does not take the process down', () => {
  let reloads = 0;
  const h = harness({
    close: async () => undefined,
    reload: () => {
      reloads++;
      throw new Error('bad file');
    },
  });
  h.signals.emit('SIGHUP');
  h.signals.emit('SIGHUP');
  assert.is(reloads, 2);
  assert.equal(h.exits, []);
});

/** A stand-in for a pipe: it queues what is written until told it drained. */
class FakePipe extends EventEmitter {
  writableLength = 0;
  written: string[] = [];
  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    return true;
  }
  drain(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
}

test('the log destination: a broken pipe stops the logging (never throws), and lines are counted as dropped', () => {
  const pipe = new FakePipe();
  const dest = new SafeLogDestination(pipe);
  dest.write('one\n');
  pipe.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  dest.write('two\n');
  assert.equal(pipe.written, ['one\n']);
  assert.is(dest.dropped, 1);
  const throwing = new SafeLogDestination(
    Object.assign(new FakePipe(), {
      write: () => {
        throw new Error('closed');
      },
    }),
  );
  throwing.write('x\n');
  assert.is(throwing.dropped, 1);
});

test('the log destination: a reader that lags gets at most the bound queued; the rest is dropped', () => {
  const pipe = new FakePipe();
  const dest = new SafeLogDestination(pipe, 10);
  for (let i = 0; i < 5; i++) dest.write('12345\n');
  assert.is(pipe.written.length, 2, 'written until more than 10 bytes wait');
  assert.is(dest.dropped, 3);
  pipe.drain();
  dest.write('after\n');
  assert.is(pipe.written.length, 3);
});

test('the log destination: flush resolves once drained, or after its bound when the reader never reads', async () => {
  const pipe = new FakePipe();
  const dest = new SafeLogDestination(pipe);
  dest.write('line\n');
  let flushed = false;
  void dest.flush(1000).then(() => {
    flushed = true;
  });
  pipe.drain();
  await sleep(5);
  assert.ok(flushed);
  dest.write('stuck\n');
  const started = Date.now();
  await dest.flush(50);
  assert.ok(Date.now() - started >= 45);
});

test('errors are logged with a type and a message, whatever was thrown', () => {
  assert.equal(serializeError({ name: 'ReplyError', message: 'NOAUTH' }), { type: 'ReplyError', message: 'NOAUTH' });
  const err = Object.assign(new TypeError('bad'), { code: 'ERR_X' });
  const logged = serializeError(err);
  assert.is(logged.type, 'TypeError');
  assert.is(logged.message, 'bad');
  assert.is(logged.code, 'ERR_X');
  assert.match(logged.stack ?? '', 'TypeError: bad');
  assert.equal(serializeError("Stream isn't writeable"), { type: 'string', message: "Stream isn't writeable" });
  assert.equal(serializeError({ reason: 1 }), { type: 'Error', message: '{"reason":1}' });
  class CustomFailure {
    message = 'custom';
  }
  assert.equal(serializeError(new CustomFailure()), { type: 'CustomFailure', message: 'custom' });
});

test.run();
