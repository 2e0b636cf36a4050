/**
 * The bench's load generator: a separate process (pinned to its own core) that the bench drives over IPC. It speaks
 * SocketCluster's and Socket.IO's protocols on raw `ws` (./sc-wire.ts, ./sio-wire.ts), mints its own tokens, and reads
 * the server's CPU time from /proc at the exact moments a phase starts and ends. Every wait is bounded.
 *
 * Message in: `{id, cmd, ...args}`; answer: `{id, result}` or `{id, error}`.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { cpuMicros } from '../proc';
import { quantile, Reservoir } from '../stats';
import { scaleCommands } from './scale-clients';
import { ScWire, type WireOptions } from './sc-wire';
import { SioWire } from './sio-wire';

export interface Target {
  readonly kind: 'sc' | 'sio';
  /** SocketCluster: `ws://host:port/socketcluster/`; Socket.IO: `ws://host:port`. */
  readonly url: string;
  /** The server's pid, for its CPU time. */
  readonly pid: number;
}

interface Wire {
  publish(channel: string, data: unknown): void;
  subscribe(channel: string): Promise<unknown>;
  onPublish?: (channel: string, data: unknown) => void;
  onEvent?: (event: string, data: unknown) => void;
  readonly closed: Promise<number>;
  close(): void;
  terminate(): void;
}

let key: KeyObject;
let tokenDefaults: { iss?: string; aud?: string } = {};
/** How long a connection's handshake may take (init's `connectTimeoutMs`: a server under valgrind is slow). */
let connectTimeoutMs = 10_000;

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A token for the i-th socket of a phase: its own sub, sid and jti, a 1 h lifetime, grants on `bench:*`. */
function mint(name: string, extra: Record<string, unknown> = {}): string {
  const iat = Math.floor(Date.now() / 1000);
  return jwt.sign(
    { sub: `user-${name}`, sid: `sid-${name}`, jti: `jti-${name}`, channels: ['bench:*'], iat, exp: iat + 3600, ...tokenDefaults, ...extra },
    key,
    { algorithm: 'HS256' },
  );
}

async function open(target: Target, token: string | null, timeoutMs = connectTimeoutMs, options: WireOptions = {}): Promise<{ wire: Wire; ok: boolean }> {
  if (target.kind === 'sio') {
    const { wire, status } = await SioWire.open(target.url, token, timeoutMs, options);
    return { wire, ok: status.isAuthenticated };
  }
  const { wire, status } = await ScWire.open(target.url, token, timeoutMs, options);
  return { wire, ok: status.isAuthenticated === true };
}

/** Runs `n` jobs with at most `concurrency` at once. */
async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await job(next++);
    }),
  );
}

async function closeAll(wires: Wire[], waitMs = 5000): Promise<void> {
  for (const w of wires) w.close();
  await Promise.race([Promise.all(wires.map((w) => w.closed)), sleep(waitMs)]);
  for (const w of wires) w.terminate();
}

const pct = (values: readonly number[]) => ({ p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: quantile(values, 1), n: values.length });

// ---------------------------------------------------------------------------------------------------------------

/** `n` authenticated handshakes, `concurrency` at a time, each on a new connection kept open until the end. */
async function handshakes({ target, n, concurrency, prefix }: { target: Target; n: number; concurrency: number; prefix: string }) {
  const tokens = Array.from({ length: n }, (_, i) => mint(`${prefix}-${i}`));
  const wires: Wire[] = [];
  const latencies: number[] = [];
  let failures = 0;
  const cpu0 = cpuMicros(target.pid);
  const t0 = now();
  await pool(n, concurrency, async (i) => {
    const started = now();
    try {
      const { wire, ok } = await open(target, tokens[i]);
      wires.push(wire);
      if (ok) latencies.push(now() - started);
      else failures++;
    } catch {
      failures++;
    }
  });
  const wallMs = now() - t0;
  const cpuUs = cpuMicros(target.pid) - cpu0;
  await closeAll(wires);
  const ok = n - failures;
  return { n, failures, wallMs, perSecond: (ok / wallMs) * 1000, serverCpuUsEach: cpuUs / Math.max(1, ok), latencyMs: pct(latencies) };
}

/** Idle authenticated connections kept open between commands, by group name. */
const groups = new Map<string, { wires: Wire[]; setAuthToken: number; removeAuthToken: number }>();

