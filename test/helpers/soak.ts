// The soak: connect / login / renew / publish / logout churn against one gateway on a private Redis, with tokens
// renewed every 2 s, while heap (after GC), timers, listeners and Redis keys are sampled. Shared by the 60 s run in
// npm test (test/integration/soak.test.ts) and the 30 min one (scripts/soak.ts). checkSoakBounds states the bounds.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { connectClient, nextEvent, sleep } from './gateway';
import { startLoginGateway, writeUsersFile, type TestUser } from './login';
import { TestRedis } from './redis-server';

setFlagsFromString('--expose-gc');
/** A full garbage collection, so heap samples compare live memory rather than garbage not yet collected. */
const collectGarbage = runInNewContext('gc') as () => void;

/** Seconds a logout's revocation key may live: GATEHOUSE_MAX_TOKEN_LIFETIME plus the clock tolerance. */
const REVOCATION_KEY_LIFETIME_MS = 30_000 + 5_000;
const PASSWORD = 'soak-password';

export interface SoakOptions {
  readonly durationMs: number;
  /** Users churning through connect / login / publish / logout, each from its own client address. */
  readonly workers: number;
  /** Sockets logged in for the whole run (renewed every 2 s). */
  readonly longLived: number;
  readonly sampleEveryMs: number;
  /** Called after each sample (progress for the long script). */
  readonly onSample?: (sample: SoakSample) => void;
}

export interface SoakSample {
  readonly atMs: number;
  readonly heapMiB: number;
  readonly rssMiB: number;
  readonly timers: number;
  readonly openSockets: number;
  readonly renewalEntries: number;
  readonly indexedSockets: number;
  readonly redisKeys: number;
  /** Logouts in the REVOCATION_KEY_LIFETIME_MS before this sample: their revocation keys may still exist. */
  readonly recentLogouts: number;
  readonly serverListenerConsumers: number;
  readonly serverListenerBackpressure: number;
  readonly processListeners: number;
}

export interface SoakReport {
  readonly options: Omit<SoakOptions, 'onSample'>;
  readonly baseline: SoakSample;
  readonly samples: readonly SoakSample[];
  /** After the churn stopped and every socket closed. */
  readonly end: SoakSample;
  readonly cycles: number;
  readonly logins: Record<string, number>;
  readonly logouts: number;
  readonly publishes: number;
  readonly received: number;
  readonly renewalsOnLongLived: readonly number[];
  readonly longLivedStillAuthenticated: number;
  readonly serverRenewals: number;
  readonly serverErrors: number;
  readonly nodeState: string;
  readonly users: number;
}

