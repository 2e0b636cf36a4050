import { KICK_MESSAGES, SubscribeForbiddenError, quoteChannel, type KickReason } from '../../shared';
import type { AuthChange } from '../auth/auth-watch';
import type { GatewayHost } from '../host';
import { claimsOf, isOpen, subscriptionsOf, type ServerSocket } from '../sc/facade';
import type { DeliveryGate, SubscribeCheck } from '../cluster/broker';
import type { OutboundBudget } from '../sc/outbound-budget';
import { startSlowConsumerGuard } from '../sc/slow-consumers';
import { DenialCounter } from './denials';
import { registerChannelMetrics } from './metrics';
import { ChannelPolicy } from './policy';
import { PublishLimiter } from './publish-limiter';
import { publishRule, subscribeRule, transmitRule, type RuleDeps } from './rules';
import type { ChannelSettings } from './settings';

// The channel rules' one adapter to sockets and middleware: everything else in channels/ is pure policy.

/** What a client kicked out because its authentication changed reads in its `kickOut` event. */
export const REVOKED_SUBSCRIPTION_MESSAGE = KICK_MESSAGES['authentication-changed'];

/** What the channel rules need of the broker: the delivery gate, and the second look at each subscribe. */
export interface GuardedBroker {
  setDeliveryGate(gate: DeliveryGate<ServerSocket>): void;
  setSubscribeCheck(check: SubscribeCheck<ServerSocket>): void;
  isSubscribing(socket: ServerSocket, channel: string): boolean;
}

/** The channel rules of one gateway, as other parts see them. */
export interface ChannelGuard {
  readonly policy: ChannelPolicy;
  /** Refusals by reason (for /metrics). */
  readonly denials: DenialCounter;
  /** The bound on output held for clients that do not read. */
  readonly outbound: OutboundBudget;
  /**
   * Kicks a socket out of every channel it may no longer subscribe to, telling its client why; subscribes in flight
   * are left to their own second look. Returns how many channels it kicked the socket out of.
   */
  recheck(socket: ServerSocket, reason: KickReason): number;
}

/**
 * Installs the channel rules on a gateway: publish, subscribe and transmit rules in its inbound dispatcher, the
 * subscription re-check on every change of authentication, and the slow-consumer guard, which the broker asks before each published message is queued (owned by the host).
 * Their refusals, held output and allowed publishes go to the node's metrics.
 */
export function installChannelRules(host: GatewayHost<ChannelSettings & { readonly maxPayload: number }>, broker: GuardedBroker): ChannelGuard {
  const { config, log } = host;
  const policy = new ChannelPolicy(config.channelRules);
  const denials = new DenialCounter();
  const deps: RuleDeps = {
    policy,
    denials,
    limiter: new PublishLimiter(config.publishRate, config.publishBurst),
    clock: host.clock,
    maxChannels: config.maxChannels,
  };
  const publish = publishRule(deps);
  const subscribe = subscribeRule(deps);
  host.dispatcher.use('publishIn', ({ socket, channel }) => publish(claimsOf(socket), channel, socket));
  host.dispatcher.use('subscribe', ({ socket, channel }) => subscribe(claimsOf(socket), channel, socket));
  host.dispatcher.use('transmit', transmitRule(deps));
  // A plain increment on the publish path; the counter reads it at scrape.
  let publishes = 0;
  host.dispatcher.onAllowed('publishIn', () => {
    publishes++;
  });
  const inFlight = (socket: ServerSocket, channel: string) => broker.isSubscribing(socket, channel);
  host.authWatch.subscribe(recheckOnAuthChange(policy, denials, inFlight));
  broker.setSubscribeCheck((socket, channel) => {
    if (policy.matcherFor(claimsOf(socket)).allows('subscribe', channel)) return undefined;
    denials.count('subscription_revoked');
    return new SubscribeForbiddenError(`No grant to subscribe to ${quoteChannel(channel)} any more`, channel);
  });
  const guard = startSlowConsumerGuard(host.agServer, config, (socket, buffered, reason) => {
    denials.count(reason === 'node' ? 'node_buffer_full' : 'slow_consumer');
    const limit = reason === 'node' ? config.maxBufferedTotal : config.maxBuffered;
    log.info({ socket: socket.id, buffered, limit, reason }, 'closing slow consumer');
  });
  broker.setDeliveryGate(guard.budget);
  host.own(guard.stop);
  registerChannelMetrics(host.metrics, { denials, outboundBytes: () => guard.budget.measure(), publishes: () => publishes });
  return {
    policy,
    denials,
    outbound: guard.budget,
    recheck: (socket, reason) => recheckSubscriptions(socket, policy, denials, inFlight, reason),
  };
}

/**
 * Kicks a socket out of every channel its current grants do not let it subscribe to, and returns how many. SocketCluster
 * keeps subscriptions across deauthentication, so this runs on every loss of grants: deauthentication (logout,
 * expiry, a refused re-authentication), renewal with another token, and a change of the user's grants override.
 * Gaining authentication only adds grants. A subscribe still in flight (`inFlight`) is skipped: the broker looks at
 * it again once it holds, before it is acknowledged, where a kick-out now would cross its acknowledgement.
 */
export function recheckSubscriptions(
  socket: ServerSocket,
  policy: ChannelPolicy,
  denials: DenialCounter,
  inFlight: (socket: ServerSocket, channel: string) => boolean = () => false,
  reason: KickReason = 'authentication-changed',
): number {
  if (!isOpen(socket)) return 0;
  const matcher = policy.matcherFor(claimsOf(socket));
  let kicked = 0;
  for (const channel of subscriptionsOf(socket)) {
    if (matcher.allows('subscribe', channel) || inFlight(socket, channel)) continue;
    denials.count('subscription_revoked');
    kicked++;
    // kickOut's promise rejects only if the channel went away meanwhile: nothing left to do then.
    socket.kickOut(channel, KICK_MESSAGES[reason]).catch(() => undefined);
  }
  return kicked;
}

/** The AuthWatch listener that runs the re-check on the changes that can take grants away. */
export function recheckOnAuthChange(
  policy: ChannelPolicy,
  denials: DenialCounter,
  inFlight?: (socket: ServerSocket, channel: string) => boolean,
): (change: AuthChange) => void {
  return (change) => {
    if (change.kind === 'deauthenticated' || change.kind === 'renewed') recheckSubscriptions(change.socket, policy, denials, inFlight);
  };
}
