import { ReasonCounter } from '../observability/reason-counter';

/**
 * Why the channel rules refused or ended something. Counted instead of logged (`middlewareEmitFailures` is off), so
 * a flood of refused actions costs a counter increment each.
 */
export const DENIAL_REASONS = [
  /** PUBLISH_IN on a channel the socket has no publish grant for. */
  'publish_forbidden',
  /** SUBSCRIBE to a channel the socket has no subscribe grant for. */
  'subscribe_forbidden',
  /** A publish or subscribe naming an invalid channel (empty, too long, control characters). */
  'invalid_channel',
  /** A publish over the socket's rate (GATEHOUSE_PUBLISH_RATE / GATEHOUSE_PUBLISH_BURST). */
  'publish_rate',
  /** A subscribe over GATEHOUSE_MAX_CHANNELS. */
  'channel_limit',
  /** A TRANSMIT event from a client (dropped). */
  'client_transmit',
  /** A subscription kicked out because the socket's authentication changed. */
  'subscription_revoked',
  /** A socket closed because its outbound buffer passed GATEHOUSE_MAX_BUFFERED. */
  'slow_consumer',
  /** A socket closed, behind by a message or more, while the node's output passed GATEHOUSE_MAX_BUFFERED_TOTAL. */
  'node_buffer_full',
] as const;

export type DenialReason = (typeof DENIAL_REASONS)[number];

/** DenialCounter counts channel-rule refusals by reason since start-up. */
export class DenialCounter extends ReasonCounter<DenialReason> {
  constructor() {
    super(DENIAL_REASONS);
  }
}
