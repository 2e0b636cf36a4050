import type { AGServer } from 'socketcluster-server';
import { CloseCode } from '../../shared';
import { closeSocket, type ServerSocket } from './facade';
import { OutboundBudget, type SlowReason } from './outbound-budget';

/** How often the sweep recounts every socket's unsent output, in milliseconds. */
export const SLOW_CONSUMER_SWEEP_MS = 250;

/**
 * Starts the slow-consumer guard: an OutboundBudget of GATEHOUSE_MAX_BUFFERED per socket and
 * GATEHOUSE_MAX_BUFFERED_TOTAL per node, for the broker to ask before each published message is queued, and a sweep
 * every 250 ms for the output that does not pass the broker. A slow consumer is closed with SlowConsumer (4502) and
 * its connection destroyed at once: a client that does not read would never take the close frame, and ws would keep
 * its whole send buffer until its 30 s close timeout. Such a client sees the connection drop (1006). `onSlow` is told
 * first (count, log). `stop` ends the sweep.
 */
export function startSlowConsumerGuard(
  server: AGServer,
  limits: { readonly maxBuffered: number; readonly maxBufferedTotal: number; readonly maxPayload: number },
  onSlow: (socket: ServerSocket, bufferedBytes: number, reason: SlowReason) => void,
): { budget: OutboundBudget; stop: () => void } {
  const budget = new OutboundBudget(server, {
    perSocketBytes: limits.maxBuffered,
    perNodeBytes: limits.maxBufferedTotal,
    behindBytes: limits.maxPayload,
    onSlow: (socket, buffered, reason) => {
      if (socket.state === socket.CLOSED) return;
      onSlow(socket, buffered, reason);
      closeSocket(socket, CloseCode.SlowConsumer, 'Slow consumer: outbound buffer overflowed');
      socket.terminate();
    },
  });
  const timer = setInterval(() => budget.sweep(), SLOW_CONSUMER_SWEEP_MS);
  timer.unref();
  return { budget, stop: () => clearInterval(timer) };
}
