import { SubscribeUnavailableError } from '../../shared';
import { SharedText, SimpleBrokerBase, type BrokerCodec } from '../sc/broker-base';
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
 * Asked once a socket's subscription holds, before SocketCluster acknowledges it: an error refuses it after all (the
 * socket is unsubscribed and the client gets that error), undefined keeps it. The second look of "check, subscribe,
 * check again": grants taken away while the subscribe was in flight are seen here.
 */
export type SubscribeCheck<S = unknown> = (socket: S, channel: string) => Error | undefined;

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
 * - With a subscribe check set, a socket's subscribe is checked again once it holds (SubscribeCheck); meanwhile
 *   `isSubscribing` says it is in flight, so a re-check of the socket's channels leaves it to that second look.
 * Without a bus it behaves as AGSimpleBroker does.
 */
export class ClusterBroker extends SimpleBrokerBase {
  private bus?: ClusterBus;
  private gate?: DeliveryGate;
  private checkedCodec?: { readonly codec: unknown; readonly plain: boolean };
  private recheck?: SubscribeCheck<object>;
  /** The channels each socket is being subscribed to right now. */
  private readonly subscribing = new WeakMap<object, Set<string>>();

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

  /** Sets the check every socket subscribe passes once it holds; done once, before clients arrive. */
  setSubscribeCheck<S extends object>(check: SubscribeCheck<S>): void {
    // SocketCluster hands subscribeSocket the sockets the check is written for.
    this.recheck = check as SubscribeCheck<object>;
  }

  /** Whether a subscribe of `socket` to `channel` is in flight (not yet acknowledged). */
  isSubscribing(socket: object, channel: string): boolean {
    return this.subscribing.get(socket)?.has(channel) === true;
  }

  override async subscribeSocket(socket: { id: string }, channel: string): Promise<void> {
    let mine = this.subscribing.get(socket);
    if (!mine) this.subscribing.set(socket, (mine = new Set()));
    mine.add(channel);
    let refusal: Error | undefined;
    try {
      await this.subscribeClient(socket, channel);
      if (this.bus && !(await this.bus.whenHeld(channel, SUBSCRIBE_CONFIRM_TIMEOUT_MS))) refusal = new SubscribeUnavailableError(channel);
      else refusal = this.recheck?.(socket, channel);
    } finally {
      mine.delete(channel);
      if (mine.size === 0) this.subscribing.delete(socket);
    }
    if (!refusal) return;
    // SocketCluster forgets the channel on the socket when this throws, but not in the broker: undo it here.
    await this.unsubscribeClient(socket, channel);
    throw refusal;
  }

  override async unsubscribeClient(client: { id: string }, channel: string): Promise<void> {
    await super.unsubscribeClient(client, channel);
    this.bus?.sync(channel);
  }

  override async unsubscribeSocket(socket: { id: string }, channel: string): Promise<void> {
    await this.unsubscribeClient(socket, channel);
  }

  // AGSimpleBroker's invokePublish calls this.transmitPublish, so this one override covers both.
  // eslint-disable-next-line @typescript-eslint/require-await -- async so data that cannot travel rejects, as the stock broker's would
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
  private plainJsonCodec(codec: BrokerCodec | undefined): boolean {
    if (!codec) return false;
    if (this.checkedCodec?.codec !== codec) {
      const sample = { event: '#publish', data: { channel: 'c:"1"', data: { a: [1, 'b', null, true], 'k"': { n: -1.5 } } } };
      let plain: boolean;
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
   * SocketCluster's outbound stream would only pass them on (`writeDirectly`).
   */
  private fanOut(channel: string, data: unknown, json?: string): void {
    const subscribers = this.subscribersOf(channel);
    if (!subscribers) return;
    const packet = { channel, data };
    const codec = this.codec;
    let stringifiedData: string | undefined;
    try {
      // The data was just encoded as strict JSON (./payload.ts); with the default codec, which writes plain JSON,
      // the packet is that text wrapped, not a second JSON.stringify of the same data.
      stringifiedData =
        json !== undefined && this.plainJsonCodec(codec)
          ? `{"event":"#publish","data":{"channel":${JSON.stringify(channel)},"data":${json}}}`
          : codec?.encode({ event: '#publish', data: packet });
    } catch (error) {
      this.emit('error', { error: error as Error });
      return;
    }
    // One UTF-8 encoding and one WebSocket frame per publish, shared by every subscriber, where ws would convert the
    // string and frame it again for each socket (Socket.IO shares its broadcast's frame the same way).
    const text = stringifiedData === undefined ? undefined : new SharedText(Buffer.from(stringifiedData));
    const gate = text && this.gate;
    for (const id of Object.keys(subscribers)) {
      const socket = subscribers[id];
      if (!socket || socket.state !== socket.OPEN) continue;
      if (!text) {
        socket.transmit('#publish', packet, {}); // no codec to encode it once: SocketCluster encodes per socket
        continue;
      }
      if (gate && !gate.admit(socket, text.bytes.length)) continue;
      if (!this.writeDirectly(socket, text)) {
        socket.transmit('#publish', packet, { stringifiedData });
        if (gate) gate.queued(socket, text.bytes.length);
      }
    }
  }
}
