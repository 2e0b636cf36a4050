import { ReasonCounter } from '../observability/reason-counter';

/** Why a flood guard refused a connection or a request, or closed a socket. */
export const FLOOD_REASONS = [
  /** A connection refused (4101) because its address had GATEHOUSE_MAX_CONNECTIONS_PER_IP open. */
  'connections_per_ip',
  /** A connection refused (4102) because its address passed GATEHOUSE_HANDSHAKE_RATE_PER_IP. */
  'handshake_rate',
  /** A socket closed (4103) because more than MAX_INBOUND_BACKLOG of its messages waited to be processed. */
  'inbound_backlog',
  /** A procedure call refused (TooManyRequestsError) because MAX_PENDING_REQUESTS calls already waited. */
  'procedure_backlog',
] as const;

export type FloodReason = (typeof FLOOD_REASONS)[number];

/** FloodCounter counts flood refusals by reason since start-up. */
export class FloodCounter extends ReasonCounter<FloodReason> {
  constructor() {
    super(FLOOD_REASONS);
  }
}
