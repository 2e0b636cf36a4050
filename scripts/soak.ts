// The long soak: the churn of test/integration/soak.test.ts for DURATION (default 30 min), sampled every 30 s.
// Prints progress to stderr and one JSON report on stdout (samples included); exits 1 if a bound of checkSoakBounds
// broke. Results are recorded in SECURITY.md.
//   npx tsx scripts/soak.ts [minutes=30] [workers=6] [longLived=3]
import { checkSoakBounds, runSoak } from '../test/helpers/soak';

const minutes = Number(process.argv[2] ?? 30);
const workers = Number(process.argv[3] ?? 6);
const longLived = Number(process.argv[4] ?? 3);

async function main(): Promise<number> {
  const crashes: string[] = [];
  process.on('uncaughtException', (err) => {
    crashes.push(`uncaughtException: ${String(err).slice(0, 300)}`);
  });
  process.on('unhandledRejection', (err) => {
    crashes.push(`unhandledRejection: ${String(err).slice(0, 300)}`);
  });
  const report = await runSoak({
    durationMs: minutes * 60_000,
    workers,
    longLived,
    sampleEveryMs: 30_000,
    onSample: (s) =>
      process.stderr.write(`${(s.atMs / 1000).toFixed(0)} s: heap ${s.heapMiB} MiB, timers ${s.timers}, sockets ${s.openSockets}, redis keys ${s.redisKeys}\n`),
  });
  const problems = checkSoakBounds(report);
  const peakHeapMiB = Math.max(report.baseline.heapMiB, report.end.heapMiB, ...report.samples.map((s) => s.heapMiB));
  const peakRssMiB = Math.max(report.baseline.rssMiB, report.end.rssMiB, ...report.samples.map((s) => s.rssMiB));
  process.stdout.write(`${JSON.stringify({ problems, crashes, peakHeapMiB, peakRssMiB, ...report }, null, 1)}\n`);
  return problems.length === 0 && crashes.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