/** Runs the soak and reports; every server, client and Redis it starts is stopped before it returns. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const users: TestUser[] = Array.from({ length: options.workers * 3 + options.longLived }, (_, i) => ({
    username: `soak-${i}`,
    password: PASSWORD,
    sub: `soak-user-${i}`,
    channels: ['soak:*'],
  }));
  const redis = await TestRedis.start();
  const probe = redis.client();
  probe.on('error', () => undefined);
  const gateway = await startLoginGateway({
    GATEHOUSE_REDIS_URL: redis.url,
    GATEHOUSE_USERS_FILE: await writeUsersFile(users),
    GATEHOUSE_RENEW_INTERVAL: '2s',
    GATEHOUSE_TOKEN_TTL: '6s',
    GATEHOUSE_MAX_TOKEN_LIFETIME: '30s',
    GATEHOUSE_LOGIN_FAILURE_WINDOW: '10s',
    // Each user connects from its own address, as real users would, through a trusted proxy.
    GATEHOUSE_TRUST_PROXY: '127.0.0.1',
  });
  let serverErrors = 0;
  const server = gateway.agServer as unknown as { listener(n: string): AsyncIterable<unknown>; closeListener(n: string): void };
  void (async () => {
    for await (const _ of server.listener('error')) serverErrors++;
  })();

  const logoutTimes: number[] = [];
  const started = Date.now();
  const sample = async (): Promise<SoakSample> => {
    collectGarbage();
    const memory = process.memoryUsage();
    const now = Date.now();
    return {
      atMs: now - started,
      heapMiB: round(memory.heapUsed / 2 ** 20),
      rssMiB: round(memory.rss / 2 ** 20),
      timers: process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
      openSockets: gateway.agServer.clientsCount,
      renewalEntries: gateway.renewal.size,
      indexedSockets: gateway.revocation.enforcer.index.size,
      redisKeys: await probe.dbsize(),
      recentLogouts: logoutTimes.filter((t) => t > now - REVOCATION_KEY_LIFETIME_MS).length,
      serverListenerConsumers: agServerStats(gateway).consumers,
      serverListenerBackpressure: agServerStats(gateway).backpressure,
      processListeners: process.eventNames().reduce((n, name) => n + process.listenerCount(name), 0),
    };
  };

  const baseline = await sample();
  const counters = { cycles: 0, logouts: 0, publishes: 0, received: 0, logins: {} as Record<string, number> };
  const deadline = started + options.durationMs;
  const address = (i: number) => `10.13.${Math.floor(i / 250)}.${(i % 250) + 1}`;

  // Long-lived sockets: logged in once, renewed all along.
  const longLived: { client: AGClientSocket; renewals: number }[] = [];
  for (let i = 0; i < options.longLived; i++) {
    const user = users[options.workers * 3 + i];
    const client = clientFrom(gateway, address(1000 + i));
    await nextEvent(client, 'connect', 5000);
    await client.invoke('login', { username: user.username, password: PASSWORD });
    const entry = { client, renewals: 0 };
    void (async () => {
      for await (const _ of (client as unknown as { listener(n: string): AsyncIterable<unknown> }).listener('authenticate')) entry.renewals++;
    })();
    longLived.push(entry);
  }

  const samples: SoakSample[] = [];
  const sampler = (async () => {
    while (Date.now() < deadline) {
      await sleep(Math.min(options.sampleEveryMs, Math.max(0, deadline - Date.now())));
      const s = await sample();
      samples.push(s);
      options.onSample?.(s);
    }
  })();

  const worker = async (w: number) => {
    let round = 0;
    while (Date.now() < deadline - 1000) {
      const user = users[w * 3 + (round++ % 3)];
      const client = clientFrom(gateway, address(w));
      try {
        await nextEvent(client, 'connect', 5000);
        let outcome = 'ok';
        try {
          await client.invoke('login', { username: user.username, password: PASSWORD });
        } catch (err) {
          outcome = (err as Error).name;
        }
        counters.logins[outcome] = (counters.logins[outcome] ?? 0) + 1;
        if (outcome !== 'ok') {
          await sleep(500);
          continue;
        }
        const channel = client.subscribe(`soak:${w}`);
        void (async () => {
          for await (const _ of channel) counters.received++;
        })();
        await channel.listener('subscribe').once(5000);
        // Held 2.5-4.5 s, publishing every 250 ms: at least one renewal lands meanwhile.
        const holdUntil = Date.now() + 2500 + ((w * 7919 + round * 104729) % 2000);
        while (Date.now() < holdUntil) {
          await client.transmitPublish(`soak:${w}`, { w, round, at: Date.now() });
          counters.publishes++;
          await sleep(250);
        }
        await client.invoke('logout', {});
        counters.logouts++;
        logoutTimes.push(Date.now());
        counters.cycles++;
      } catch {
        // A failed step ends this cycle; the next one starts over with a new connection.
      } finally {
        client.disconnect();
        client.killAllListeners?.();
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  await sampler;

  const renewalsOnLongLived = longLived.map((l) => l.renewals);
  const longLivedStillAuthenticated = longLived.filter((l) => l.client.authState === 'authenticated').length;
  for (const { client } of longLived) client.disconnect();
  const closeDeadline = Date.now() + 5000;
  while (gateway.agServer.clientsCount > 0 && Date.now() < closeDeadline) await sleep(50);
  await sleep(1000);
  const end = await sample();
  const report: SoakReport = {
    options: { durationMs: options.durationMs, workers: options.workers, longLived: options.longLived, sampleEveryMs: options.sampleEveryMs },
    baseline,
    samples,
    end,
    cycles: counters.cycles,
    logins: counters.logins,
    logouts: counters.logouts,
    publishes: counters.publishes,
    received: counters.received,
    renewalsOnLongLived,
    longLivedStillAuthenticated,
    serverRenewals: gateway.renewal.counters.renewals,
    serverErrors,
    nodeState: gateway.state,
    users: users.length,
  };
  server.closeListener('error');
  await gateway.close();
  probe.disconnect();
  await redis.close();
  return report;
}

/** A stock client from its own address (X-Forwarded-For, believed from the trusted loopback proxy). */
function clientFrom(gateway: Gateway, address: string): AGClientSocket {
  return connectClient(gateway, { ackTimeout: 5000, connectTimeout: 5000, wsOptions: { headers: { 'x-forwarded-for': address } } });
}

