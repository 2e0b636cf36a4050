// budget: 90s
// Protocol fuzzing, short run: fast-check scenarios of raw WebSocket frames (bad JSON, odd cids, wrong types, binary
// frames, frames before #handshake, #authenticate with objects, subscribe floods, every order of the protocol's own
// events and login in one batch), with the node's invariants checked after each. The long run (100,000+ frames) is
// scripts/fuzz-protocol.ts; its results are in SECURITY.md.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { httpRequest } from '../helpers/gateway';
import { checkInvariants, runScenario, scenarioArb, splitPending, startFuzzTarget, type FuzzTarget } from '../helpers/protocol-fuzz';

/**
 * Frames the short run aims for, the wall-clock it may take (the budget above is the hard stop), and the fewest
 * frames that still make a run (a loaded machine gets through fewer in the time).
 */
const TARGET_FRAMES = 3000;
const MAX_MS = 40_000;
const MIN_FRAMES = 1000;

let target: FuzzTarget;

test.before(async () => {
  target = await startFuzzTarget();
});
test.after(async () => {
  await target.close();
});

test(`fuzzed frames leave the node up, every socket within its grants and its channel count right, and others served`, async () => {
  const heapBefore = process.memoryUsage().heapUsed;
  let frames = 0;
  let runs = 0;
  let pending = 0;
  const started = Date.now();
  // A fixed seed: the run is the same every time; FUZZ_SEED explores others.
  const seed = Number(process.env.FUZZ_SEED ?? 13013);
  while (frames < TARGET_FRAMES && Date.now() - started < MAX_MS) {
    const result = await fc.check(
      fc.asyncProperty(scenarioArb(target), async (scenario) => {
        frames += await runScenario(target, scenario);
        runs++;
        const { failing, pending: found } = splitPending(await checkInvariants(target));
        pending += found.length;
        if (failing.length > 0) throw new Error(failing.map((v) => `${v.invariant}: ${v.detail}`).join('\n'));
      }),
      { numRuns: 50, seed: seed + runs, endOnFailure: true },
    );
    // The failing scenario itself can be megabytes of frames: report the broken invariants and how to replay.
    if (result.failed) assert.unreachable(`${describeFailure(result.errorInstance)} (FUZZ_SEED=${result.seed})`);
  }
  if (process.env.TEST_VERBOSE) console.log({ frames, runs, pendingCountViolations: pending, ms: Date.now() - started, denials: target.gateway.channels.denials.snapshot() });
  assert.ok(frames >= MIN_FRAMES, `only ${frames} frames in ${MAX_MS} ms (${runs} scenarios)`);
  assert.is(target.gateway.state, 'ready');
  assert.is((await httpRequest(target.gateway.address().port, '/healthz')).status, 200);
  assert.equal(target.serverErrors, []);
  // Loose: the run allocates and GC is lazy; a leak of per-socket state over the run would show as far more.
  const grewMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  assert.ok(grewMiB < 96, `heap grew ${grewMiB.toFixed(1)} MiB over ${frames} frames`);
});

function describeFailure(error: unknown): string {
  return String(error instanceof Error ? error.message : error).slice(0, 2000);
}

test.run();
