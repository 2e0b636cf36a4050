// budget: 120s
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { CloseCode } from '../../shared';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { collect } from '../helpers/channels';
import { jwksOf, makeKeyPair, mintHs256, nextEvent, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { runCli } from '../helpers/process';
import { TestRedis, freePort } from '../helpers/redis-server';
import { WorkerGroup, alive } from '../helpers/worker-group';

// One primary and two workers (GATEHOUSE_WORKERS=2) on one private Redis, started as an operator starts them.
let redis: TestRedis;
let group: WorkerGroup;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
// A JWK Set beside the HS256 key, so each worker's SIGHUP reload shows in its log.
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-workers-'));
const jwksFile = join(dir, 'jwks.json');

test.before(async () => {
  writeFileSync(jwksFile, jwksOf(makeKeyPair('ES256', 'k1')));
  redis = await suiteScope.redis();
  group = suiteScope.own(
    await WorkerGroup.start({
      GATEHOUSE_WORKERS: '2',
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_NODE_ID: 'wk',
      GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
      GATEHOUSE_JWKS_FILE: jwksFile,
    }),
    (g) => g.kill(),
    'worker group',
  );
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function client(sub: string): Promise<AGClientSocket> {
  const { client: c, status } = await scope.connect(group, mintHs256({ sub, sid: `s-${sub}`, channels: ['*'] }));
  assert.is(status.isAuthenticated, true);
  return c;
}

/** Each worker's open connections, from /admin/nodes. */
async function connectionsByNode(): Promise<Record<string, number>> {
  const r = await admin(group.adminPort, 'GET', '/admin/nodes');
  assert.is(r.status, 200);
  return Object.fromEntries((r.body.nodes as { nodeId: string; connections: number }[]).map((n) => [n.nodeId, n.connections]));
}

/** Opens clients (subs `${prefix}0`…) until both workers hold at least one; bounded. */
async function clientsOnBothWorkers(prefix: string): Promise<AGClientSocket[]> {
  const opened: AGClientSocket[] = [];
  // The kernel picks the worker for each connection; it is not bound to alternate.
  for (let i = 0; i < 40; i++) {
    opened.push(await client(`${prefix}${i}`));
    if (opened.length < 2) continue;
    // The node registry's figures are a heartbeat old (1 s): wait until they count these clients and no earlier ones.
    let counts: Record<string, number> = {};
    await waitFor(
      async () => {
        counts = await connectionsByNode();
        return Object.values(counts).reduce((a, b) => a + b, 0) === opened.length;
      },
      8000,
      'the registry counting exactly these clients',
    );
    if ((counts['wk-1'] ?? 0) > 0 && (counts['wk-2'] ?? 0) > 0) return opened;
  }
  throw new Error('40 connections never reached both workers');
}

test('GATEHOUSE_WORKERS=2: two nodes wk-1 and wk-2 in /admin/nodes, one start summary naming both', async () => {
  const r = await admin(group.adminPort, 'GET', '/admin/nodes');
  assert.equal(
    (r.body.nodes as { nodeId: string }[]).map((n) => n.nodeId),
    ['wk-1', 'wk-2'],
  );
  assert.equal(
    (r.body.nodes as { processes: number }[]).map((n) => n.processes),
    [1, 1],
  );
  assert.is(group.output.split('\n').filter((l) => l.startsWith('Gatehouse ')).length, 1);
  assert.match(group.output, /\(node wk-1 … wk-2, 2 workers\) listening on ws:\/\/127\.0\.0\.1:/);
  assert.equal(
    group.started().map((s) => s.worker),
    [1, 2],
  );
});

test('/metrics on the admin port reports both workers (AggregatorRegistry), whichever worker answers', async () => {
  await clientsOnBothWorkers('metrics-');
  for (let i = 0; i < 4; i++) {
    const r = await admin(group.adminPort, 'GET', '/metrics', undefined, null);
    assert.is(r.status, 200);
    const text = r.text;
    assert.match(text, /^gatehouse_connections\{node="wk-1"\} [1-9]/m);
    assert.match(text, /^gatehouse_connections\{node="wk-2"\} [1-9]/m);
    // The process figures are the group's: one series summed over the workers, not one per worker.
    assert.is(text.match(/^process_resident_memory_bytes /gm)?.length, 1);
  }
});

test('a revoke closes the right socket whichever worker holds it', async () => {
  // Which worker holds a socket is the kernel's choice, and the node registry's counts are a heartbeat old: so each
  // socket is revoked as soon as it is open, and the answer names the worker that closed it, until both have.
  const bystander = await client('rv-bystander');
  const closers = new Set<string>();
  for (let i = 0; i < 40 && closers.size < 2; i++) {
    const socket = await client(`rv-${i}`);
    const closed = nextEvent<{ code: number }>(socket, 'close', 5000);
    const r = await admin(group.adminPort, 'POST', '/admin/revoke', { sub: `rv-${i}` });
    assert.is(r.status, 200, JSON.stringify(r.body));
    assert.is((await closed).code, CloseCode.TokenRevoked);
    assert.equal(r.body.unanswered, []);
    const hit = Object.entries(r.body.disconnected).filter(([, n]) => n > 0);
    assert.equal(
      hit.map(([, n]) => n),
      [1],
      JSON.stringify(r.body),
    );
    closers.add(hit[0][0]);
    assert.is(bystander.state, bystander.OPEN, 'another user is untouched');
  }
  assert.equal([...closers].sort(), ['wk-1', 'wk-2']);
});

test('a publish reaches subscribers on both workers, each once', async () => {
  const subscribers = await clientsOnBothWorkers('sub-');
  const seen = subscribers.map((c) => collect(c, 'news'));
  for (const c of subscribers) await c.subscribe('news').listener('subscribe').once(3000);
  await sleep(200);
  const publisher = await client('publisher');
  await publisher.invokePublish('news', { n: 1 });
  await waitFor(() => seen.every((s) => s.length >= 1), 5000, 'every subscriber getting the message');
  await sleep(200);
  for (const s of seen) assert.equal(s, [{ n: 1 }]);
});

test('SIGKILL of one worker: /readyz is 503 naming it, the primary logs why and restarts it, the group is ready again', async () => {
  const before = group.workerPid(2)!;
  process.kill(before, 'SIGKILL');
  // A probe reaching the surviving worker answers for the group.
  let reasons: string[] = [];
  await waitFor(
    async () => {
      const r = await group.readyz().catch(() => undefined);
      reasons = r?.body.reasons ?? [];
      return r?.status === 503 && reasons.some((x) => x.startsWith('worker wk-2: '));
    },
    5000,
    '/readyz naming the dead worker',
  );
  await waitFor(() => group.workerPid(2) !== before, 10_000, 'worker 2 restarted');
  // A scrape while the new worker starts is answered (the primary asks only workers whose link is up).
  const scrape = await admin(group.adminPort, 'GET', '/metrics', undefined, null);
  assert.is(scrape.status, 200, scrape.text);
  assert.match(scrape.text, /^gatehouse_connections\{node="wk-1"\} /m);
  await group.waitReady(20_000);
  const died = group.logLines().find((l) => l.msg === 'worker died; restarting it');
  assert.ok(died, group.output);
  assert.is(died.signal, 'SIGKILL');
  assert.is(died.worker, 2);
  assert.ok(alive(group.workerPid(1)!));
  // The new worker 2 is a full node again, and not taken for a second process under its id.
  await waitFor(
    async () => {
      const r = await admin(group.adminPort, 'GET', '/admin/nodes');
      return JSON.stringify((r.body.nodes as { nodeId: string }[]).map((n) => n.nodeId)) === '["wk-1","wk-2"]';
    },
    5000,
    'both workers listed',
  );
  assert.not.ok(
    group.logLines().some((l) => typeof l.msg === 'string' && l.msg.includes('shared by several live processes')),
    group.output,
  );
});

test('SIGHUP of the primary reaches every worker: each re-reads its keys', async () => {
  const reloaded = () =>
    group
      .logLines()
      .filter((l) => l.msg === 'JWK Set reloaded')
      .map((l) => l.nodeId)
      .sort();
  assert.equal(reloaded(), []);
  group.signal('SIGHUP');
  await waitFor(() => reloaded().length === 2, 5000, 'both workers reloading');
  assert.equal(reloaded(), ['wk-1', 'wk-2']);
  // Both workers are still there and ready: a reload ends nothing.
  await group.waitReady(5000);
});

test('SIGTERM of the primary drains both workers: every socket gets ShuttingDown, then the primary exits 0', async () => {
  const sockets = await clientsOnBothWorkers('drain-');
  const pids = [group.workerPid(1)!, group.workerPid(2)!];
  const closes = sockets.map((s) => nextEvent<{ code: number }>(s, 'close', 10_000));
  group.signal('SIGTERM');
  for (const c of await Promise.all(closes)) assert.is(c.code, CloseCode.ShuttingDown);
  const { code } = await group.exited;
  assert.is(code, 0, group.output);
  await waitFor(() => pids.every((pid) => !alive(pid)), 5000, 'both workers gone');
  const stopped = group.logLines().filter((l) => l.msg === 'worker stopped');
  assert.equal(stopped.map((l) => l.code).sort(), [0, 0]);
});

test('a primary killed outright leaves no worker behind: each ends when the channel to its primary closes', async () => {
  const orphans = scope.own(
    await WorkerGroup.start({ GATEHOUSE_WORKERS: '2', GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_NODE_ID: 'orphan' }),
    (g) => g.kill(),
    'worker group',
  );
  const pids = [orphans.workerPid(1)!, orphans.workerPid(2)!];
  process.kill(orphans.pid, 'SIGKILL');
  await waitFor(() => pids.every((pid) => !alive(pid)), 10_000, 'both orphaned workers gone');
});

test('workers that keep dying before they listen: the primary gives up and exits non-zero', async () => {
  // The port is taken, so every worker fails to listen.
  const blocker: Server = scope.own(createServer(), (server) => new Promise((r) => server.close(r)), 'server');
  const port = await freePort();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  const doomed = scope.own(
    WorkerGroup.spawn(port, await freePort(), { GATEHOUSE_WORKERS: '2', GATEHOUSE_REDIS_URL: redis.url }),
    (g) => g.kill(),
    'worker group',
  );
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    doomed.exited,
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), 40_000);
    }),
  ]);
  clearTimeout(timer);
  assert.ok(outcome, `the primary did not give up\n${doomed.output}`);
  assert.is(outcome.code, 1, doomed.output);
  assert.ok(
    doomed.logLines().some((l) => l.msg === 'worker keeps dying before it listens; stopping every worker'),
    doomed.output,
  );
  await waitFor(() => doomed.started().every((s) => !alive(s.pid)), 5000, 'no worker left behind');
});

test('GATEHOUSE_WORKERS=2 without Redis refuses to start (status 2), naming both Redis settings', async () => {
  const r = await runCli(['start'], { GATEHOUSE_WORKERS: '2', GATEHOUSE_AUTH_KEY: 'k'.repeat(40), GATEHOUSE_PORT: '0' });
  assert.is(r.code, 2);
  assert.match(r.stderr, /GATEHOUSE_WORKERS: 2 needs Redis.*GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER/);
});

test.run();
