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
 * ClusterBroker is the gateway's SocketCluster `brokerEngine`: the stock in-process AGSimpleBroker (local fan-out,
 * exchange, `isSubscribed`) plus three things.
 * - Every publish, from a client or from server code, must be JSON (./payload.ts); other data is refused with
 *   PublishPayloadError before anyone receives it.
 * - With a bus attached, a publish made here is also handed to the bus, and the bus hands messages from other nodes
 *   to `deliverFromPeer`, which delivers locally without handing them back (no loops, no echoes).
 * - With a bus attached, a socket's subscribe resolves (SocketCluster then acknowledges it) only once the channel's
 *   Redis subscription holds, at most SUBSCRIBE_CONFIRM_TIMEOUT_MS; after that it throws SubscribeUnavailableError.
 * Without a bus it behaves as AGSimpleBroker does.
 */
export class ClusterBroker extends AGSimpleBroker {
  private bus?: ClusterBus;

  /** Connects the cross-node bus; done once, before clients arrive. */
  attachBus(bus: ClusterBus): void {
    this.bus = bus;
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
    await super.transmitPublish(channel, data, suppressEvent);
    if (!suppressEvent) this.bus?.publish(channel, json);
  }

  /** Delivers a message another node published to this node's subscribers only (no 'publish' event, no re-send). */
  deliverFromPeer(channel: string, data: unknown): void {
    super.transmitPublish(channel, data, true).catch((error: Error) => this.emit('error', { error }));
  }
}
