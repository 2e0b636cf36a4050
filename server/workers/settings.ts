import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { AuthSettings } from '../auth/settings';
import type { ClusterSettings } from '../cluster/settings';
import type { SettingsReader } from '../settings-kit/reader';

/** Most worker processes GATEHOUSE_WORKERS may ask for. */
export const MAX_WORKERS = 256;

/** Longest node id (GATEHOUSE_NODE_ID's limit); a worker's id is the node id plus `-<k>`. */
const MAX_NODE_ID_LENGTH = 64;

/** The workers' slice of the configuration. */
export interface WorkerSettings {
  /**
   * GATEHOUSE_WORKERS: worker processes `gatehouse start` runs on the one port (default 1: no supervisor, the process
   * is the node); `auto` is one per core (os.availableParallelism()).
   */
  readonly workers: number;
}

/**
 * What the workers' check needs from the rest of the configuration: whether a key is configured (in development mode
 * each process would make its own ephemeral key), and the node id.
 */
export type WorkerContext = Pick<ClusterSettings, 'nodeId'> & Pick<AuthSettings, 'devMode'>;

/**
 * Reads GATEHOUSE_WORKERS, reporting each problem to the reader. Several workers are several nodes, which share
 * revocations and channels only through Redis and accept each other's tokens only with a configured key, so both are
 * required above 1.
 */
export function readWorkerSettings(r: SettingsReader, ctx: WorkerContext): WorkerSettings {
  const text = r.raw('GATEHOUSE_WORKERS');
  const cores = availableParallelism();
  let workers = 1;
  if (text === 'auto') {
    workers = Math.min(cores, MAX_WORKERS);
  } else if (text !== undefined) {
    const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
    if (!(n >= 1 && n <= MAX_WORKERS)) {
      r.problem('GATEHOUSE_WORKERS', `${JSON.stringify(text.slice(0, 32))} is not a whole number from 1 to ${MAX_WORKERS}, or auto (one per core)`);
      return { workers };
    }
    workers = n;
  }
  if (workers > 1) {
    const shown = text === 'auto' ? `auto (${workers} cores)` : String(workers);
    // Named is enough here: a Redis setting that was refused is reported on its own.
    if (r.raw('GATEHOUSE_REDIS_URL') === undefined && r.raw('GATEHOUSE_REDIS_CLUSTER') === undefined) {
      r.problem(
        'GATEHOUSE_WORKERS',
        `${shown} needs Redis, since the workers share revocations and channels through it: set GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER, or GATEHOUSE_WORKERS=1`,
      );
    }
    if (ctx.devMode) {
      r.problem(
        'GATEHOUSE_WORKERS',
        `${shown} needs a configured key (GATEHOUSE_AUTH_KEY, GATEHOUSE_JWKS_FILE or GATEHOUSE_SIGNING_KEY_FILE): in development mode each worker would make its own key and refuse the others' tokens`,
      );
    }
    // A worker is started with its own id (`<node id>-<k>`), already suffixed: only the primary checks the room left.
    const longest = `${ctx.nodeId}-${workers}`;
    if (!cluster.isWorker && longest.length > MAX_NODE_ID_LENGTH) {
      r.problem(
        'GATEHOUSE_NODE_ID',
        `is ${ctx.nodeId.length} characters; with GATEHOUSE_WORKERS=${workers} each worker's id (${longest.slice(0, 16)}…) must fit in ${MAX_NODE_ID_LENGTH}`,
      );
    }
  }
  return { workers };
}

/** Worker k's node id (k from 1). */
export function workerNodeId(nodeId: string, k: number): string {
  return `${nodeId}-${k}`;
}
