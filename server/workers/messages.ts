import type { AddressInfo } from 'node:net';

/**
 * The messages a worker and its primary exchange over cluster IPC. Each carries `gatehouse` (its kind), so they are
 * told apart from anything else on the channel (Node's own cluster messages).
 */
export type WorkerMessage =
  /** The worker's listeners are bound (it started); where they are, for the start summary. */
  | { readonly gatehouse: 'listening'; readonly url: string; readonly address: AddressInfo; readonly adminAddress?: AddressInfo }
  /** The worker's own readiness changed: the reasons it is not ready, empty when it is. */
  | { readonly gatehouse: 'readiness'; readonly reasons: readonly string[] }
  /** A /metrics request reached the worker: the primary answers with the whole group's exposition. */
  | { readonly gatehouse: 'metrics'; readonly id: number }
  /** The worker's series for the primary's collection `id`: each registry's getMetricsAsJSON(). */
  | { readonly gatehouse: 'collected'; readonly id: number; readonly registries: readonly object[][] };

export type PrimaryMessage =
  /** Every other worker's readiness, sent whenever one changes. */
  | { readonly gatehouse: 'group'; readonly workers: readonly WorkerStatus[] }
  /** Asks for the worker's series (collection `id`), to be aggregated with the others'. */
  | { readonly gatehouse: 'collect'; readonly id: number }
  /** The group's metrics for request `id`, or why there are none. */
  | { readonly gatehouse: 'metrics'; readonly id: number; readonly contentType?: string; readonly body?: string; readonly error?: string };

/** One worker as the group sees it. */
export interface WorkerStatus {
  readonly nodeId: string;
  /** Why it is not ready (`not running` while it is down or restarting); empty when ready. */
  readonly reasons: readonly string[];
}

const WORKER_KINDS = new Set(['listening', 'readiness', 'metrics', 'collected']);
const PRIMARY_KINDS = new Set(['group', 'collect', 'metrics']);

function kindOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null ? (message as { gatehouse?: unknown }).gatehouse : undefined;
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return WORKER_KINDS.has(kindOf(message) as string);
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return PRIMARY_KINDS.has(kindOf(message) as string);
}
