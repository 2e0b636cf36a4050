import type { SettingsReader } from '../settings-kit/reader';
import { defaultMaxConnections, openFileLimit } from './descriptor-limit';

/** The flood guards' slice of the configuration: per client address limits, and the node's handshake pacing; 0 turns one off. */
export interface FloodSettings {
  /** GATEHOUSE_MAX_CONNECTIONS_PER_IP: connections one client IP (IPv6: /64) may hold open on a node (default 256). */
  readonly maxConnectionsPerIp: number;
  /** GATEHOUSE_HANDSHAKE_RATE_PER_IP: connections one client IP (IPv6: /64) may open a second on a node (default 50). */
  readonly handshakeRatePerIp: number;
  /** GATEHOUSE_MAX_CONNECTIONS: connections a node holds at most (default: its descriptor limit less room; 0 = none). */
  readonly maxConnections: number;
  /** GATEHOUSE_MAX_HANDSHAKE_RATE: handshakes a second a node starts at most, over all clients (default 1,600). */
  readonly maxHandshakeRate: number;
  /** GATEHOUSE_MAX_LOOP_DELAY: upgrades are shed while the node's event loop runs this late, ms (default 50 ms). */
  readonly maxLoopDelayMs: number;
}

/**
 * Reads the flood settings, reporting each problem to the reader. The defaults leave room for many users behind one
 * NAT while keeping one address from holding a node's sockets or its handshake CPU. The node-wide pacing defaults sit
 * above what one core handshakes a second, so they act only when a crowd arrives at once or the node is overloaded.
 */
export function readFloodSettings(r: SettingsReader): FloodSettings {
  return {
    maxConnectionsPerIp: r.integer('GATEHOUSE_MAX_CONNECTIONS_PER_IP', 256, 0, 10_000_000),
    handshakeRatePerIp: r.integer('GATEHOUSE_HANDSHAKE_RATE_PER_IP', 50, 0, 10_000_000),
    maxConnections: r.integer('GATEHOUSE_MAX_CONNECTIONS', defaultMaxConnections(openFileLimit()), 0, 100_000_000),
    maxHandshakeRate: r.integer('GATEHOUSE_MAX_HANDSHAKE_RATE', 1600, 0, 10_000_000),
    maxLoopDelayMs: r.duration('GATEHOUSE_MAX_LOOP_DELAY', '50ms', { min: 0, max: 60_000 }),
  };
}
