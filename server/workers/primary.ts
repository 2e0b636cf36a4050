import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { ClusterSettings } from '../cluster/settings';
import type { NodeSettings } from '../node/settings';
import type { Logger } from '../log';
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage, type WorkerStatus } from './messages';
import { workerNodeId, type WorkerSettings } from './settings';

/** First restart delay after a worker dies, ms; doubled for each death of that worker within CRASH_WINDOW_MS. */
export const RESTART_BACKOFF_MIN_MS = 100;
/** Longest restart delay, ms. */
export const RESTART_BACKOFF_MAX_MS = 10_000;
/** Deaths further back than this no longer lengthen the backoff, ms. */
const CRASH_WINDOW_MS = 60_000;
/** A worker that dies this many times in a row before it listens means every restart will: the primary gives up. */
export const MAX_START_CRASHES = 5;
/** Longest wait for the workers' series at a scrape, ms. */
const COLLECT_TIMEOUT_MS = 5000;

/** The worker's first message: where it listens. */
export type Listening = Extract<WorkerMessage, { gatehouse: 'listening' }>;

export interface PrimaryOptions {
  readonly config: WorkerSettings & Pick<ClusterSettings, 'nodeId'> & Pick<NodeSettings, 'shutdownTimeoutMs'>;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** A worker's backstop ends it this long after the shutdown timeout, ms; the primary's waits twice as long. */
  readonly backstopGraceMs: number;
  /** Told once, when the first worker listens (the start summary). */
  readonly started: (where: Listening) => void;
  /** Lets the last log lines out, then ends the process. */
  readonly exit: (status: number) => void;
  /** Where signals come from (process). */
  readonly signals: Pick<NodeJS.EventEmitter, 'on'>;
}

/** A scrape's gathering of every worker's series. */
interface Collection {
  /** Each answering worker's registries, as getMetricsAsJSON() gives them. */
  readonly results: object[][];
  /** `slot` answered, or is gone: no longer waited for. */
  arrived(slot: Slot): void;
}

/** One of the GATEHOUSE_WORKERS places, filled by a worker process and refilled when it dies. */
interface Slot {
  readonly k: number;
  readonly nodeId: string;
  worker?: Worker;
  startedAt: number;
  /** Its link to the group is up (its first readiness report came): it answers collections. */
  joined: boolean;
  listening: boolean;
  reasons: readonly string[];
  /** Deaths before listening, in a row. */
  startCrashes: number;
  /** When it died lately (ms timestamps), for the backoff. */
  deaths: number[];
  restart?: NodeJS.Timeout;
}

/**
 * superviseWorkers turns this process into the primary of GATEHOUSE_WORKERS worker processes, each a full node
 * (`<node id>-<k>`) on the shared port. It serves nothing itself: it restarts a worker that dies (with backoff, logging
 * why), passes SIGTERM/SIGINT (drain, then exit 0) and SIGHUP (reload) to every worker, relays each worker's readiness
 * to the others (so any of them answers /readyz for the group) and gathers the group's metrics (prom-client's
 * AggregatorRegistry.aggregate over every worker's registries) for whichever worker a scrape reached. Workers that keep dying before they listen end it with status 1.
 *
 * Connections are handed out by the kernel (Node's SCHED_NONE): each worker accepts from the shared socket itself.
 * Node's round-robin, where the primary accepts every connection and hands it to a worker one at a time, collapses when
 * a crowd reconnects: a hand-off waits for the worker's next loop turn, the primary holds what it accepted until its
 * own descriptor limit, and then resets every connection it accepts. The kernel's spread is less even; each worker's
 * connection cap (GATEHOUSE_MAX_CONNECTIONS, under its descriptor limit) turns the excess away for another worker to
 * take. NODE_CLUSTER_SCHED_POLICY=rr brings round-robin back.
 */
