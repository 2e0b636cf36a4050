import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemClock } from '../../server/clock';
import { DeadlineScheduler } from '../../server/renewal/deadline-scheduler';

test('fires each key once, never before its deadline, through one scheduler', async () => {
  const fired: { key: number; late: number }[] = [];
  const due = new Map<number, number>();
  const s = new DeadlineScheduler<number>(systemClock, (key) => fired.push({ key, late: Date.now() - due.get(key)! }), 20);
  const start = Date.now();
  for (let i = 0; i < 1000; i++) {
    const at = start + 10 + (i % 50) * 4;
    due.set(i, at);
    s.schedule(i, at);
  }
  assert.is(s.size, 1000);
  await new Promise((r) => setTimeout(r, 400));
  assert.is(fired.length, 1000);
  assert.is(new Set(fired.map((f) => f.key)).size, 1000);
  for (const f of fired) assert.ok(f.late >= 0, `key ${f.key} fired ${-f.late}ms early`);
  assert.is(s.size, 0);
  s.close();
});

test('cancel and reschedule drop every reference', async () => {
  const fired: string[] = [];
  const s = new DeadlineScheduler<string>(systemClock, (key) => fired.push(key), 10);
  s.schedule('a', Date.now() + 30);
  s.schedule('b', Date.now() + 30);
  s.schedule('c', Date.now() + 500);
  s.cancel('b');
  s.schedule('c', Date.now() + 40); // moved earlier
  assert.is(s.size, 2);
  assert.not.ok(s.has('b'));
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(fired.sort(), ['a', 'c']);
  assert.is(s.size, 0);
  s.close();
});

test('a key scheduled from its own callback fires again', async () => {
  let count = 0;
  const s: DeadlineScheduler<string> = new DeadlineScheduler<string>(
    systemClock,
    (key) => {
      if (++count < 3) s.schedule(key, Date.now() + 10);
    },
    5,
  );
  s.schedule('x', Date.now() + 5);
  await new Promise((r) => setTimeout(r, 150));
  assert.is(count, 3);
  s.close();
});

test('close stops everything', async () => {
  let count = 0;
  const s = new DeadlineScheduler<string>(systemClock, () => count++, 5);
  s.schedule('x', Date.now() + 20);
  s.close();
  s.schedule('y', Date.now() + 5);
  await new Promise((r) => setTimeout(r, 60));
  assert.is(count, 0);
  assert.is(s.size, 0);
});

test.run();
