// budget: 60s
// Protocol fuzzing, short run: fast-check scenarios of raw WebSocket frames (bad JSON, odd cids, wrong types, binary
// frames, frames before #handshake, #authenticate with objects, subscribe floods, every order of the protocol's own
// events and login in one batch), with the node's invariants checked after each. The long run (100,000+ frames) is
// scripts/fuzz-protocol.ts; its results are in SECURITY.md.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { rawSocket } from '../helpers/channels';
import { httpRequest, mintHs256, sleep, waitFor } from '../helpers/gateway';
import { checkInvariants, runScenario, scenarioArb, splitPending, startFuzzTarget, type FuzzTarget } from '../helpers/protocol-fuzz';

/**
 * Frames the short run aims for, the wall-clock it may take (the budget above is the hard stop), and the fewest
 * frames that still make a run (a loaded machine gets through fewer in the time).
 */
const TARGET_FRAMES = 2000;
const MAX_MS = 25_000;
const MIN_FRAMES = 800;

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
  if (process.env.TEST_VERBOSE)
    console.log({ frames, runs, pendingCountViolations: pending, ms: Date.now() - started, denials: target.gateway.channels.denials.snapshot() });
  assert.ok(frames >= MIN_FRAMES, `only ${frames} frames in ${MAX_MS} ms (${runs} scenarios)`);
  assert.is(target.gateway.state, 'ready');
  assert.is((await httpRequest(target.gateway.address().port, '/healthz')).status, 200);
  assert.equal(target.serverErrors, []);
  // Loose: the run allocates and GC is lazy; a leak of per-socket state over the run would show as far more.
  const grewMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  assert.ok(grewMiB < 96, `heap grew ${grewMiB.toFixed(1)} MiB over ${frames} frames`);
});

test('found by the fuzz: a deauthentication and a close in one frame no longer crash the node', async () => {
  // `#removeAuthToken` kicks the socket out of its private channel (an unsubscribe in flight); `#authenticate` without
  // a cid closes the socket, and SocketCluster's close unsubscribes from every channel in a Promise.all it never
  // catches. The second unsubscribe of the channel used to be refused there: an unhandled rejection, which ends a
  // Node 20 process (this file runs with --unhandled-rejections=strict).
  const { gateway } = target;
  for (let round = 0; round < 5; round++) {
    const raw = await rawSocket(gateway, mintHs256({ sub: `crasher-${round}`, channels: ['private:*'] }));
    assert.is((await raw.call('#subscribe', { channel: `private:${round}` })).error, undefined);
    const socket = gateway.agServer.clients[raw.id];
    raw.sendBatch([{ event: '#removeAuthToken' }, { event: '#authenticate', data: 'no cid' }]);
    await waitFor(() => socket.state === socket.CLOSED, 2000, 'the socket to be closed');
    raw.close();
  }
  await sleep(100);
  assert.is(gateway.state, 'ready');
  assert.equal(await checkInvariants(target), []);
});

function describeFailure(error: unknown): string {
  return String(error instanceof Error ? error.message : error).slice(0, 2000);
}

test.run();