async function openGroup({
  target,
  group,
  n,
  concurrency,
  prefix,
  extra,
  spreadSources,
}: {
  target: Target;
  group: string;
  n: number;
  concurrency: number;
  prefix: string;
  extra?: Record<string, unknown>;
  spreadSources?: boolean;
}) {
  const entry = groups.get(group) ?? { wires: [], setAuthToken: 0, removeAuthToken: 0 };
  groups.set(group, entry);
  let failures = 0;
  const t0 = now();
  await pool(n, concurrency, async (i) => {
    // Past ~28,000 sockets one source address runs out of ephemeral ports: spread over 127.0.0.2, .3, …
    const localAddress = spreadSources ? `127.0.0.${2 + Math.floor(i / 20_000)}` : undefined;
    try {
      const { wire, ok } = await open(target, mint(`${prefix}-${i}`, extra), 20_000, { localAddress });
      if (!ok) failures++;
      wire.onEvent = (event) => {
        if (event === '#setAuthToken') entry.setAuthToken++;
        else if (event === '#removeAuthToken') entry.removeAuthToken++;
      };
      entry.wires.push(wire);
    } catch {
      failures++;
    }
  });
  return { open: entry.wires.length, failures, wallMs: now() - t0 };
}

function groupStats({ group }: { group: string }) {
  const entry = groups.get(group);
  return entry
    ? { open: entry.wires.length, setAuthToken: entry.setAuthToken, removeAuthToken: entry.removeAuthToken }
    : { open: 0, setAuthToken: 0, removeAuthToken: 0 };
}

async function closeGroup({ group }: { group: string }) {
  const entry = groups.get(group);
  groups.delete(group);
  if (entry) await closeAll(entry.wires, 10_000);
  return { closed: entry?.wires.length ?? 0 };
}

/**
 * Publish fan-out: `channels` channels with `fanout` subscribers each, `publishers` other sockets publishing round
 * robin with at most `window` deliveries outstanding (a closed loop: the server's pace sets the rate). After
 * `warmupMs`, counts deliveries, server CPU and publish-to-receive latency for `durationMs`.
 */
async function publish({
  target,
  fanout,
  channels,
  publishers,
  window,
  warmupMs,
  durationMs,
  prefix,
  stallMs = 3000,
}: {
  target: Target;
  fanout: number;
  channels: number;
  publishers: number;
  window: number;
  warmupMs: number;
  durationMs: number;
  prefix: string;
  /** No delivery for this long fails the phase (a server under valgrind needs far longer than 3 s at first). */
  stallMs?: number;
}) {
  const names = Array.from({ length: channels }, (_, i) => `bench:${prefix}:${i}`);
  const subscribers: Wire[] = [];
  const pubs: Wire[] = [];
  let received = 0;
  let sent = 0;
  let measuring = false;
  let stopped = false;
  let lastReceive = now();
  const latencies = new Reservoir();

  const pump = () => {
    while (!stopped && sent * fanout - received < window) {
      const i = sent++;
      pubs[i % publishers].publish(names[i % channels], { t: now(), n: i });
    }
  };
  const onPublish = (_channel: string, data: unknown) => {
    received++;
    lastReceive = now();
    if (measuring) latencies.add(lastReceive - (data as { t: number }).t);
    pump();
  };

  try {
    await pool(channels * fanout, 32, async (i) => {
      const { wire, ok } = await open(target, mint(`${prefix}-s${i}`));
      subscribers.push(wire);
      if (!ok) throw new Error('subscriber not authenticated');
      await wire.subscribe(names[i % channels]);
      wire.onPublish = onPublish;
    });
    await pool(publishers, 32, async (i) => {
      const { wire, ok } = await open(target, mint(`${prefix}-p${i}`));
      pubs.push(wire);
      if (!ok) throw new Error('publisher not authenticated');
    });
    await sleep(100); // let every subscription settle (Redis SUBSCRIBE)

    pump();
    const deadline = now() + warmupMs + durationMs;
    let cpu0 = 0;
    let received0 = 0;
    let t0 = 0;
    const warmEnd = now() + warmupMs;
    // A window that saw no delivery, or no tick of the server's CPU clock (10 ms), has no figure: on a loaded machine
    // a short smoke window can end so. It runs on until it has both, or the stall check below gives up.
    while (now() < deadline || received === received0 || cpuMicros(target.pid) === cpu0) {
      await sleep(20);
      if (!measuring && now() >= warmEnd) {
        measuring = true;
        cpu0 = cpuMicros(target.pid);
        received0 = received;
        t0 = now();
      }
      if (now() - lastReceive > stallMs) throw new Error(`publish stalled: ${received} of ${sent * fanout} deliveries arrived`);
    }
    const cpuUs = cpuMicros(target.pid) - cpu0;
    const wallMs = now() - t0;
    const deliveries = received - received0;
    measuring = false;
    stopped = true;
    // Drain what is in flight before closing, so the next phase starts on a quiet server.
    const drainBy = now() + 3000;
    while (received < sent * fanout && now() < drainBy) await sleep(10);
    return {
      fanout,
      channels,
      publishers,
      window,
      deliveries,
      wallMs,
      deliveriesPerSecond: (deliveries / wallMs) * 1000,
      serverCpuUsPerDelivery: cpuUs / Math.max(1, deliveries),
      latencyMs: pct(latencies.values),
      lost: sent * fanout - received,
    };
  } finally {
    stopped = true;
    await closeAll([...subscribers, ...pubs]);
  }
}

