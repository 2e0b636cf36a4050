import { availableParallelism } from 'node:os';
import type { SettingsReader } from '../settings-kit/reader';
import { parseInteger } from '../settings-kit/units';
import type { WorkerSettings } from '../workers/settings';
import { defaultMaxConnections, openFileLimit } from './descriptor-limit';

/**
 * Handshakes a second one core starts by default. A handshake costs this gateway 0.7–1.1 ms of CPU (BENCHMARKS.md,
 * "Scale run"), so this leaves a core's loop a fifth to a half of its time for the sockets it already holds
 * while a crowd reconnects: admitting as fast as a core can go lets each socket's messages wait behind a queue of
 * handshakes, and a crowd that is turned away backs off and comes back at the rate admitted.
 */
export const HANDSHAKES_PER_CORE = 750;

/** The default never goes below this, so a node given a sliver of a core still takes a reconnecting crowd in time. */
const MIN_DEFAULT_HANDSHAKE_RATE = 50;

/** The flood guards' slice of the configuration: per client address limits, and the node's handshake pacing; 0 turns one off. */
export interface FloodSettings {
  /** GATEHOUSE_MAX_CONNECTIONS_PER_IP: connections one client IP (IPv6: /64) may hold open on a node (default 256). */
  readonly maxConnectionsPerIp: number;
  /** GATEHOUSE_HANDSHAKE_RATE_PER_IP: connections one client IP (IPv6: /64) may open a second on a node (default 50). */
  readonly handshakeRatePerIp: number;
  /** GATEHOUSE_MAX_CONNECTIONS: connections a node holds at most (default: its descriptor limit less room; 0 = none). */
  readonly maxConnections: number;
  /**
   * GATEHOUSE_MAX_HANDSHAKE_RATE: handshakes a second a node starts at most, over all clients (default `auto`: the
   * node's share of the cores times HANDSHAKES_PER_CORE).
   */
  readonly maxHandshakeRate: number;
  /** GATEHOUSE_MAX_LOOP_DELAY: upgrades are shed while the node's event loop runs this late, ms (default 50 ms). */
  readonly maxLoopDelayMs: number;
}

/**
 * The handshake rate a node starts by default: HANDSHAKES_PER_CORE for each core it has to itself. A node is one
 * event loop, so it uses one core at most; workers beyond the cores share them.
 */
export function defaultHandshakeRate(cores: number, workers: number): number {
  const share = Math.min(1, Math.max(1, cores) / Math.max(1, workers));
  return Math.max(MIN_DEFAULT_HANDSHAKE_RATE, Math.round(HANDSHAKES_PER_CORE * share));
}

/**
 * Reads the flood settings, reporting each problem to the reader. The defaults leave room for many users behind one
 * NAT while keeping one address from holding a node's sockets or its handshake CPU. The node-wide handshake rate
 * follows the node's share of the machine, so a group of workers on fewer cores does not admit more than it can serve.
 */
export function readFloodSettings(r: SettingsReader, { workers }: WorkerSettings): FloodSettings {
  return {
    maxConnectionsPerIp: r.integer('GATEHOUSE_MAX_CONNECTIONS_PER_IP', 256, 0, 10_000_000),
    handshakeRatePerIp: r.integer('GATEHOUSE_HANDSHAKE_RATE_PER_IP', 50, 0, 10_000_000),
    maxConnections: r.integer('GATEHOUSE_MAX_CONNECTIONS', defaultMaxConnections(openFileLimit()), 0, 100_000_000),
    maxHandshakeRate: readHandshakeRate(r, defaultHandshakeRate(availableParallelism(), workers)),
    maxLoopDelayMs: r.duration('GATEHOUSE_MAX_LOOP_DELAY', '50ms', { min: 0, max: 60_000 }),
  };
}

/** GATEHOUSE_MAX_HANDSHAKE_RATE: a number, or `auto` (also the default) for the node's share of the cores. */
function readHandshakeRate(r: SettingsReader, auto: number): number {
  const name = 'GATEHOUSE_MAX_HANDSHAKE_RATE';
  const text = r.raw(name);
  if (text === undefined || text.trim() === 'auto') return auto;
  const value = parseInteger(text, 0, 10_000_000);
  if (value === undefined) {
    r.problem(
      name,
      `${JSON.stringify(text.slice(0, 32))} is not a whole number from 0 to 10000000, or auto (here ${auto}: ${HANDSHAKES_PER_CORE} a second for each core the node has to itself)`,
    );
    return auto;
  }
  return value;
}
