import type { AGServer } from 'socketcluster-server';
import { WebSocket } from 'ws';
import type { ServerSocket } from './facade';
import { patchSocketMethods, type SocketMethod } from './patch';

/** Why a socket was closed as a slow consumer: its own backlog, or its share of the node's. */
export type SlowReason = 'socket' | 'node';

export interface OutboundBudgetOptions {
  /** GATEHOUSE_MAX_BUFFERED: unsent bytes one socket may hold. */
  readonly perSocketBytes: number;
  /** GATEHOUSE_MAX_BUFFERED_TOTAL: unsent bytes all sockets of the node may hold together. */
  readonly perNodeBytes: number;
  /**
   * While the node is over its total, a socket holding at least this many unsent bytes (it is behind by about one
   * message) is closed instead of being given another message; sockets that keep up are still served.
   */
  readonly behindBytes: number;
  /** Closes a slow consumer; after it the socket gets nothing more. */
  readonly onSlow: (socket: ServerSocket, bufferedBytes: number, reason: SlowReason) => void;
}

/** A socket's messages handed to SocketCluster's outbound stream but not yet written to the WebSocket. */
interface Ledger {
  /** For each message, the socket's `outboundPreparedMessageCount` just after it was queued. */
  readonly seqs: number[];
  readonly sizes: number[];
  head: number;
  bytes: number;
}

/** Shortest interval, ms, between two exact recounts of the node's total on the publish path. */
const RECOUNT_MIN_INTERVAL_MS = 10;

/**
 * OutboundBudget bounds the output the node holds for clients that do not read, at the moment a message is queued.
 *
 * A socket's unsent output is its WebSocket's `bufferedAmount` (written but not taken by the kernel) plus what sits in
 * SocketCluster's outbound stream, which the WebSocket does not see yet: a publisher's burst is fanned out before that
 * stream is drained. `admit` is asked before each message is queued; a message that would take the socket over its
 * budget is not queued, and the socket is closed as slow (see `onSlow`). The node's total is an upper estimate: it
 * grows with every admitted message and is recounted exactly by `sweep` (every 250 ms) and, under pressure, on the
 * publish path. Only the fan-out asks; other output (RPC replies, token renewals) is small and caught by the sweep.
 *
 * The recounts visit only the sockets that can hold output (`watched`): a socket joins when anything is written to it
 * (`AGServerSocket#send`, which every SocketCluster frame passes: replies, pings, renewals; the broker's
 * pre-framed messages, which bypass it, call `noteWrite`) or queued for it, and leaves once a recount finds it holds
 * nothing. Output can only grow by such a write, so the sockets left out hold none; an idle node's recount is about
 * the few sockets pinged since the last. ws's own pongs (a client's WebSocket pings) pass no SocketCluster method:
 * while one is unsent, recounts visit every socket.
 * `installWriteTracking` installs both seams.
 */
export class OutboundBudget {
  private readonly ledgers = new WeakMap<ServerSocket, Ledger>();
  /** Every socket that may hold unsent output (and some that no longer do). */
  private readonly watched = new Set<ServerSocket>();
  private estimate = 0;
  private lastRecount = 0;

  constructor(
    private readonly server: AGServer,
    private readonly options: OutboundBudgetOptions,
  ) {
    (server as unknown as Budgeted)[BUDGET] = this;
  }

  /** Notes that something was written to `socket`: it may hold output until a recount finds it does not. */
  wrote(socket: ServerSocket): void {
    this.watched.add(socket);
  }

  /**
   * Whether a message of `bytes` may be queued for `socket`. When it may, it is recorded against the socket (call
   * `queued` once SocketCluster has it); when not, the socket has been closed as slow.
   */
  admit(socket: ServerSocket, bytes: number): boolean {
    // The server's own exchange subscribes like a socket but is no connection: it holds no buffer.
    if (!isConnection(socket)) return true;
    const own = this.pendingOf(socket);
    if (own + bytes > this.options.perSocketBytes) {
      this.options.onSlow(socket, own, 'socket');
      return false;
    }
    if (this.estimate + bytes > this.options.perNodeBytes && own >= this.options.behindBytes) {
      const now = Date.now();
      if (now - this.lastRecount >= RECOUNT_MIN_INTERVAL_MS) this.measure();
      if (this.estimate + bytes > this.options.perNodeBytes) {
        this.options.onSlow(socket, own, 'node');
        return false;
      }
    }
    this.estimate += bytes;
    return true;
  }

  /** Records a message of `bytes` that SocketCluster has just put in the socket's outbound stream. */
  queued(socket: ServerSocket, bytes: number): void {
    if (!isConnection(socket)) return;
    let ledger = this.ledgers.get(socket);
    if (!ledger) {
      ledger = { seqs: [], sizes: [], head: 0, bytes: 0 };
      this.ledgers.set(socket, ledger);
    }
    this.watched.add(socket);
    ledger.seqs.push(socket.outboundPreparedMessageCount);
    ledger.sizes.push(bytes);
    ledger.bytes += bytes;
  }

  /** Unsent bytes the node holds for one socket now. */
  pendingOf(socket: ServerSocket): number {
    return (socket.socket?.bufferedAmount ?? 0) + this.streamBytes(socket);
  }

