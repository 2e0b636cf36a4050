import AGSimpleBroker = require('ag-simple-broker');
import { SubscribeUnavailableError } from '../../shared';
import { encodePublishData } from './payload';

/** Longest wait, in ms, for a channel's Redis subscription before a client's subscribe is refused. */
export const SUBSCRIBE_CONFIRM_TIMEOUT_MS = 1000;

/** What the broker needs from the cross-node bus (server/cluster/channel-bridge.ts implements it). */
export interface ClusterBus {
  /** Sends a local publish (its data already JSON-encoded) to the other nodes; never throws, never waits. */
  publish(channel: string, json: string): void;
  /** The local subscriber set of a channel changed: subscribe or unsubscribe it in Redis to match. */
  sync(channel: string): void;
  /** Resolves true once the channel's Redis subscription holds, false if it does not within `ms`. */
  whenHeld(channel: string, ms: number): Promise<boolean>;
}

/**
 * Decides, before a published message is queued for a socket, whether it may be (the slow-consumer budget,
 * server/sc/outbound-budget.ts). `bytes` is the encoded message's size.
 */
export interface DeliveryGate<S = unknown> {
  /** False when the socket must not get the message (the gate has closed it). */
  admit(socket: S, bytes: number): boolean;
  /**
   * The message is now in the socket's outbound stream. Not called for a message written to the WebSocket at once:
   * the WebSocket's `bufferedAmount` counts that one already.
   */
  queued(socket: S, bytes: number): void;
}

/**
 * The subscriber SocketCluster registers with the broker: its server socket (all fields below are AGServerSocket's
 * public ones), or the server's exchange, which has only `transmit`.
 */
interface Subscriber {
  readonly state: string;
  readonly OPEN: string;
  transmit(event: string, data: unknown, options: { stringifiedData?: string }): unknown;
  readonly send?: (data: Buffer, options: { binary: boolean }) => void;
  readonly isBufferingBatch?: boolean;
  readonly outboundPreparedMessageCount?: number;
  readonly outboundSentMessageCount?: number;
  readonly server?: { hasMiddleware(type: unknown): boolean; readonly MIDDLEWARE_OUTBOUND: unknown };
}

/** AGSimpleBroker's fields the fan-out reads (plain JavaScript properties, absent from its types). */
interface SimpleBrokerInternals {
  _clientSubscribers: Record<string, Record<string, Subscriber> | undefined>;
  _codec?: { encode(value: unknown): string };
}

/**
 * ClusterBroker is the gateway's SocketCluster `brokerEngine`: the stock in-process AGSimpleBroker (local fan-out,
 * exchange, `isSubscribed`) plus three things.
 * - Every publish, from a client or from server code, must be JSON (./payload.ts); other data is refused with
 *   PublishPayloadError before anyone receives it.
 * - With a bus attached, a publish made here is also handed to the bus, and the bus hands messages from other nodes
 *   to `deliverFromPeer`, which delivers locally without handing them back (no loops, no echoes).
 * - With a bus attached, a socket's subscribe resolves (SocketCluster then acknowledges it) only once the channel's
 *   Redis subscription holds, at most SUBSCRIBE_CONFIRM_TIMEOUT_MS; after that it throws SubscribeUnavailableError.
 * - With a delivery gate set, the local fan-out asks it before queuing each message for each subscriber, so a
 *   subscriber that does not read is stopped when its backlog would pass its budget, not some time after.
 * Without a bus it behaves as AGSimpleBroker does.
 */
export class ClusterBroker extends AGSimpleBroker {
  private bus?: ClusterBus;
  private gate?: DeliveryGate;
  private checkedCodec?: { readonly codec: unknown; readonly plain: boolean };

  /** Connects the cross-node bus; done once, before clients arrive. */
  attachBus(bus: ClusterBus): void {
    this.bus = bus;
  }

  /** Sets the gate every local delivery passes; done once, before clients arrive. */
  setDeliveryGate(gate: DeliveryGate): void {
    this.gate = gate;
  }

  override async subscribeClient(client: { id: string }, channel: string): Promise<void> {
    await super.subscribeClient(client, channel);
    this.bus?.sync(channel);
  }

  override async subscribeSocket(socket: { id: string }, channel: string): Promise<void> {
    await this.subscribeClient(socket, channel);
    if (!this.bus || (await this.bus.whenHeld(channel, SUBSCRIBE_CONFIRM_TIMEOUT_MS))) return;
    // SocketCluster forgets the channel on the socket when this throws, but not in the broker: undo it here.
    await this.unsubscribeClient(socket, channel);
    throw new SubscribeUnavailableError(channel);
  }

