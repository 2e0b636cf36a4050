/**
 * The scale run's simulated clients, inside one load generator process (bench/scale-run.ts drives several): N
 * authenticated SocketCluster connections spread over many loopback source addresses, each of which comes back after
 * an unexpected close the way the browser client does (./reconnect.ts: the same delays, the same close-code classes),
 * with its latest token and its channels. Counts what a storm needs: authentications per wall-clock second, failures
 * and closes by name, refusals by the flood limits. Times that cross processes are wall-clock milliseconds
 * (`performance.timeOrigin + performance.now()`), comparable between processes on one machine.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { closeName } from '../../client/close-policy';
import { closeAction, CloseCode } from '../../shared/close-codes';
import { ReconnectSchedule } from './reconnect';
import { ScWire } from './sc-wire';

const now = () => performance.now();
/** Wall-clock ms with sub-ms resolution, comparable across the bench's processes. */
export const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Client {
  readonly index: number;
  token: string;
  readonly address: string | undefined;
  readonly schedule: ReconnectSchedule;
  wire?: ScWire;
  authenticated: boolean;
  connecting: boolean;
  /** Not to come back: closed by the bench, or closed with a code whose class says stop (revoked). */
  stopped: boolean;
  timer?: NodeJS.Timeout;
  closedAt?: number;
  closeCode?: number;
}

type Mint = (name: string) => string;

/** Runs `n` jobs with at most `concurrency` at once. */
async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await job(next++);
    }),
  );
}

const bump = (counts: Record<string, number>, name: string) => {
  counts[name] = (counts[name] ?? 0) + 1;
};