/**
 * Revocation node to node: one socket at a time on node B (the target), revoked by session through node A's admin
 * API; the time from sending the revoke to the socket's close on B.
 */
async function revocation({ target, adminUrl, adminKey, n, prefix }: { target: Target; adminUrl: string; adminKey: string; n: number; prefix: string }) {
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${i}`;
    const { wire, ok } = await open(target, mint(name));
    if (!ok) throw new Error('revocation socket not authenticated');
    await sleep(2);
    const closedAt = wire.closed.then((code) => {
      codes[code] = (codes[code] ?? 0) + 1;
      return now();
    });
    const started = now();
    const answer = await fetch(`${adminUrl}/admin/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sid: `sid-${name}` }),
      signal: AbortSignal.timeout(5000),
    });
    await answer.body?.cancel();
    if (answer.status !== 200) throw new Error(`admin revoke answered ${answer.status}`);
    const closed = await Promise.race([closedAt, sleep(5000).then(() => undefined)]);
    if (closed === undefined) {
      wire.terminate();
      throw new Error(`socket ${name} not closed within 5 s of its revocation`);
    }
    latencies.push(closed - started);
  }
  return { latencyMs: pct(latencies), closeCodes: codes };
}

/**
 * Live grants across nodes: one socket at a time on node B (the target), subscribed to a channel; node A's admin API
 * takes the channel away (PUT /admin/grants/{sub}); the time from sending the PUT to the `#kickOut` on B. Then the
 * cost on B of one change that kicks `perSocket` sockets of one user out of a channel each: B's CPU time over the
 * change, per socket.
 */
