import { WebSocket } from 'ws';
import type { ServerSocket } from './facade';
import { noteWrite } from './outbound-budget';

/** The options of an unmasked, uncompressed, final text frame: what `WebSocket#send` uses on a plain server socket. */
interface FrameOptions {
  readonly fin: boolean;
  readonly opcode: number;
  readonly mask: boolean;
  readonly readOnly: boolean;
  readonly rsv1: boolean;
}

/** ws' Sender as this module uses it: exported by ws (`WebSocket.Sender`), absent from @types/ws. */
interface SenderClass {
  frame(data: Buffer, options: FrameOptions): Buffer[];
}

/** What a server-side WebSocket holds that this module reads (ws' own fields, absent from @types/ws). */
interface WebSocketInternals {
  readonly _isServer: boolean;
  readonly _sender: { sendFrame(list: readonly Buffer[], cb: (error?: Error | null) => void): void };
}

/** AGServerSocket's teardown after a failed write, as its `send` calls it (not in @types/socketcluster-server). */
interface Destroyable {
  _destroy(code: number, reason: string): unknown;
}

const Sender = (WebSocket as unknown as { Sender: SenderClass }).Sender;

const TEXT: FrameOptions = { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false };

/**
 * Up to this many payload bytes, a frame's header and payload are copied into one buffer, written in one `write`;
 * above it they stay two buffers, which ws writes as it does its own frames (cork, two writes, uncork). The copy is
 * made once per publish and saves a cork and a write per socket; for a large payload, with few subscribers, it would
 * cost more than it saves.
 */
const ONE_BUFFER_MAX_BYTES = 2048;

/**
 * SharedText is one text message written to many sockets: its UTF-8 bytes, and the WebSocket frame made of them once,
 * at the first socket that takes a pre-framed write, and written as it is to every other.
 */
export class SharedText {
  private frame?: readonly Buffer[];

  constructor(readonly bytes: Buffer) {}

  /** The message's frame as `WebSocket#send` would write it to a server socket without extensions. */
  framed(): readonly Buffer[] {
    if (this.frame) return this.frame;
    const [header, payload] = Sender.frame(this.bytes, TEXT);
    if (payload === undefined || payload.length > ONE_BUFFER_MAX_BYTES) return (this.frame = payload === undefined ? [header] : [header, payload]);
    const one = Buffer.allocUnsafe(header.length + payload.length);
    header.copy(one, 0);
    payload.copy(one, header.length);
    return (this.frame = [one]);
  }
}

/**
 * Writes `text`'s shared frame to the socket's WebSocket, as Socket.IO's room broadcasts do (engine.io frames a
 * broadcast once with `Sender.frame` and hands each socket's Sender the same frame), and says whether it did; when
 * not, nothing was written and the caller sends the bytes as usual.
 *
 * It writes only where `WebSocket#send` would write those same bytes at once: the WebSocket is open (a closing one
 * refuses the write, with an error SocketCluster handles), server side (a client's frames are masked, each with its
 * own key) and has no extension negotiated (permessage-deflate compresses per socket, with per-socket state; ws only
 * negotiates it when the server offers it, which SocketCluster does not by default). With no extension, ws' Sender
 * never holds a frame back (it queues only while it compresses or reads a Blob, and SocketCluster sends neither), so
 * the frame keeps its place among the socket's writes. What `AGServerSocket#send` does around the write is done here
 * too: the slow-consumer budget is told (the WebSocket's `bufferedAmount` counts the bytes, as for any write), and a
 * failed write closes the socket with 1006 after emitting the error.
 */
export function writeShared(socket: ServerSocket, text: SharedText): boolean {
  const ws = socket.socket as WebSocket & WebSocketInternals;
  if (ws.readyState !== WebSocket.OPEN || !ws._isServer || ws.extensions !== '') return false;
  noteWrite(socket);
  ws._sender.sendFrame(text.framed(), (error) => {
    if (error) {
      socket.emitError(error);
      void (socket as unknown as Destroyable)._destroy(1006, error.toString());
    }
  });
  return true;
}
