import { CloseCode } from '../../shared';
import type { Gateway } from '../gateway';
import { recheckOnAuthChange } from './auth-recheck';
import { DenialCounter } from './denials';
import { ChannelPolicy } from './policy';
import { PublishLimiter } from './publish-limiter';
import { publishRule, subscribeRule, transmitRule, type RuleDeps } from './rules';
import { startSlowConsumerSweep } from './slow-consumers';

export { NO_CHANNEL_RULES, readChannelRulesFile, type ChannelRules } from './rules-file';
export { DENIAL_REASONS, DenialCounter, type DenialReason } from './denials';

/** The channel rules of one gateway, as other parts see them. */
export interface ChannelGuard {
  readonly policy: ChannelPolicy;
  /** Refusals by reason (for /metrics). */
  readonly denials: DenialCounter;
}

/**
 * Installs the channel rules on a gateway: publish, subscribe and transmit rules in its inbound dispatcher, the
 * subscription re-check on every change of authentication, and the slow-consumer sweep (owned by the gateway).
 */
export function installChannelRules(gateway: Gateway): ChannelGuard {
  const { config, log } = gateway;
  const policy = new ChannelPolicy(config.channelRules);
  const denials = new DenialCounter();
  const deps: RuleDeps = {
    policy,
    denials,
    limiter: new PublishLimiter(config.publishRate, config.publishBurst),
    clock: gateway.clock,
    maxChannels: config.maxChannels,
  };
  gateway.dispatcher.use('publishIn', publishRule(deps));
  gateway.dispatcher.use('subscribe', subscribeRule(deps));
  gateway.dispatcher.use('transmit', transmitRule(deps));
  gateway.authWatch.subscribe(recheckOnAuthChange(policy, denials));
  gateway.own(startSlowConsumerSweep(gateway.agServer, config.maxBuffered, (socket, buffered) => {
    denials.count('slow_consumer');
    log.info({ socket: socket.id, buffered, limit: config.maxBuffered }, 'closing slow consumer');
    // Nothing more is queued for a closed socket; ws sends the close frame after what is buffered and drops the
    // connection after its close timeout if the client never reads it.
    socket.disconnect(CloseCode.SlowConsumer, 'Slow consumer: outbound buffer overflowed');
  }));
  return { policy, denials };
}
