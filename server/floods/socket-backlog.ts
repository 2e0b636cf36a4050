import { CloseCode, TooManyRequestsError } from '../../shared';
import type { InboundRule } from '../middleware/inbound';
import type WebSocket from 'ws';
import { closeSocket, type ServerSocket } from '../sc/facade';

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

/** What the guard keeps per socket: its newest message's size, and the sizes still waiting once more than one waits. */
interface Watched {
  readonly socket: ServerSocket;
  last: number;
  queue?: { sizes: number[]; head: number; bytes: number };
}

/**
 * Closes a socket with InboundBacklog (4103) once more than MAX_INBOUND_BACKLOG of its messages, or more than
 * MAX_INBOUND_BACKLOG_BYTES of them, wait to be processed. It listens on the WebSocket itself, after SocketCluster's
 * own listener has counted the message, so it sees the backlog even while the socket's processing is stalled on
 * Redis. SocketCluster processes messages in order, so the waiting ones are the newest `backlog` received: their
 * sizes are kept in arrival order and dropped from the front as processing catches up. The listener goes with the
 * WebSocket.
 *
 * One listener function serves every socket, and a socket whose messages are processed as they come (nearly all:
 * the backlog is then the message just received) keeps only that message's size; the list of waiting sizes exists
 * only while two or more wait. Per-socket closures would stay in memory for every idle connection's whole life.
 */
export class InboundBacklogGuard {
  private readonly watched = new WeakMap<WebSocket, Watched>();
  private readonly listener: (this: WebSocket, data: Buffer | ArrayBuffer | Buffer[]) => void;

  constructor(private readonly onOverflow: () => void) {
    // One listener for every socket: ws calls it with the receiving WebSocket as its own `this`.
    const received = (ws: WebSocket, data: Buffer | ArrayBuffer | Buffer[]) => {
      const watched = this.watched.get(ws);
      if (watched) this.check(watched, sizeOf(data));
    };
    this.listener = function onMessage(this: WebSocket, data) {
      received(this, data);
    };
  }

  /** Starts watching a socket; call before any of its messages can have arrived. */
  watch(socket: ServerSocket): void {
    this.watched.set(socket.socket, { socket, last: 0 });
    socket.socket.on('message', this.listener);
  }

  private check(watched: Watched, size: number): void {
    const { socket } = watched;
    if (socket.state === socket.CLOSED) return;
    const backlog = socket.getInboundBackpressure();
    let bytes = backlog === 0 ? 0 : size;
    if (backlog <= 1) {
      watched.queue = undefined;
    } else {
      // Without a queue, at most the previous message waited at its arrival: the waiting ones are it and this one.
      const queue = (watched.queue ??= { sizes: [watched.last], head: 0, bytes: watched.last });
      const { sizes } = queue;
      sizes.push(size);
      queue.bytes += size;
      while (sizes.length - queue.head > backlog) queue.bytes -= sizes[queue.head++];
      if (queue.head > 1024 && queue.head * 2 > sizes.length) {
        sizes.splice(0, queue.head);
        queue.head = 0;
      }
      bytes = queue.bytes;
    }
    watched.last = size;
    if (backlog <= MAX_INBOUND_BACKLOG && bytes <= MAX_INBOUND_BACKLOG_BYTES) return;
    this.onOverflow();
    closeSocket(socket, CloseCode.InboundBacklog, `More than ${MAX_INBOUND_BACKLOG} messages or ${MAX_INBOUND_BACKLOG_BYTES / 1024} KiB waiting; slow down`);
  }
}

function sizeOf(data: Buffer | ArrayBuffer | Buffer[]): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}
