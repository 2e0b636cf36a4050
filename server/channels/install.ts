import type { AuthChange } from '../auth/auth-watch';
import type { GatewayHost } from '../host';
import { claimsOf, isOpen, subscriptionsOf, type ServerSocket } from '../sc/facade';
import type { DeliveryGate } from '../cluster/broker';
import type { OutboundBudget } from '../sc/outbound-budget';
import { startSlowConsumerGuard } from '../sc/slow-consumers';
import { DenialCounter } from './denials';
import { registerChannelMetrics } from './metrics';
import { ChannelPolicy } from './policy';
import { PublishLimiter } from './publish-limiter';
import { publishRule, subscribeRule, transmitRule, type RuleDeps } from './rules';
import type { ChannelSettings } from './settings';

// The channel rules' one adapter to sockets and middleware: everything else in channels/ is pure policy.

/** What a kicked-out client reads in its `kickOut` event. */
export const REVOKED_SUBSCRIPTION_MESSAGE = 'Your authentication no longer grants this channel';

/** The channel rules of one gateway, as other parts see them. */
export interface ChannelGuard {
  readonly policy: ChannelPolicy;
  /** Refusals by reason (for /metrics). */
  readonly denials: DenialCounter;
  /** The bound on output held for clients that do not read. */
  readonly outbound: OutboundBudget;
}

/**
 * Installs the channel rules on a gateway: publish, subscribe and transmit rules in its inbound dispatcher, the
 * subscription re-check on every change of authentication, and the slow-consumer guard, which the broker asks before each published message is queued (owned by the host).
 * Their refusals, held output and allowed publishes go to the node's metrics.
 */
export function installChannelRules(
  host: GatewayHost<ChannelSettings & { readonly maxPayload: number }>,
  broker: { setDeliveryGate(gate: DeliveryGate<ServerSocket>): void },
): ChannelGuard {
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
  host.authWatch.subscribe(recheckOnAuthChange(policy, denials));
  const guard = startSlowConsumerGuard(host.agServer, config, (socket, buffered, reason) => {
    denials.count(reason === 'node' ? 'node_buffer_full' : 'slow_consumer');
    const limit = reason === 'node' ? config.maxBufferedTotal : config.maxBuffered;
    log.info({ socket: socket.id, buffered, limit, reason }, 'closing slow consumer');
  });
  broker.setDeliveryGate(guard.budget);
  host.own(guard.stop);
  registerChannelMetrics(host.metrics, { denials, outboundBytes: () => guard.budget.measure(), publishes: () => publishes });
  return { policy, denials, outbound: guard.budget };
}

/**
 * Kicks a socket out of every channel its current authentication does not let it subscribe to. SocketCluster keeps
 * subscriptions across deauthentication, so this runs on every loss of grants: deauthentication (logout, expiry, a
 * refused re-authentication) and renewal with another token. Gaining authentication only adds grants.
 */
export function recheckSubscriptions(socket: ServerSocket, policy: ChannelPolicy, denials: DenialCounter): void {
  if (!isOpen(socket)) return;
  const matcher = policy.matcherFor(claimsOf(socket));
  for (const channel of subscriptionsOf(socket)) {
    if (matcher.allows('subscribe', channel)) continue;
    denials.count('subscription_revoked');
    // kickOut's promise rejects only if the channel went away meanwhile: nothing left to do then.
    socket.kickOut(channel, REVOKED_SUBSCRIPTION_MESSAGE).catch(() => undefined);
  }
}

/** The AuthWatch listener that runs the re-check on the changes that can take grants away. */
export function recheckOnAuthChange(policy: ChannelPolicy, denials: DenialCounter): (change: AuthChange) => void {
  return (change) => {
    if (change.kind === 'deauthenticated' || change.kind === 'renewed') recheckSubscriptions(change.socket, policy, denials);
  };
}
