import { CloseCode, TooManyRequestsError } from '../../shared';
import type { InboundRule } from '../middleware/inbound';
import type { ServerSocket } from '../sc/facade';

/**
 * Calls of one procedure a socket may have queued behind the one being answered. Procedures are answered one at a
 * time per socket from SocketCluster's unbounded queue: with a slow login backend one socket queued 18,000 logins.
 */
export const MAX_PENDING_REQUESTS = 4;

/**
 * Messages a socket may have waiting in front of the inbound middleware (SocketCluster's inbound backpressure). They
 * pile up while the socket waits on Redis for #authenticate or #subscribe, since a socket's messages are processed
 * one at a time. Above GATEHOUSE_MAX_CHANNELS' default (100) so a client resubscribing everything at once fits.
 */
export const MAX_INBOUND_BACKLOG = 256;

/** Bytes those waiting messages may hold (a count alone would let 256 frames of 64 KiB hold 16 MiB). */
export const MAX_INBOUND_BACKLOG_BYTES = 1024 * 1024;

/** The INVOKE rule: refuses a call with TooManyRequestsError once MAX_PENDING_REQUESTS of its procedure wait. */
export function procedureBacklogRule(onRefused: () => void): InboundRule {
  return ({ socket, procedure }) => {
    const pending = socket.getProcedureBackpressure(String(procedure));
    if (pending < MAX_PENDING_REQUESTS) return undefined;
    onRefused();
    return new TooManyRequestsError(String(procedure), pending);
  };
}

/**
 * Closes a socket with InboundBacklog (4103) once more than MAX_INBOUND_BACKLOG of its messages, or more than
 * MAX_INBOUND_BACKLOG_BYTES of them, wait to be processed. It listens on the WebSocket itself, after SocketCluster's
 * own listener has counted the message, so it sees the backlog even while the socket's processing is stalled on
 * Redis. SocketCluster processes messages in order, so the waiting ones are the newest `backlog` received: their
 * sizes are kept in arrival order and dropped from the front as processing catches up. The listener goes with the
 * WebSocket.
 */
export function watchInboundBacklog(socket: ServerSocket, onOverflow: () => void): void {
  const sizes: number[] = [];
  let head = 0;
  let bytes = 0;
  const check = (data: Buffer | ArrayBuffer | Buffer[]) => {
    if (socket.state === socket.CLOSED) return;
    const backlog = socket.getInboundBackpressure();
    sizes.push(sizeOf(data));
    bytes += sizes[sizes.length - 1];
    while (sizes.length - head > backlog) bytes -= sizes[head++];
    if (head > 1024 && head * 2 > sizes.length) {
      sizes.splice(0, head);
      head = 0;
    }
    if (backlog <= MAX_INBOUND_BACKLOG && bytes <= MAX_INBOUND_BACKLOG_BYTES) return;
    onOverflow();
    socket.disconnect(CloseCode.InboundBacklog, `More than ${MAX_INBOUND_BACKLOG} messages or ${MAX_INBOUND_BACKLOG_BYTES / 1024} KiB waiting; slow down`);
  };
  socket.socket.on('message', check);
}

function sizeOf(data: Buffer | ArrayBuffer | Buffer[]): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}
