// The scale run's simulated clients (bench/load/reconnect.ts) come back after a close with the browser client's delays:
// the same function of close code and attempt, the same count of attempts, restarted after the same stable span.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { reconnectDelay } from '../../client/close-policy';
import { CloseCode } from '../../shared/close-codes';
import { ReconnectSchedule, STABLE_MS } from '../../bench/load/reconnect';

/** A fixed sequence of "random" numbers in [0, 1), the same for both sides. */
function dice(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 48271) % 2147483647;
    return x / 2147483647;
  };
}

const CODES = [1006, 1011, CloseCode.ShuttingDown, CloseCode.TooManyConnections, CloseCode.HandshakeRateLimited, CloseCode.InboundBacklog];

test("every delay of a client that keeps failing is the client's reconnectDelay for that attempt", () => {
  for (const code of CODES) {
    const ours = dice(code);
    const theirs = dice(code);
    const schedule = new ReconnectSchedule(ours);
    for (let attempt = 0; attempt < 10; attempt++) {
      assert.is(schedule.next(code, attempt * 1000), reconnectDelay(code, attempt, theirs), `code ${code}, attempt ${attempt}`);
    }
  }
});

test('the delays keep the ranges the client documents (first 0.5–1 s, 0.5–2 s after ShuttingDown, then 10–20 s)', () => {
  for (const r of [0, 0.999]) {
    const lost = new ReconnectSchedule(() => r);
    const first = lost.next(1006, 0);
    assert.ok(first >= 500 && first <= 1000, `first after 1006: ${first}`);
    const shutdown = new ReconnectSchedule(() => r).next(CloseCode.ShuttingDown, 0);
    assert.ok(shutdown >= 500 && shutdown <= 2000, `first after ShuttingDown: ${shutdown}`);
    for (let k = 1; k < 5; k++) lost.next(1006, 0);
    const sixth = lost.next(1006, 0);
    assert.ok(sixth >= 10_000 && sixth <= 20_000, `sixth: ${sixth}`);
  }
});

test('the count starts again only after a connection stayed up STABLE_MS, as in the client', () => {
  const source = readFileSync(join(__dirname, '..', '..', 'client', 'client.ts'), 'utf8');
  const declared = /const STABLE_MS = ([\d_]+);/.exec(source);
  assert.ok(declared, 'client/client.ts declares STABLE_MS');
  assert.is(STABLE_MS, Number(declared[1].replace(/_/g, '')));

  const steady = () => 0.5;
  const schedule = new ReconnectSchedule(steady);
  for (let k = 0; k < 4; k++) schedule.next(1006, 0);
  // Up for less than STABLE_MS: the next delay is the fifth attempt's.
  schedule.connected(1000);
  assert.is(schedule.next(1006, 1000 + STABLE_MS - 1), reconnectDelay(1006, 4, steady));
  // Up for STABLE_MS: back to the first step.
  schedule.connected(50_000);
  assert.is(schedule.next(1006, 50_000 + STABLE_MS), reconnectDelay(1006, 0, steady));
  assert.is(schedule.next(1006, 70_000), reconnectDelay(1006, 1, steady));
});

test.run();