  /** The node's unsent bytes as last estimated (an upper bound until the next recount). */
  get estimatedBytes(): number {
    return this.estimate;
  }

  /**
   * Recounts the node's total exactly and closes every socket over its own budget, and, while the node is over its
   * total, the sockets furthest behind until it is not. Returns the exact total after.
   */
  sweep(): number {
    const behind: [ServerSocket, number][] = [];
    let total = 0;
    for (const socket of this.candidates()) {
      const pending = this.pendingOf(socket);
      if (pending === 0 || socket.state === socket.CLOSED) {
        this.watched.delete(socket);
        continue;
      }
      if (pending > this.options.perSocketBytes) {
        this.options.onSlow(socket, pending, 'socket');
        continue;
      }
      total += pending;
      if (pending >= this.options.behindBytes) behind.push([socket, pending]);
    }
    if (total > this.options.perNodeBytes) {
      behind.sort((a, b) => b[1] - a[1]);
      for (const [socket, pending] of behind) {
        if (total <= this.options.perNodeBytes) break;
        this.options.onSlow(socket, pending, 'node');
        total -= pending;
      }
    }
    this.estimate = total;
    this.lastRecount = Date.now();
    return total;
  }

  /** Recounts the node's unsent bytes exactly (one property read per socket that may hold any) and returns them. */
  measure(): number {
    let total = 0;
    for (const socket of this.candidates()) {
      const pending = this.pendingOf(socket);
      if (pending === 0 || socket.state === socket.CLOSED) this.watched.delete(socket);
      else total += pending;
    }
    this.estimate = total;
    this.lastRecount = Date.now();
    return total;
  }

  /** The sockets a recount visits: the watched ones, or every client while a pong written by ws may be unsent. */
  private candidates(): Set<ServerSocket> {
    for (const ws of pongWriters) if (ws.readyState === WebSocket.CLOSED || ws.bufferedAmount === 0) pongWriters.delete(ws);
    if (pongWriters.size > 0) {
      const clients = this.server.clients;
      for (const id in clients) this.watched.add(clients[id]);
    }
    return this.watched;
  }

  /** Bytes still in the socket's outbound stream; drops the entries SocketCluster has processed since. */
  private streamBytes(socket: ServerSocket): number {
    const ledger = this.ledgers.get(socket);
    if (!ledger) return 0;
    const sent = socket.outboundSentMessageCount;
    while (ledger.head < ledger.seqs.length && ledger.seqs[ledger.head] <= sent) {
      ledger.bytes -= ledger.sizes[ledger.head];
      ledger.head++;
    }
    if (ledger.head === ledger.seqs.length) {
      ledger.seqs.length = 0;
      ledger.sizes.length = 0;
      ledger.head = 0;
      ledger.bytes = 0;
    } else if (ledger.head > 1024) {
      ledger.seqs.splice(0, ledger.head);
      ledger.sizes.splice(0, ledger.head);
      ledger.head = 0;
    }
    return ledger.bytes;
  }
}

/** Where a server holds its budget, for the write seam to find the budget of the socket written to. */
const BUDGET = Symbol('gatehouse.outboundBudget');
type Budgeted = { [BUDGET]?: OutboundBudget };

/**
 * Tells the budget of `socket`'s server, if it has one, that something was written to the socket. `AGServerSocket#send`
 * does it (installed below); a write that bypasses `send` (./preframed-writes.ts) must do it too.
 */
export function noteWrite(socket: ServerSocket): void {
  (socket.server as unknown as Budgeted)[BUDGET]?.wrote(socket);
}

/** This process's WebSockets that ws wrote a pong to and that may still hold it (of any server). */
const pongWriters = new Set<WebSocket>();

/**
 * Installs, once per process, what tells each OutboundBudget which sockets were written to: `AGServerSocket#send`,
 * through which SocketCluster writes every frame, and ws's `WebSocket#pong`, which answers a client's WebSocket
 * pings without SocketCluster. Either seam missing makes start-up fail rather than leave output uncounted.
 */
export function installWriteTracking(AGServerSocket: { prototype: unknown }): void {
  const seam = { name: 'writeTracking', file: 'server/sc/outbound-budget.ts' };
  patchSocketMethods(AGServerSocket, seam, ['send'], (original) => ({
    // Fixed arity and a property of the server, not a WeakMap: this runs once per delivery of every fan-out.
    send(this: ServerSocket, data: unknown, options: unknown) {
      noteWrite(this);
      original.send.call(this, data, options);
    },
  }));
  const proto = WebSocket.prototype as unknown as Record<string | symbol, unknown>;
  const installed = Symbol.for('gatehouse.writeTracking.pong');
  if (proto[installed]) return;
  const pong = proto.pong;
  if (typeof pong !== 'function') throw new Error(`ws no longer has WebSocket#pong; review ${seam.file}`);
  proto.pong = function (this: WebSocket, ...args: unknown[]) {
    pongWriters.add(this);
    return (pong as SocketMethod).apply(this, args);
  };
  proto[installed] = true;
}

/** Whether a broker subscriber is a client's connection (a server socket), not an in-process one such as the exchange. */
function isConnection(subscriber: ServerSocket): boolean {
  return typeof (subscriber as { outboundPreparedMessageCount?: unknown }).outboundPreparedMessageCount === 'number';
}
