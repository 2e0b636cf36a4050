// budget: 90s
// The bench harness works (not how fast anything is): `npm run bench -- --smoke` runs every system and every figure at
// a tiny scale (every system at once, about 5–10 s), and the peer servers it compares against behave for their own
// stock clients as the bench's raw-ws load generator assumes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as socketIoClient, type Socket } from 'socket.io-client';
import * as socketClusterClient from 'socketcluster-client';
import type { AGClientSocket } from 'socketcluster-client';
import { buildBench } from '../build';
import { freePort, ServerProcess } from '../processes';
import type { PassResult } from '../report';
import { SYSTEMS } from '../systems';
import { mintHs256, nextEvent, SECRET, storedToken } from '../../test/helpers/gateway';

const BENCH = join(__dirname, '..');
const ROOT = join(BENCH, '..');
const out = mkdtempSync(join(tmpdir(), 'gatehouse-bench-smoke-'));
const servers: ServerProcess[] = [];
const closers: (() => void)[] = [];

test.after.each(async () => {
  for (const close of closers.splice(0)) close();
  for (const s of servers.splice(0)) await s.stop();
});
test.after(() => rmSync(out, { recursive: true, force: true }));

function runSmoke(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH, 'run.ts'), '--smoke', '--json', `--out=${out}`], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 70_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('npm run bench -- --smoke measures every figure of every system and writes its JSON', async () => {
  const { code, stdout, stderr } = await runSmoke();
  assert.is(code, 0, `bench exited with ${code}\n${stderr}\n${stdout}`);
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as {
    passes: PassResult[];
    scale: Record<string, number>;
    summary: { targets: { base: string; ratio: { n: number } }[] };
  };
  assert.equal(result.passes.map((p) => p.system).sort(), [...SYSTEMS].sort());
  for (const { system, figures, error } of result.passes) {
    assert.is(error, undefined, `${system}: ${error}`);
    assert.is(figures.handshake?.failures, 0, system);
    assert.ok(figures.handshake!.perSecond > 0, system);
    for (const fan of [figures.fanout1!, figures.fanout200!]) {
      assert.ok(fan.deliveries > 0, `${system} delivered nothing`);
      assert.is(fan.lost, 0, `${system} lost deliveries`);
    }
    assert.is(figures.memory?.connections, 40, system);
    if (system.startsWith('gatehouse')) assert.is(figures.expiry?.enforced, figures.expiry?.n, `${system}: an expired token stayed authenticated`);
  }
  const deployed = result.passes.find((p) => p.system === 'gatehouse-redis')!.figures;
  assert.is(deployed.revocation?.latencyMs.n, 5);
  assert.equal(deployed.revocation?.closeCodes, { 4500: 5 });
  assert.is(deployed.login?.failures, 0);
  assert.is(result.scale.sockets, 100);
  assert.ok(result.scale.renewals > 0, 'no socket was renewed in the scale run');
  // Every target has its ratio (those against a --baseline commit need one, and a smoke run has none).
  for (const target of result.summary.targets.filter((t) => !t.base.startsWith('baseline'))) assert.is(target.ratio.n, 1);
  assert.ok(readdirSync(out).some((f) => f.startsWith('bench-smoke-') && f.endsWith('.json')));
  assert.match(stdout, /server CPU µs per handshake/);
});

test("the bench's stock AGServer and Socket.IO servers serve their own stock clients as the load generator speaks to them", async () => {
  const built = await buildBench();
  const env = { BENCH_SECRET: SECRET, BENCH_KEY: 'keyobject' };
  const stockPort = await freePort();
  const stock = new ServerProcess('stock', stockPort, [process.execPath, built.stock], { ...env, BENCH_PORT: String(stockPort) }, undefined);
  servers.push(stock);
  const sioPort = await freePort();
  const sio = new ServerProcess('socketio', sioPort, [process.execPath, built.socketio], { ...env, BENCH_PORT: String(sioPort) }, undefined);
  servers.push(sio);
  await Promise.all([stock.ready(), sio.ready()]);
  const token = mintHs256({ sub: 'u', channels: ['bench:*'] });

  const sc: AGClientSocket = socketClusterClient.create({
    hostname: '127.0.0.1',
    port: stockPort,
    autoReconnect: false,
    authEngine: storedToken(token),
  });
  closers.push(() => sc.disconnect());
  const status = await nextEvent<{ isAuthenticated: boolean }>(sc, 'connect');
  assert.ok(status.isAuthenticated);
  const channel = sc.subscribe('bench:x');
  await channel.listener('subscribe').once(3000);
  const delivered = (async (): Promise<unknown> => {
    for await (const data of channel) return data;
  })();
  await sc.invokePublish('bench:x', { n: 1 });
  assert.equal(await delivered, { n: 1 });
  const refusal = await sc.invokePublish('other', 1).then(
    () => undefined,
    (err: Error) => err,
  );
  assert.is(refusal?.name, 'ChannelForbiddenError');

  const client: Socket = socketIoClient(`http://127.0.0.1:${sioPort}`, { transports: ['websocket'], auth: { token }, reconnection: false });
  closers.push(() => client.disconnect());
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
  assert.equal(await client.timeout(3000).emitWithAck('subscribe', 'bench:y'), {});
  const received = new Promise((resolve) => client.once('publish', resolve));
  client.emit('publish', { channel: 'bench:y', data: { n: 2 } });
  assert.equal(await received, { channel: 'bench:y', data: { n: 2 } });
  assert.equal(await client.timeout(3000).emitWithAck('subscribe', 'other'), { error: 'forbidden' });

  const refused: Socket = socketIoClient(`http://127.0.0.1:${sioPort}`, { transports: ['websocket'], auth: { token: 'forged' }, reconnection: false });
  closers.push(() => refused.disconnect());
  const error = await new Promise<Error>((resolve) => refused.once('connect_error', resolve));
  assert.is(error.message, 'unauthorized');
});

test.run();