export function superviseWorkers(opts: PrimaryOptions): void {
  const { config, log } = opts;
  // Read by cluster at the first fork; an operator's NODE_CLUSTER_SCHED_POLICY has been applied already and wins.
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  const slots: Slot[] = Array.from({ length: config.workers }, (_, i) => ({
    k: i + 1,
    nodeId: workerNodeId(config.nodeId, i + 1),
    startedAt: 0,
    joined: false,
    listening: false,
    reasons: ['not running'],
    startCrashes: 0,
    deaths: [],
  }));
  const collections = new Map<number, Collection>();
  let nextCollection = 0;
  let announced = false;
  let stopping = false;
  let status = 0;
  let exited = false;

  const finish = (code: number) => {
    if (exited) return;
    exited = true;
    opts.exit(code);
  };
  const live = () => slots.filter((s) => s.worker !== undefined);
  const send = (worker: Worker, message: PrimaryMessage) => {
    if (!worker.isConnected()) return;
    // A worker that has just gone drops the message; its exit is handled on its own.
    worker.send(message, undefined, () => undefined);
  };
  const broadcast = () => {
    const workers: WorkerStatus[] = slots.map((s) => ({ nodeId: s.nodeId, reasons: s.reasons }));
    for (const s of live()) send(s.worker!, { gatehouse: 'group', workers });
  };

  const onMessage = (slot: Slot, worker: Worker, message: unknown) => {
    if (!isWorkerMessage(message) || slot.worker !== worker) return;
    switch (message.gatehouse) {
      case 'listening':
        slot.listening = true;
        slot.startCrashes = 0;
        if (!announced) {
          announced = true;
          opts.started(message);
        }
        return;
      case 'readiness':
        slot.joined = true;
        slot.reasons = Array.isArray(message.reasons) ? message.reasons.map(String) : ['unknown'];
        broadcast();
        return;
      case 'metrics': {
        const id = message.id;
        gather().then(
          ({ contentType, body }) => send(worker, { gatehouse: 'metrics', id, contentType, body }),
          (err: Error) => send(worker, { gatehouse: 'metrics', id, error: err.message }),
        );
        return;
      }
      case 'collected': {
        const collection = collections.get(message.id);
        if (!collection || !Array.isArray(message.registries)) return;
        collection.results.push(...message.registries.filter(Array.isArray));
        collection.arrived(slot);
      }
    }
  };

  // Only workers whose link is up are asked, so a worker still starting (or restarting) does not hold a scrape up;
  // one that dies meanwhile is no longer waited for.
  const gather = () =>
    new Promise<{ contentType: string; body: string }>((resolve, reject) => {
      const id = nextCollection++;
      const waiting = new Set(slots.filter((s) => s.joined && s.worker?.isConnected()));
      const finish = (err?: Error) => {
        clearTimeout(timer);
        collections.delete(id);
        if (err) return reject(err);
        try {
          const registry = AggregatorRegistry.aggregate(collection.results);
          registry.metrics().then((body) => resolve({ contentType: registry.contentType, body }), reject);
        } catch (e) {
          reject(e);
        }
      };
      const timer = setTimeout(
        () => finish(new Error(`workers ${[...waiting].map((s) => s.k).join(', ')} did not answer within ${COLLECT_TIMEOUT_MS} ms`)),
        COLLECT_TIMEOUT_MS,
      );
      const collection: Collection = {
        results: [],
        arrived(slot) {
          waiting.delete(slot);
          if (waiting.size === 0) finish();
        },
      };
      collections.set(id, collection);
      if (waiting.size === 0) return finish();
      for (const s of waiting) send(s.worker!, { gatehouse: 'collect', id });
    });

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    slot.listening = false;
    slot.joined = false;
    slot.reasons = ['starting'];
    slot.startedAt = Date.now();
    const worker = cluster.fork({ GATEHOUSE_NODE_ID: slot.nodeId });
    slot.worker = worker;
    log.info({ worker: slot.k, workerNodeId: slot.nodeId, pid: worker.process.pid }, 'worker started');
    worker.on('message', (message: unknown) => onMessage(slot, worker, message));
    worker.on('error', (err: Error) => log.warn({ worker: slot.k, reason: err.message }, 'worker channel error'));
    worker.on('exit', (code: number | null, signal: string | null) => died(slot, worker, code, signal));
    broadcast();
  };

  const died = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.joined = false;
    for (const collection of collections.values()) collection.arrived(slot);
    slot.reasons = ['not running'];
    const atStart = !slot.listening;
    if (stopping) {
      if (code !== 0) status = 1;
      log.info({ worker: slot.k, workerNodeId: slot.nodeId, code, signal }, 'worker stopped');
      if (live().length === 0) finish(status);
      return;
    }
    const now = Date.now();
    slot.deaths = [...slot.deaths.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (atStart) slot.startCrashes += 1;
    const why = { worker: slot.k, workerNodeId: slot.nodeId, pid: worker.process.pid, code, signal, atStart, upMs: now - slot.startedAt };
    if (slot.startCrashes >= MAX_START_CRASHES) {
      log.error({ ...why, startCrashes: slot.startCrashes }, 'worker keeps dying before it listens; stopping every worker');
      stop('SIGTERM', 1);
      return;
    }
    const delayMs = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MIN_MS * 2 ** (slot.deaths.length - 1));
    log.error({ ...why, restartInMs: delayMs }, 'worker died; restarting it');
    slot.restart = setTimeout(() => fork(slot), delayMs);
    broadcast();
  };

  const stop = (signal: NodeJS.Signals, exitStatus = 0) => {
    if (stopping) return;
    stopping = true;
    status = exitStatus;
    log.info({ signal, workers: live().length }, 'shutting down the workers');
    for (const slot of slots) clearTimeout(slot.restart);
    // Workers close on their own deadline and backstop; this one, later still, covers a worker that never exits.
    setTimeout(
      () => {
        for (const s of live()) s.worker!.process.kill('SIGKILL');
        log.error({ workers: live().map((s) => s.k) }, 'workers did not stop in time; killed');
        finish(1);
      },
      config.shutdownTimeoutMs + 2 * opts.backstopGraceMs,
    ).unref();
    if (live().length === 0) return finish(status);
    for (const s of live()) s.worker!.process.kill('SIGTERM');
  };

  opts.signals.on('SIGTERM', () => stop('SIGTERM'));
  opts.signals.on('SIGINT', () => stop('SIGINT'));
  opts.signals.on('SIGHUP', () => {
    log.info({ workers: live().length }, 'reloading every worker');
    for (const s of live()) s.worker!.process.kill('SIGHUP');
  });
  log.info({ workers: config.workers, pid: process.pid }, 'starting workers');
  for (const slot of slots) fork(slot);
}