  override async unsubscribeClient(client: { id: string }, channel: string): Promise<void> {
    await super.unsubscribeClient(client, channel);
    this.bus?.sync(channel);
  }

  override async unsubscribeSocket(socket: { id: string }, channel: string): Promise<void> {
    await this.unsubscribeClient(socket, channel);
  }

  // AGSimpleBroker's invokePublish calls this.transmitPublish, so this one override covers both.
  override async transmitPublish(channel: string, data: unknown, suppressEvent?: boolean): Promise<void> {
    const json = encodePublishData(data);
    this.fanOut(channel, data, json);
    if (!suppressEvent) {
      this.emit('publish', { channel, data });
      this.bus?.publish(channel, json);
    }
  }

  /** Delivers a message another node published to this node's subscribers only (no 'publish' event, no re-send). */
  deliverFromPeer(channel: string, data: unknown): void {
    this.fanOut(channel, data);
  }

  /**
   * Whether SocketCluster's codec writes a `#publish` packet as plain JSON (its default, sc-formatter, does): checked
   * once per codec on a sample packet, so a custom codec (binary, compressed) is always asked to encode itself.
   */
  private plainJsonCodec(codec: SimpleBrokerInternals['_codec']): boolean {
    if (!codec) return false;
    if (this.checkedCodec?.codec !== codec) {
      const sample = { event: '#publish', data: { channel: 'c:"1"', data: { a: [1, 'b', null, true], 'k"': { n: -1.5 } } } };
      let plain = false;
      try {
        plain = codec.encode(sample) === JSON.stringify(sample);
      } catch {
        plain = false;
      }
      this.checkedCodec = { codec, plain };
    }
    return this.checkedCodec.plain;
  }

  /**
   * AGSimpleBroker's fan-out (encode the `#publish` packet once, transmit it to each local subscriber) with the
   * delivery gate asked first for each subscriber, and the encoded bytes written to the WebSocket at once where
   * SocketCluster's outbound stream would only pass them on (`writesDirectly`).
   */
  private fanOut(channel: string, data: unknown, json?: string): void {
    const internals = this as unknown as SimpleBrokerInternals;
    const subscribers = internals._clientSubscribers[channel];
    if (!subscribers) return;
    const packet = { channel, data };
    let stringifiedData: string | undefined;
    try {
      // The data was just encoded as strict JSON (./payload.ts); with the default codec, which writes plain JSON,
      // the packet is that text wrapped, not a second JSON.stringify of the same data.
      stringifiedData = json !== undefined && this.plainJsonCodec(internals._codec)
        ? `{"event":"#publish","data":{"channel":${JSON.stringify(channel)},"data":${json}}}`
        : internals._codec?.encode({ event: '#publish', data: packet });
    } catch (error) {
      this.emit('error', { error: error as Error });
      return;
    }
    // One UTF-8 encoding per publish, shared by every subscriber's frame, where ws would convert the string again
    // for each socket (Socket.IO shares its broadcast's bytes the same way).
    const bytes = stringifiedData === undefined ? undefined : Buffer.from(stringifiedData);
    const gate = bytes && this.gate;
    for (const id of Object.keys(subscribers)) {
      const socket = subscribers[id];
      if (!socket || socket.state !== socket.OPEN) continue;
      if (!bytes) {
        socket.transmit('#publish', packet, {}); // no codec to encode it once: SocketCluster encodes per socket
        continue;
      }
      if (gate && !gate.admit(socket, bytes.length)) continue;
      if (writesDirectly(socket)) {
        socket.send!(bytes, { binary: false });
      } else {
        socket.transmit('#publish', packet, { stringifiedData });
        if (gate) gate.queued(socket, bytes.length);
      }
    }
  }
}

/**
 * Whether a `#publish` packet already encoded by the codec may be written straight to the socket's WebSocket
 * (AGServerSocket's `send`) rather than through its outbound stream (`transmit`). With no outbound middleware and no
 * batching, that stream ends in the same `send` of the same string (serversocket.js `_processTransmit`), after two
 * async functions, a stream write and read, and an AGAction per socket: most of a fan-out's cost beside the write
 * itself (BENCHMARKS.md, "Fan-out written to the WebSocket at once"). Only when the stream holds nothing else, so
 * the packet cannot overtake an earlier message to the socket (a token renewal, say); the exchange, which is no
 * connection, always gets `transmit`.
 */
function writesDirectly(socket: Subscriber): boolean {
  return socket.send !== undefined && socket.server !== undefined && !socket.isBufferingBatch
    && socket.outboundPreparedMessageCount === socket.outboundSentMessageCount
    && !socket.server.hasMiddleware(socket.server.MIDDLEWARE_OUTBOUND);
}
