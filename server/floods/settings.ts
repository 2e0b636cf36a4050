import type { SettingsReader } from '../config/reader';

/** The flood guards' slice of the configuration: per client address limits on each node; 0 turns one off. */
export interface FloodSettings {
  /** GATEHOUSE_MAX_CONNECTIONS_PER_IP: connections one client IP (IPv6: /64) may hold open on a node (default 256). */
  readonly maxConnectionsPerIp: number;
  /** GATEHOUSE_HANDSHAKE_RATE_PER_IP: connections one client IP (IPv6: /64) may open a second on a node (default 50). */
  readonly handshakeRatePerIp: number;
}

/**
 * Reads the flood settings, reporting each problem to the reader. The defaults leave room for many users behind one
 * NAT while keeping one address from holding a node's sockets or its handshake CPU.
 */
export function readFloodSettings(r: SettingsReader): FloodSettings {
  return {
    maxConnectionsPerIp: r.integer('GATEHOUSE_MAX_CONNECTIONS_PER_IP', 256, 0, 10_000_000),
    handshakeRatePerIp: r.integer('GATEHOUSE_HANDSHAKE_RATE_PER_IP', 50, 0, 10_000_000),
  };
}
