import type { AGServer } from 'socketcluster-server';
import type { ServerSocket } from '../sc/facade';

/** How often the sweep looks at every socket's outbound buffer, in milliseconds. */
export const SLOW_CONSUMER_SWEEP_MS = 250;

/**
 * Starts a periodic sweep that calls `onSlow` for every connected socket whose WebSocket outbound buffer (bytes
 * queued in Node and not yet taken by the kernel) is over `maxBufferedBytes`. One property read per socket per
 * sweep, off the publish path. Returns the function that stops it.
 */
export function startSlowConsumerSweep(
  server: AGServer,
  maxBufferedBytes: number,
  onSlow: (socket: ServerSocket, bufferedBytes: number) => void,
  intervalMs = SLOW_CONSUMER_SWEEP_MS,
): () => void {
  const timer = setInterval(() => {
    const clients = server.clients;
    for (const id in clients) {
      const socket = clients[id];
      const buffered = socket.socket?.bufferedAmount ?? 0;
      if (buffered > maxBufferedBytes) onSlow(socket, buffered);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
