import { PublishForbiddenError, RateLimitedError, SubscribeForbiddenError, quoteChannel, type GatehouseClaims } from '../../shared';
import { channelNameProblem } from '../../shared/channel-pattern';
import type { Clock } from '../clock';
import type { DenialCounter } from './denials';
import type { ChannelPolicy } from './policy';
import type { PublishLimiter } from './publish-limiter';

/** What the channel rules decide with. All in memory: these rules run on every publish and subscribe. */
export interface RuleDeps {
  readonly policy: ChannelPolicy;
  readonly denials: DenialCounter;
  readonly limiter: PublishLimiter;
  readonly clock: Clock;
  /** Channels one socket may hold (GATEHOUSE_MAX_CHANNELS). */
  readonly maxChannels: number;
}

/**
 * What the rules need to know of a connection: the channels it holds. A structural view, so the rules stay free of
 * socket code (the middleware adapter in install.ts passes the socket itself); also the key of its publish bucket.
 */
export interface ChannelHolder {
  isSubscribed(channel: string): boolean;
  /** The channels it holds, those whose subscribe is in flight included. */
  subscriptions(): string[];
}

/** A rule's verdict: undefined allows, an error refuses with that error. */
export type ChannelRule = (claims: GatehouseClaims | null, channel: unknown, holder: ChannelHolder) => Error | undefined;

/** PUBLISH_IN: a valid name, a publish grant, then a token from the connection's bucket. */
export function publishRule({ policy, denials, limiter, clock }: RuleDeps): ChannelRule {
  return (claims, channel, socket) => {
    const problem = channelNameProblem(channel);
    if (problem) {
      denials.count('invalid_channel');
      return new PublishForbiddenError(`Invalid channel name ${quoteChannel(channel)}: it ${problem}`, channel);
    }
    if (!policy.matcherFor(claims).allows('publish', channel as string)) {
      denials.count('publish_forbidden');
      return new PublishForbiddenError(`No grant to publish on ${quoteChannel(channel)}`, channel);
    }
    const retryAfter = limiter.take(socket, clock.now());
    if (retryAfter !== undefined) {
      denials.count('publish_rate');
      return new RateLimitedError('Publishing too fast', retryAfter);
    }
    return undefined;
  };
}

/** SUBSCRIBE: a valid name, a subscribe grant, and room under the channel limit (a channel already held is free). */
export function subscribeRule({ policy, denials, maxChannels }: RuleDeps): ChannelRule {
  return (claims, channel, socket) => {
    const problem = channelNameProblem(channel);
    if (problem) {
      denials.count('invalid_channel');
      return new SubscribeForbiddenError(`Invalid channel name ${quoteChannel(channel)}: it ${problem}`, channel);
    }
    const name = channel as string;
    if (!policy.matcherFor(claims).allows('subscribe', name)) {
      denials.count('subscribe_forbidden');
      return new SubscribeForbiddenError(`No grant to subscribe to ${quoteChannel(name)}`, name);
    }
    // What the socket holds, not SocketCluster's channelSubscriptionsCount: that counter drops once per finished
    // unsubscribe, and interleaved unsubscribes and failed subscribes of one channel have driven it below (even
    // under) the real number. Inbound actions run one at a time per socket and SocketCluster records a
    // subscription before its broker call finishes, so this includes every subscription in flight. O(channels
    // held), which the limit bounds.
    if (!socket.isSubscribed(name) && socket.subscriptions().length >= maxChannels) {
      denials.count('channel_limit');
      return new SubscribeForbiddenError(`Cannot subscribe to ${quoteChannel(name)}: a connection may hold at most ${maxChannels} channels`, name);
    }
    return undefined;
  };
}

/** TRANSMIT: clients reach the gateway through its procedures only; anything else they transmit is dropped. */
export function transmitRule({ denials }: Pick<RuleDeps, 'denials'>): () => Error {
  const dropped = new Error('Client transmits are not accepted');
  dropped.name = 'TransmitDroppedError';
  return () => {
    denials.count('client_transmit');
    return dropped;
  };
}
