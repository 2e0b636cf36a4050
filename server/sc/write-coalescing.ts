import type { Socket } from 'node:net';
import type { ServerSocket } from './facade';

/**
 * Holds a socket's writes back until the current turn's promise jobs have all run, then sends what they wrote in one
 * write. A completed handshake makes two frames in one such run of jobs: SocketCluster's answer to `#handshake`, then,
 * a few promise jobs later, the gateway's expiry notice (`gatehouse:tokenExpiry`, from the auth-change watch). Written
 * apart, each is its own system call (and on loopback the kernel's delivery too), the largest part of what the notice
 * costs. A corked socket buffers them; `process.nextTick` runs after the promise jobs in progress have drained, so the
 * uncork sends both frames together, in order. Nothing else changes: anything that waits on I/O meanwhile (none
 * does on this path) only gets written at the uncork, which comes before the next I/O callback either way.
 */
export function coalesceWritesOfTurn(socket: ServerSocket): void {
  const tcp = socket.request?.socket as Socket | undefined;
  if (!tcp || tcp.destroyed) return;
  tcp.cork();
  process.nextTick(uncork, tcp);
}

function uncork(tcp: Socket): void {
  tcp.uncork();
}
