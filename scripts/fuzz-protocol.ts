// The long protocol fuzz: the scenarios of test/integration/protocol-fuzz.test.ts until at least FRAMES frames have
// been sent, the invariants checked after every scenario. Prints one JSON summary (frames, duration, peak heap,
// violations, crashes) and exits 1 if any invariant failed or anything crashed. Results are recorded in SECURITY.md.
//   npx tsx scripts/fuzz-protocol.ts [frames=100000] [seed=1]
import fc from 'fast-check';
import { checkInvariants, runScenario, scenarioArb, splitPending, startFuzzTarget, type Violation } from '../test/helpers/protocol-fuzz';

const targetFrames = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);

async function main(): Promise<number> {
  const crashes: string[] = [];
  process.on('uncaughtException', (err) => {
    crashes.push(`uncaughtException: ${String(err).slice(0, 300)}`);
  });
  process.on('unhandledRejection', (err) => {
    crashes.push(`unhandledRejection: ${String(err).slice(0, 300)}`);
  });

  const target = await startFuzzTarget();
  const started = Date.now();
  let peakHeap = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  }, 100);
  let frames = 0;
  let scenarios = 0;
  const failing: Violation[] = [];
  const pending: Violation[] = [];
  let lastReport = 0;
  while (frames < targetFrames && failing.length === 0 && crashes.length === 0) {
    const result = await fc.check(
      fc.asyncProperty(scenarioArb(target), async (scenario) => {
        frames += await runScenario(target, scenario);
        scenarios++;
        const found = splitPending(await checkInvariants(target));
        pending.push(...found.pending);
        if (found.failing.length > 0) {
          failing.push(...found.failing);
          throw new Error(found.failing.map((v) => `${v.invariant}: ${v.detail}`).join('\n'));
        }
      }),
      { numRuns: 100, seed: seed + scenarios, endOnFailure: true },
    );
    if (result.failed) process.stderr.write(`failed with seed ${result.seed}: ${String(result.errorInstance).slice(0, 1000)}\n`);
    if (frames - lastReport >= 10_000) {
      lastReport = frames;
      process.stderr.write(
        `${frames} frames, ${scenarios} scenarios, ${((Date.now() - started) / 1000).toFixed(0)} s, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB\n`,
      );
    }
  }
  clearInterval(sampler);
  const summary = {
    frames,
    scenarios,
    durationSec: Math.round((Date.now() - started) / 1000),
    peakHeapMiB: Math.round(peakHeap / 2 ** 20),
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    nodeState: target.gateway.state,
    failingViolations: failing.slice(0, 20),
    pendingChannelCountViolations: pending.length,
    pendingExamples: pending.slice(0, 3),
    serverErrors: target.serverErrors.length,
    crashes,
    denials: target.gateway.channels.denials.snapshot(),
    seed,
  };
  await target.close();
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return failing.length === 0 && crashes.length === 0 && summary.nodeState === 'ready' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
