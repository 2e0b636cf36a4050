import AGSimpleBroker from 'ag-simple-broker';
import type { ServerSocket } from './facade';
import { SharedText, writeShared } from './preframed-writes';

export { SharedText };

/**
 * A subscriber SocketCluster registers with the broker: a client's server socket, or the server's exchange, which
 * has only `transmit`.
 */
export interface BrokerSubscriber {
  readonly state: string;
  readonly OPEN: string;
  transmit(event: string, data: unknown, options: { stringifiedData?: string }): unknown;
}

/** The codec SocketCluster gives the broker (`setCodecEngine`): sc-formatter unless configured otherwise. */
export interface BrokerCodec {
  encode(value: unknown): string;
}

/** AGSimpleBroker's fields the fan-out reads (plain JavaScript properties, absent from its types). */
interface SimpleBrokerInternals {
  readonly _clientSubscribers: Record<string, Record<string, BrokerSubscriber> | undefined>;
  readonly _codec?: BrokerCodec | null;
}

/** What `writeDirectly` reads of a server socket (AGServerSocket's fields and `send`, not in its types). */
interface WritableSubscriber extends BrokerSubscriber {
  readonly send?: (data: Buffer, options: { binary: boolean }) => void;
  readonly isBufferingBatch?: boolean;
  readonly outboundPreparedMessageCount?: number;
  readonly outboundSentMessageCount?: number;
  readonly server?: { hasMiddleware(type: unknown): boolean; readonly MIDDLEWARE_OUTBOUND: unknown };
}

/**
 * SimpleBrokerBase is the stock in-process AGSimpleBroker with typed access to what a broker of our own needs of its
 * private state, to fan out itself: a channel's local subscribers and the codec SocketCluster set.
 */
export abstract class SimpleBrokerBase extends AGSimpleBroker {
  /** The local subscribers of `channel` by id (sockets and the exchange), or undefined when it has none. */
  protected subscribersOf(channel: string): Readonly<Record<string, BrokerSubscriber>> | undefined {
    return (this as unknown as SimpleBrokerInternals)._clientSubscribers[channel];
  }

  /** The codec SocketCluster set on the broker, if any. */
  protected get codec(): BrokerCodec | undefined {
    return (this as unknown as SimpleBrokerInternals)._codec ?? undefined;
  }

  /**
   * Writes `#publish` bytes, already encoded by the codec, straight to the subscriber's WebSocket when that is what its
   * outbound stream would do, and says whether it did. With no outbound middleware and no batching, that stream ends in
   * AGServerSocket's `send` of the same string (serversocket.js `_processTransmit`), after two async functions, a
   * stream write and read, and an AGAction per socket: most of a fan-out's cost beside the write itself. Only when the
   * stream holds nothing else, so the packet cannot overtake an earlier message to the socket (a token renewal, say);
   * the exchange, which is no connection, is never written to. The WebSocket frame is made once per message and
   * shared by its subscribers (./preframed-writes.ts); a socket that cannot take it gets the bytes by `send`.
   */
  protected writeDirectly(subscriber: BrokerSubscriber, text: SharedText): boolean {
    const socket = subscriber as WritableSubscriber;
    if (
      socket.send === undefined
      || socket.server === undefined
      || socket.isBufferingBatch
      || socket.outboundPreparedMessageCount !== socket.outboundSentMessageCount
      || socket.server.hasMiddleware(socket.server.MIDDLEWARE_OUTBOUND)
    )
      return false;
    if (!writeShared(subscriber as unknown as ServerSocket, text)) socket.send(text.bytes, { binary: false });
    return true;
  }
}
