// Measures the renewal scheduler at scale: the cost of scheduling, moving and cancelling N sockets' deadlines on the
// one DeadlineScheduler, and the heap it holds. Usage: npx tsx scripts/bench-scheduler.ts [N=100000]
import { systemClock } from '../server/clock';
import { DeadlineScheduler } from '../server/renewal/deadline-scheduler';

const n = Number(process.argv[2] ?? 100_000);
const keys = Array.from({ length: n }, (_, i) => ({ id: i }));
const heap = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
};

const before = heap();
const s = new DeadlineScheduler<object>(systemClock, () => undefined, 100);
const now = Date.now();
let t = performance.now();
// Deadlines spread over 5 minutes, as renewal with jitter spreads them.
for (let i = 0; i < n; i++) s.schedule(keys[i], now + 60_000 + ((i * 7919) % 300_000));
const scheduleMs = performance.now() - t;
const held = heap() - before;
t = performance.now();
for (let i = 0; i < n; i++) s.schedule(keys[i], now + 120_000 + ((i * 104_729) % 300_000));
const moveMs = performance.now() - t;
t = performance.now();
for (let i = 0; i < n; i++) s.cancel(keys[i]);
const cancelMs = performance.now() - t;
s.close();
console.log(
  JSON.stringify({
    sockets: n,
    scheduleNsEach: Math.round((scheduleMs * 1e6) / n),
    rescheduleNsEach: Math.round((moveMs * 1e6) / n),
    cancelNsEach: Math.round((cancelMs * 1e6) / n),
    heapBytesPerSocket: Math.round(held / n),
    leftAfterCancel: s.size,
    timers: 1,
  }),
);