/** The commands the scale run sends to this load generator, given the generator's token minting. */
export function scaleCommands(mint: Mint) {
  let url = '';
  let connectTimeoutMs = 20_000;
  const clients: Client[] = [];
  const byIndex = new Map<number, Client>();
  const channels: string[] = [];
  /** Successful authentications by wall-clock second. */
  const authsBySecond = new Map<number, number>();
  /** Failed connects (by error name) and closes of authenticated sockets (by close-code name). */
  const failures: Record<string, number> = {};
  const closes: Record<string, number> = {};
  let floodRefusals = 0;
  let setAuthToken = 0;
  let removeAuthToken = 0;
  const broadcasts = new Map<string, number[]>();
  let subscribeFailures = 0;

  const failed = (c: Client, err: Error) => {
    // A close during the handshake rejects it as `closed (<code>)`: the code names it (a flood refusal is 4101/4102).
    const m = /^closed \((\d+)\)/.exec(err.message);
    const code = m ? Number(m[1]) : 1006;
    bump(failures, m ? closeName(code) : err.name || 'Error');
    if (code === CloseCode.TooManyConnections || code === CloseCode.HandshakeRateLimited) floodRefusals++;
    retry(c, code);
  };

  const retry = (c: Client, code: number) => {
    if (c.stopped) return;
    if (closeAction(code) === 'stop') {
      c.stopped = true;
      return;
    }
    c.timer = setTimeout(() => void connect(c), c.schedule.next(code, now()));
  };

  const onClose = (c: Client, wire: ScWire, code: number) => {
    if (c.wire !== wire) return;
    c.wire = undefined;
    c.authenticated = false;
    c.closedAt = wallNow();
    c.closeCode = code;
    if (c.stopped) return;
    bump(closes, closeName(code));
    if (code === CloseCode.TooManyConnections || code === CloseCode.HandshakeRateLimited) floodRefusals++;
    retry(c, code);
  };

  const connect = async (c: Client): Promise<void> => {
    c.timer = undefined;
    if (c.stopped || c.connecting || c.wire) return;
    c.connecting = true;
    let opened: Awaited<ReturnType<typeof ScWire.open>>;
    try {
      opened = await ScWire.open(url, c.token, connectTimeoutMs, { localAddress: c.address });
    } catch (err) {
      c.connecting = false;
      failed(c, err as Error);
      return;
    }
    c.connecting = false;
    const { wire, status } = opened;
    if (c.stopped) {
      wire.terminate();
      return;
    }
    if (status.isAuthenticated !== true) {
      const name = (status.authError as { name?: string } | undefined)?.name ?? 'NotAuthenticated';
      bump(failures, name);
      wire.terminate();
      retry(c, 1006);
      return;
    }
    c.wire = wire;
    c.authenticated = true;
    c.schedule.connected(now());
    const second = Math.floor(wallNow() / 1000);
    authsBySecond.set(second, (authsBySecond.get(second) ?? 0) + 1);
    wire.onEvent = (event, data) => {
      if (event === '#setAuthToken') {
        setAuthToken++;
        const token = (data as { token?: unknown } | undefined)?.token;
        if (typeof token === 'string') c.token = token;
      } else if (event === '#removeAuthToken') removeAuthToken++;
    };
    wire.onPublish = (_channel, data) => {
      const d = data as { bid?: string; t?: number } | undefined;
      if (typeof d?.bid !== 'string' || typeof d.t !== 'number') return;
      let list = broadcasts.get(d.bid);
      if (!list) broadcasts.set(d.bid, (list = []));
      list.push(wallNow() - d.t);
    };
    void wire.closed.then((code) => onClose(c, wire, code));
    // As the client does: its channels are made again on the new connection.
    for (const channel of channels) wire.subscribe(channel).catch(() => subscribeFailures++);
  };

  /** Opens `n` clients (global indexes `offset`…), `concurrency` at a time; waits until all are authenticated or `waitMs`. */
  async function scaleOpen(args: {
    url: string;
    n: number;
    offset: number;
    prefix: string;
    addresses: string[];
    concurrency: number;
    waitMs: number;
    connectTimeoutMs?: number;
  }) {
    url = args.url;
    if (args.connectTimeoutMs) connectTimeoutMs = args.connectTimeoutMs;
    const t0 = wallNow();
    const fresh: Client[] = [];
    for (let k = 0; k < args.n; k++) {
      const index = args.offset + k;
      const c: Client = {
        index,
        token: mint(`${args.prefix}-${index}`),
        address: args.addresses.length > 0 ? args.addresses[index % args.addresses.length] : undefined,
        schedule: new ReconnectSchedule(),
        authenticated: false,
        connecting: false,
        stopped: false,
      };
      fresh.push(c);
      clients.push(c);
      byIndex.set(index, c);
    }
    await pool(fresh.length, args.concurrency, (k) => connect(fresh[k]));
    const firstPassMs = wallNow() - t0;
    const deadline = now() + args.waitMs;
    while (fresh.some((c) => !c.authenticated) && now() < deadline) await sleep(50);
    const authenticated = fresh.filter((c) => c.authenticated).length;
    return { n: args.n, authenticated, firstPassMs, wallMs: wallNow() - t0, startedAt: t0, failures: { ...failures } };
  }

  /** Subscribes every authenticated client to `channel` (and every client that comes back later). */
  async function scaleSubscribe({ channel, concurrency }: { channel: string; concurrency: number }) {
    channels.push(channel);
    const live = clients.filter((c) => c.wire);
    let failed = 0;
    const t0 = now();
    await pool(live.length, concurrency, async (k) => {
      try {
        await live[k].wire?.subscribe(channel);
      } catch {
        failed++;
      }
    });
    return { subscribed: live.length - failed, failed, wallMs: now() - t0 };
  }

  function scaleStats() {
    let authenticated = 0;
    let stopped = 0;
    for (const c of clients) {
      if (c.authenticated) authenticated++;
      if (c.stopped) stopped++;
    }
    return {
      clients: clients.length,
      authenticated,
      stopped,
      setAuthToken,
      removeAuthToken,
      failures: { ...failures },
      closes: { ...closes },
      floodRefusals,
      subscribeFailures,
      authsBySecond: Object.fromEntries(authsBySecond),
    };
  }

  /** Deliveries of broadcast `bid` so far: their count, and with `latencies` each one's publish→receive ms. */
  function scaleBroadcast({ bid, latencies }: { bid: string; latencies?: boolean }) {
    const list = broadcasts.get(bid) ?? [];
    return { delivered: list.length, ...(latencies ? { latencies: list } : {}) };
  }

  /** One client's state, by global index (for the revocation's close time). */
  function scaleClient({ index }: { index: number }) {
    const c = byIndex.get(index);
    return c ? { authenticated: c.authenticated, stopped: c.stopped, closedAt: c.closedAt, closeCode: c.closeCode } : undefined;
  }

  /** Stops every client (no reconnect) and drops its connection. */
  async function scaleClose() {
    for (const c of clients) {
      c.stopped = true;
      clearTimeout(c.timer);
      c.wire?.terminate();
    }
    await sleep(100);
    return { closed: clients.length };
  }

  // --- a few publishers and subscribers among the clients, for publish latency during a storm -------------------

  const probe = {
    subs: [] as ScWire[],
    pubs: [] as ScWire[],
    latencies: [] as number[],
    sentAt: [] as number[],
    loop: undefined as IntervalHistogram | undefined,
    timer: undefined as NodeJS.Timeout | undefined,
    sent: 0,
  };

  /**
   * Opens `subscribers` + `publishers` extra connections on `channel` (no reconnect: one that drops is no survivor)
   * and publishes `ratePerSecond` messages round robin over the publishers still up.
   */
  async function probeStart(args: {
    url: string;
    channel: string;
    subscribers: number;
    publishers: number;
    ratePerSecond: number;
    addresses: string[];
    prefix: string;
  }) {
    const address = (k: number) => (args.addresses.length > 0 ? args.addresses[k % args.addresses.length] : undefined);
    // A node pacing its handshakes may turn a probe connection away (503): it backs off and tries again, as a client.
    const open = async (token: string, localAddress: string | undefined) => {
      const schedule = new ReconnectSchedule();
      for (let attempt = 0; ; attempt++) {
        try {
          return await ScWire.open(args.url, token, connectTimeoutMs, { localAddress });
        } catch (err) {
          if (attempt >= 8) throw err;
          await new Promise((r) => setTimeout(r, schedule.next(1006, now())));
        }
      }
    };
    for (let k = 0; k < args.subscribers; k++) {
      const { wire, status } = await open(mint(`${args.prefix}-s${k}`), address(k));
      if (status.isAuthenticated !== true) throw new Error('probe subscriber not authenticated');
      await wire.subscribe(args.channel);
      wire.onPublish = (_channel, data) => {
        const t = (data as { pt?: number } | undefined)?.pt;
        if (typeof t !== 'number') return;
        probe.latencies.push(now() - t);
        probe.sentAt.push(t);
      };
      probe.subs.push(wire);
    }
    for (let k = 0; k < args.publishers; k++) {
      const { wire, status } = await open(mint(`${args.prefix}-p${k}`), address(k + args.subscribers));
      if (status.isAuthenticated !== true) throw new Error('probe publisher not authenticated');
      probe.pubs.push(wire);
    }
    probe.loop?.disable();
    probe.loop = monitorEventLoopDelay({ resolution: 10 });
    probe.loop.enable();
    const up = new Set<ScWire>([...probe.subs, ...probe.pubs]);
    for (const w of up) void w.closed.then(() => up.delete(w));
    probe.timer = setInterval(
      () => {
        const live = probe.pubs.filter((p) => up.has(p));
        if (live.length === 0) return;
        live[probe.sent++ % live.length].publish(args.channel, { pt: now() });
      },
      Math.max(1, 1000 / args.ratePerSecond),
    );
    return { subscribers: probe.subs.length, publishers: probe.pubs.length };
  }

  /**
   * The probe's publish→receive latencies since the last mark, when each was published (this process's clock, as
   * `clock` is now), and how many probe connections are still up.
   */
  function probeMark() {
    const latencies = probe.latencies.splice(0);
    const sentAt = probe.sentAt.splice(0);
    const up = (ws: ScWire[]) => ws.filter((w) => w.ws.readyState === w.ws.OPEN).length;
    // The probe's own lateness: what of the latencies is this process waiting for a core, not the gateway.
    const loop = probe.loop;
    const ownDelayMs = loop ? { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 } : undefined;
    loop?.reset();
    return { latencies, sentAt, clock: now(), ownDelayMs, subscribersUp: up(probe.subs), publishersUp: up(probe.pubs) };
  }

  function probeStop() {
    clearInterval(probe.timer);
    probe.loop?.disable();
    for (const w of [...probe.subs, ...probe.pubs]) w.terminate();
    probe.subs = [];
    probe.pubs = [];
    return { ok: true };
  }

  return { scaleOpen, scaleSubscribe, scaleStats, scaleBroadcast, scaleClient, scaleClose, probeStart, probeMark, probeStop };
}