async function grants({
  target,
  adminUrl,
  adminKey,
  n,
  perSocket,
  prefix,
}: {
  target: Target;
  adminUrl: string;
  adminKey: string;
  n: number;
  perSocket: number;
  prefix: string;
}) {
  const put = async (sub: string, version: number, channels: string[]) => {
    const answer = await fetch(`${adminUrl}/admin/grants/${encodeURIComponent(sub)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version, channels }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await answer.json()) as { applied?: Record<string, number>; unanswered?: string[] };
    if (answer.status !== 200) throw new Error(`admin grants answered ${answer.status}`);
    return body;
  };
  const latencies: number[] = [];
  const answers: number[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${i}`;
    const { wire, ok } = await open(target, mint(name));
    if (!ok) throw new Error('grants socket not authenticated');
    await wire.subscribe('bench:grants');
    const kicked = new Promise<number>((resolve) => {
      wire.onEvent = (event) => {
        if (event === '#kickOut') resolve(now());
      };
    });
    const started = now();
    await put(`user-${name}`, 1, ['bench:other']);
    answers.push(now() - started);
    const at = await Promise.race([kicked, sleep(5000).then(() => undefined)]);
    wire.close();
    if (at === undefined) throw new Error(`socket ${name} not kicked out within 5 s of the change`);
    latencies.push(at - started);
  }
  // One user, `perSocket` sockets on B, each subscribed: one change kicks them all.
  const sub = `${prefix}-many`;
  const wires: Wire[] = [];
  let kicks = 0;
  await pool(perSocket, 32, async (i) => {
    const { wire, ok } = await open(target, mint(`${prefix}-many-${i}`, { sub: `user-${sub}` }));
    if (!ok) throw new Error('grants socket not authenticated');
    await wire.subscribe('bench:grants');
    wire.onEvent = (event) => {
      if (event === '#kickOut') kicks++;
    };
    wires.push(wire);
  });
  await sleep(200);
  const cpu0 = cpuMicros(target.pid);
  const t0 = now();
  const answer = await put(`user-${sub}`, 1, ['bench:other']);
  const deadline = now() + 10_000;
  while (kicks < wires.length && now() < deadline) await sleep(5);
  const cpu1 = cpuMicros(target.pid);
  const allKickedMs = now() - t0;
  await closeAll(wires);
  if (kicks < wires.length) throw new Error(`${wires.length - kicks} of ${wires.length} sockets not kicked out within 10 s`);
  return {
    propagationMs: pct(latencies),
    answerMs: pct(answers),
    perSocket: { sockets: wires.length, applied: answer.applied, cpuUsPerSocket: (cpu1 - cpu0) / wires.length, allKickedMs },
  };
}

/**
 * Expiry enforcement: `n` sockets whose tokens expire `inSeconds` from now (a session at its maximum age, so Gatehouse
 * cannot renew it); the lag from `exp` to the server's `#removeAuthToken` (or the close) on each.
 */
async function expiry({
  target,
  n,
  inSeconds,
  waitMs,
  prefix,
  sessionMaxAgeSeconds,
}: {
  target: Target;
  n: number;
  inSeconds: number;
  waitMs: number;
  prefix: string;
  sessionMaxAgeSeconds: number;
}) {
  // At least `inSeconds` away, so every socket is authenticated before its token lapses.
  const exp = Math.ceil((Date.now() + inSeconds * 1000) / 1000);
  const expMs = exp * 1000;
  const lags: number[] = [];
  const wires: Wire[] = [];
  try {
    await pool(n, 16, async (i) => {
      const iat = Math.floor(Date.now() / 1000);
      // auth_time puts the session's end at exp: no renewal can extend it.
      const token = mint(`${prefix}-${i}`, { iat, exp, auth_time: exp - sessionMaxAgeSeconds });
      const { wire, ok } = await open(target, token);
      if (!ok) throw new Error('expiry socket not authenticated');
      wires.push(wire);
      let seen = false;
      const note = () => {
        if (seen) return;
        seen = true;
        lags.push(Date.now() - expMs);
      };
      wire.onEvent = (event) => {
        if (event === '#removeAuthToken') note();
      };
      void wire.closed.then(note);
    });
    const deadline = expMs + waitMs;
    while (lags.length < n && Date.now() < deadline) await sleep(20);
    return { n, enforced: lags.length, lagMs: pct(lags) };
  } finally {
    await closeAll(wires);
  }
}

/**
 * Logins over RPC from `concurrency` anonymous sockets, `n` in all. Each socket has its own loopback source address:
 * the gateway lets one client address have only two logins in flight.
 */
async function login({ target, n, concurrency, username, password }: { target: Target; n: number; concurrency: number; username: string; password: string }) {
  const wires: ScWire[] = [];
  for (let i = 0; i < concurrency; i++) wires.push((await ScWire.open(target.url, null, 10_000, { localAddress: `127.0.1.${i + 1}` })).wire);
  let failures = 0;
  const latencies: number[] = [];
  const cpu0 = cpuMicros(target.pid);
  const t0 = now();
  try {
    await pool(n, concurrency, async (i) => {
      const started = now();
      try {
        await wires[i % concurrency].invoke('login', { username, password }, 30_000);
        latencies.push(now() - started);
      } catch {
        failures++;
      }
    });
    const wallMs = now() - t0;
    const cpuUs = cpuMicros(target.pid) - cpu0;
    const ok = n - failures;
    return { n, failures, concurrency, perSecond: (ok / wallMs) * 1000, serverCpuMsEach: cpuUs / 1000 / Math.max(1, ok), latencyMs: pct(latencies) };
  } finally {
    await closeAll(wires);
  }
}

/**
 * Subscribes every socket of a group to `channel`, `concurrency` at a time: the wall time, and the server's CPU from
 * the first subscribe until `settleMs` after the last answer (what the subscribes set off afterwards included).
 */
async function groupSubscribe({
  target,
  group,
  channel,
  concurrency,
  settleMs,
}: {
  target: Target;
  group: string;
  channel: string;
  concurrency: number;
  settleMs: number;
}) {
  const wires = groups.get(group)?.wires ?? [];
  let failures = 0;
  const cpu0 = cpuMicros(target.pid);
  const t0 = now();
  await pool(wires.length, concurrency, async (i) => {
    try {
      await wires[i].subscribe(channel);
    } catch {
      failures++;
    }
  });
  const wallMs = now() - t0;
  await sleep(settleMs);
  const cpuUs = cpuMicros(target.pid) - cpu0;
  return { n: wires.length, failures, wallMs, serverCpuUsEach: cpuUs / Math.max(1, wires.length - failures) };
}

/**
 * Presence node to node: a watcher on the target (node B) holds `channel`; one at a time, a fresh socket on `remote`
 * (node A) subscribes to it, and the time from sending that subscribe to the watcher's `gatehouse:presence` event
 * naming the new member is one sample. The joiners stay until the end, so node A holds the channel throughout.
 */
async function presenceLatency({ target, remote, channel, k, prefix }: { target: Target; remote: Target; channel: string; k: number; prefix: string }) {
  const { wire: watcher, ok } = await open(target, mint(`${prefix}-watcher`));
  if (!ok) throw new Error('presence watcher not authenticated');
  const waiting = new Map<string, { at: number; done: () => void }>();
  const latencies: number[] = [];
  watcher.onEvent = (event, data) => {
    if (event !== 'gatehouse:presence') return;
    for (const join of (data as { joins?: { sub: string }[] }).joins ?? []) {
      const w = waiting.get(join.sub);
      if (!w) continue;
      waiting.delete(join.sub);
      latencies.push(now() - w.at);
      w.done();
    }
  };
  const joiners: Wire[] = [];
  try {
    await watcher.subscribe(channel);
    let missed = 0;
    for (let i = 0; i < k; i++) {
      const name = `${prefix}-${i}`;
      const { wire, ok: joined } = await open(remote, mint(name));
      joiners.push(wire);
      if (!joined) throw new Error('presence joiner not authenticated');
      const seen = new Promise<void>((done) => waiting.set(`user-${name}`, { at: now(), done }));
      void wire.subscribe(channel).catch(() => undefined);
      const arrived = await Promise.race([seen.then(() => true), sleep(3000).then(() => false)]);
      if (!arrived) missed++;
      waiting.delete(`user-${name}`);
      // Off the coalescing window's beat, so samples land anywhere in it.
      await sleep(60 + Math.random() * 100);
    }
    return { n: k, missed, latencyMs: pct(latencies) };
  } finally {
    watcher.close();
    await closeAll(joiners);
  }
}

// ---------------------------------------------------------------------------------------------------------------

const commands: Record<string, (args: never) => unknown> = {
  handshakes,
  openGroup,
  groupStats,
  closeGroup,
  publish,
  revocation,
  grants,
  expiry,
  login,
  groupSubscribe,
  presenceLatency,
  // The scale run's long-lived clients (bench/scale-run.ts), with the client's reconnect policy.
  ...scaleCommands((name) => mint(name)),
};

process.on('message', (message: { id: number; cmd: string; secret?: string; iss?: string; aud?: string; connectTimeoutMs?: number }) => {
  if (message.cmd === 'init') {
    if (message.connectTimeoutMs) connectTimeoutMs = message.connectTimeoutMs;
    key = createSecretKey(Buffer.from(message.secret ?? '', 'utf8'));
    tokenDefaults = { ...(message.iss ? { iss: message.iss } : {}), ...(message.aud ? { aud: message.aud } : {}) };
    process.send!({ id: message.id, result: { ok: true } });
    return;
  }
  const run = commands[message.cmd];
  if (!run) {
    process.send!({ id: message.id, error: `unknown command ${message.cmd}` });
    return;
  }
  Promise.resolve()
    .then(() => run(message as never))
    .then(
      (result) => process.send!({ id: message.id, result }),
      (err: Error) => process.send!({ id: message.id, error: err?.stack ?? String(err) }),
    );
});
process.on('disconnect', () => process.exit(0));
