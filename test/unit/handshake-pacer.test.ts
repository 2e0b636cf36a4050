// The handshake pacer's decisions on a real event loop: the slice budget, a late loop found by its overdue timer, the
// one-a-slice allowance while late, and recovery. The upgrade path (HTTP 503, metrics) is in
// integration/handshake-pacing.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HandshakePacer, HOLD_MS, RELAX_STEP_MS, SLICE_MS, type PacerRefusal } from '../../server/floods/handshake-pacer';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pacers: HandshakePacer[] = [];
test.after.each(() => {
  for (const p of pacers.splice(0)) p.close();
});

function pacer(maxHandshakeRate: number, maxLoopDelayMs: number): HandshakePacer {
  const p = new HandshakePacer({ maxHandshakeRate, maxLoopDelayMs });
  pacers.push(p);
  return p;
}

function ask(p: HandshakePacer, n: number): (PacerRefusal | undefined)[] {
  return Array.from({ length: n }, () => p.refusal());
}

function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('with both limits 0 the pacer is off and never consulted', () => {
  assert.is(pacer(0, 0).enabled, false);
  assert.is(pacer(1600, 0).enabled, true);
  assert.is(pacer(0, 50).enabled, true);
});

test('a slice admits its share of the rate, refuses the rest as node_rate, and the next slice admits again', async () => {
  const p = pacer(500, 0); // 10 per 20 ms slice
  const first = ask(p, 15);
  assert.equal(first.slice(0, 10), Array(10).fill(undefined));
  assert.equal(first.slice(10), Array(5).fill('node_rate'));
  await sleep(SLICE_MS * 3);
  assert.is(p.refusal(), undefined, 'a new slice has room');
});

test('a rate below one a slice still admits one a slice', () => {
  const p = pacer(1, 0);
  assert.equal(ask(p, 3), [undefined, 'node_rate', 'node_rate']);
});

test('a loop found late (the timer overdue) admits one upgrade a slice, refuses the rest as loop_delay, and recovers', async () => {
  const p = pacer(0, 30);
  assert.is(p.refusal(), undefined, 'the first upgrade starts the sampling');
  block(120);
  // The timer has not fired: this slice already admitted one, so the overdue loop refuses the rest.
  assert.equal(ask(p, 5), Array(5).fill('loop_delay'));
  await sleep(SLICE_MS * 2);
  // A new slice while the hold lasts: one through, the rest refused.
  const held = ask(p, 4);
  assert.ok(held[0] === undefined || held[0] === 'loop_delay', String(held));
  assert.equal(held.slice(1), Array(3).fill('loop_delay'));
  // After the hold, with the loop on time again, every upgrade is admitted (bounded: a loaded machine may be late).
  const deadline = performance.now() + 5000;
  let admitted = false;
  while (!admitted && performance.now() < deadline) {
    await sleep(HOLD_MS + SLICE_MS);
    admitted = ask(p, 5).every((r) => r === undefined);
  }
  assert.ok(admitted, 'admits again once the loop is on time');
});

test('a lone upgrade on a late loop is admitted: the first of its slice always goes through', async () => {
  const p = pacer(0, 30);
  p.refusal();
  await sleep(SLICE_MS * 2);
  block(120);
  // The sampler has fired since the first upgrade, so this slice has admitted none yet.
  assert.is(p.refusal(), undefined);
  assert.is(p.refusal(), 'loop_delay');
});

test('lateness that shedding does not cure relaxes: after RELAX_STEP_MS of it, two a slice go through', async () => {
  const p = pacer(0, 30);
  p.refusal();
  const end = performance.now() + RELAX_STEP_MS + 200;
  // The loop stays late by its own work (each turn blocks past the limit) for longer than one step.
  while (performance.now() < end) {
    block(80);
    await sleep(0);
    p.refusal();
  }
  await sleep(0);
  block(80);
  await sleep(SLICE_MS);
  block(80);
  // Two, or four if this machine stalled the test past a second step; never the whole crowd.
  const answers = ask(p, 8);
  const admitted = answers.filter((a) => a === undefined).length;
  assert.ok(admitted === 2 || admitted === 4, String(answers));
  assert.ok(
    answers.slice(admitted).every((a) => a === 'loop_delay'),
    String(answers),
  );
});

test.run();