function agServerStats(gateway: Gateway): { consumers: number; backpressure: number } {
  const emitter = gateway.agServer as unknown as { getAllListenersConsumerCount(): number; getAllListenersBackpressure(): number };
  return { consumers: emitter.getAllListenersConsumerCount(), backpressure: emitter.getAllListenersBackpressure() };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * The bounds a soak must stay within; returns every one it broke (empty when all held).
 * - heap after GC: in the second half never above the first half's peak plus 25 % and 8 MiB (no steady growth), and
 *   at the end (every socket closed) at most the baseline plus 24 MiB;
 * - timers: during the run at most 12 per open socket (server and client side share this process) plus the baseline
 *   and 20; at the end back to the baseline plus 5;
 * - listeners: the server's listener consumers and the process's listeners back to the baseline at the end; the
 *   server's unconsumed events never above 100;
 * - Redis keys: never above one revocation per logout still within its lifetime, plus 3 per user (login limits),
 *   plus 20 (node registry, heartbeats);
 * - no socket left in the renewal scheduler or the revocation index at the end; the node ready; no server error;
 *   the long-lived sockets still authenticated and renewed at least once per 4 s.
 */
export function checkSoakBounds(report: SoakReport): string[] {
  const problems: string[] = [];
  const { baseline, samples, end } = report;
  const half = Math.floor(samples.length / 2);
  const firstPeak = Math.max(...samples.slice(0, half).map((s) => s.heapMiB), baseline.heapMiB);
  const secondPeak = Math.max(...samples.slice(half).map((s) => s.heapMiB));
  if (secondPeak > firstPeak * 1.25 + 8) problems.push(`heap grew: first-half peak ${firstPeak} MiB, second-half peak ${secondPeak} MiB`);
  if (end.heapMiB > baseline.heapMiB + 24) problems.push(`heap at the end ${end.heapMiB} MiB against ${baseline.heapMiB} MiB at the start`);
  for (const s of samples) {
    if (s.timers > baseline.timers + 12 * s.openSockets + 20) problems.push(`${s.timers} timers at ${s.atMs} ms with ${s.openSockets} sockets`);
    if (s.serverListenerBackpressure > 100) problems.push(`${s.serverListenerBackpressure} unconsumed server events at ${s.atMs} ms`);
    const keyBound = s.recentLogouts + 3 * report.users + 20;
    if (s.redisKeys > keyBound) problems.push(`${s.redisKeys} Redis keys at ${s.atMs} ms, over ${keyBound}`);
  }
  if (end.timers > baseline.timers + 5) problems.push(`${end.timers} timers at the end against ${baseline.timers} at the start`);
  if (end.serverListenerConsumers !== baseline.serverListenerConsumers)
    problems.push(`server listener consumers ${baseline.serverListenerConsumers} → ${end.serverListenerConsumers}`);
  if (end.processListeners !== baseline.processListeners) problems.push(`process listeners ${baseline.processListeners} → ${end.processListeners}`);
  if (end.openSockets !== 0 || end.renewalEntries !== 0 || end.indexedSockets !== 0) {
    problems.push(`left behind: ${end.openSockets} sockets, ${end.renewalEntries} renewal entries, ${end.indexedSockets} indexed`);
  }
  if (report.nodeState !== 'ready') problems.push(`node ${report.nodeState}`);
  if (report.serverErrors > 0) problems.push(`${report.serverErrors} server errors`);
  if (report.longLivedStillAuthenticated !== report.options.longLived)
    problems.push(`${report.longLivedStillAuthenticated} of ${report.options.longLived} long-lived sockets still authenticated`);
  const minRenewals = Math.floor(report.options.durationMs / 4000);
  if (report.renewalsOnLongLived.some((n) => n < minRenewals))
    problems.push(`long-lived renewals ${report.renewalsOnLongLived.join(',')}, want ≥ ${minRenewals} each`);
  if (report.cycles === 0) problems.push('no churn cycle completed');
  return problems;
}
