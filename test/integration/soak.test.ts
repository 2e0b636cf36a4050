// budget: 150s
// alone: its timings need the machine to itself
// The 60-second soak: connect / login / renew / publish / logout churn with a 2 s renewal interval; heap, timers,
// listeners and Redis keys stay within the bounds checkSoakBounds states. The 30-minute run is scripts/soak.ts; its
// results are in SECURITY.md.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkSoakBounds, runSoak } from '../helpers/soak';

test('60 s of churn: heap, timers, listeners and Redis keys stay bounded, and nothing is left behind', async () => {
  const report = await runSoak({ durationMs: 60_000, workers: 6, longLived: 3, sampleEveryMs: 5000 });
  if (process.env.TEST_VERBOSE)
    console.log(JSON.stringify({ ...report, samples: report.samples.map((s) => [s.atMs, s.heapMiB, s.timers, s.openSockets, s.redisKeys]) }));
  assert.equal(checkSoakBounds(report), []);
  assert.ok(report.cycles >= 30, `${report.cycles} cycles`);
  assert.ok((report.logins.ok ?? 0) >= report.cycles);
  assert.ok(report.received > 0 && report.received <= report.publishes);
});

test.run();
