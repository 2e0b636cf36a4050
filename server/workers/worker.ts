import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Disposer } from '../host';
import { isPrimaryMessage, type PrimaryMessage, type WorkerMessage, type WorkerStatus } from './messages';

/** How often a worker looks at its own readiness to tell the primary of a change, ms. */
const READINESS_POLL_MS = 250;
/** Longest wait for the group's metrics, ms (the primary gives up on a silent worker after 5 s). */
const METRICS_TIMEOUT_MS = 6000;

/** What a worker's group link needs from its node. */
export interface GroupMember {
  readonly nodeId: string;
  /** The node's own reasons not to be ready (the group check included: it steps aside while these are read). */
  notReadyReasons(): string[];
  addReadinessCheck(check: () => string | undefined): void;
  own(disposer: Disposer): void;
}

/** The IPC channel to the primary (process, in a cluster worker). */
export interface PrimaryChannel {
  readonly connected: boolean;
  send?(message: WorkerMessage, sendHandle: undefined, options: object, callback: (err: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

export interface GroupOptions {
  /** The registries this worker contributes to the group's /metrics (its node's, then the process's). */
  readonly registries: readonly Registry[];
  readonly channel: PrimaryChannel;
}

/** A worker's link to its primary and, through it, to the other workers. */
export interface GroupLink {
  /** Tells the primary the worker's listeners are bound. */
  listening(url: string, address: AddressInfo, adminAddress?: AddressInfo): void;
  /** The whole group's metrics exposition, gathered by the primary. */
  metrics(): Promise<{ contentType: string; body: string }>;
}

/**
 * joinGroup makes a node one worker of a group: it reports its own readiness to the primary as it changes, and its
 * /readyz also lists what the primary last said of the other workers (so a probe reaching any worker answers for the
 * group without a request between processes). Only /readyz reads the group: upgrades still depend on this node alone.
 * /healthz needs nothing more: Node ends a worker the moment its primary's channel closes, so a worker that answers
 * has a live primary.
 */
export function joinGroup(node: GroupMember, opts: GroupOptions): GroupLink {
  const { channel } = opts;

  let others: readonly WorkerStatus[] | undefined;
  let readingOwn = false;
  node.addReadinessCheck(() => {
    if (readingOwn) return undefined;
    if (!others) return 'worker group: no word from the primary yet';
    const notReady = others.filter((w) => w.nodeId !== node.nodeId && w.reasons.length > 0);
    return notReady.length === 0 ? undefined : notReady.map((w) => `worker ${w.nodeId}: ${w.reasons.join(', ')}`).join('; ');
  });

  const send = (message: WorkerMessage) => {
    if (channel.connected) channel.send?.(message, undefined, {}, () => undefined);
  };
  let reported: string | undefined;
  const report = () => {
    readingOwn = true;
    let reasons: string[];
    try {
      reasons = node.notReadyReasons();
    } finally {
      readingOwn = false;
    }
    const text = JSON.stringify(reasons);
    if (text === reported) return;
    reported = text;
    send({ gatehouse: 'readiness', reasons });
  };
  const poll = setInterval(report, READINESS_POLL_MS);
  // The first report tells the primary this worker answers its requests from now on.
  report();

  let nextId = 0;
  const pending = new Map<number, { resolve: (m: { contentType: string; body: string }) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  const onMessage = (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    if (message.gatehouse === 'group') others = message.workers;
    else if (message.gatehouse === 'collect') collected(message.id);
    else answered(message);
  };
  const collected = (id: number) => {
    void Promise.all(opts.registries.map((r) => r.getMetricsAsJSON())).then(
      (registries) => send({ gatehouse: 'collected', id, registries }),
      () => send({ gatehouse: 'collected', id, registries: [] }),
    );
  };
  const answered = (message: Extract<PrimaryMessage, { gatehouse: 'metrics' }>) => {
    const request = pending.get(message.id);
    if (!request) return;
    pending.delete(message.id);
    clearTimeout(request.timer);
    if (message.body !== undefined && message.contentType !== undefined) request.resolve({ contentType: message.contentType, body: message.body });
    else request.reject(new Error(`the group's metrics could not be gathered: ${message.error ?? 'no answer'}`));
  };
  channel.on('message', onMessage);
  node.own(() => {
    clearInterval(poll);
    channel.off('message', onMessage);
    for (const [id, request] of pending) {
      clearTimeout(request.timer);
      request.reject(new Error('the worker is closing'));
      pending.delete(id);
    }
  });

  return {
    listening(url, address, adminAddress) {
      send({ gatehouse: 'listening', url, address, ...(adminAddress ? { adminAddress } : {}) });
      report();
    },
    metrics() {
      if (!channel.connected) return Promise.reject(new Error('the primary is gone'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('the primary did not answer in time'));
        }, METRICS_TIMEOUT_MS);
        pending.set(id, { resolve, reject, timer });
        send({ gatehouse: 'metrics', id });
      });
    },
  };
}
