import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CATALOGUE } from '../../shared';
import { DENIAL_REASONS, type DenialCounter } from '../channels/denials';
import type { ChannelBridge } from '../cluster/channel-bridge';
import { UPGRADE_REFUSAL_REASONS, type UpgradeRefusalReason } from '../http/upgrade-gate';
import { FLOOD_REASONS, type FloodCounter } from '../floods/flood-counter';
import type { LoginService } from '../login/login-service';
import type { FeedHealth } from '../redis/feed-liveness';
import type { RenewalCounters } from '../renewal/renewal-manager';
import { runtimeRegistry } from './runtime-metrics';

/**
 * The error names a handshake's auth error can carry: the catalogue's authentication errors, and SocketCluster's own
 * `AuthTokenError` for anything else verifyToken throws. Labels come only from here, never from what a socket sends.
 */
const HANDSHAKE_ERROR_NAMES: ReadonlySet<string> = new Set([
  ...ERROR_CATALOGUE.filter((e) => e.removesToken !== undefined).map((e) => e.name),
  'AuthTokenError',
]);

/** The `outcome` label of a completed handshake: authenticated, anonymous, a known auth error's name, or other. */
export function handshakeOutcome(isAuthenticated: boolean, authError: { name?: unknown } | undefined): string {
  if (isAuthenticated) return 'authenticated';
  if (!authError) return 'anonymous';
  return typeof authError.name === 'string' && HANDSHAKE_ERROR_NAMES.has(authError.name) ? authError.name : 'other';
}

/** What the metrics read from the rest of the gateway at scrape time. */
export interface MetricSources {
  readonly nodeId: string;
  connections(): number;
  authenticated(): number;
  readonly denials: DenialCounter;
  readonly floods: FloodCounter;
  readonly renewal: RenewalCounters;
  readonly login?: LoginService;
  readonly bridge?: ChannelBridge;
  /** Bytes the node holds for clients that have not read them yet. */
  outboundBytes(): number;
  readonly upgradeRefusals: Readonly<Record<UpgradeRefusalReason, number>>;
  /** The Redis feeds this node subscribes to, by label (revocation, cluster_bus, admin_bus); read at scrape. */
  readonly feeds?: ReadonlyMap<string, FeedHealth>;
}

/**
 * GatewayMetrics is this node's Prometheus registry: series named `gatehouse_…`. Event counts that have no counter
 * elsewhere (handshakes, publishes, revocations) are counted here; the rest is read from its owner at scrape time,
 * so the hot paths pay nothing for metrics. Counters owned elsewhere are copied in at scrape (reset, then set to the
 * owner's running total), so they still only ever go up.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** Completed handshakes by outcome, copied into their counter at scrape (prom-client hashes labels at each inc). */
  private readonly handshakes = new Map<string, number>();
  /** Client publishes allowed, copied into their counter at scrape (a prom-client inc builds a labels object each time). */
  private publishes = 0;
  readonly revocationsApplied: Counter;
  readonly revocationPropagation: Histogram;
  readonly redisRoundTrip: Histogram<'operation'>;

  /** Counts one completed handshake under its outcome (handshakeOutcome). */
  countHandshake(outcome: string): void {
    this.handshakes.set(outcome, (this.handshakes.get(outcome) ?? 0) + 1);
  }

  /** Counts one client publish the channel rules let through. */
  countPublish(): void {
    this.publishes++;
  }

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: sources.nodeId });
    new Gauge({ name: 'gatehouse_connections', help: 'Open WebSocket connections (handshake completed)', registers, collect() { this.set(sources.connections()); } });
    new Gauge({ name: 'gatehouse_outbound_buffered_bytes', help: 'Bytes queued for clients and not yet taken by them (bounded by GATEHOUSE_MAX_BUFFERED_TOTAL)', registers, collect() { this.set(sources.outboundBytes()); } });
    new Gauge({ name: 'gatehouse_authenticated_sockets', help: 'Connections currently authenticated', registers, collect() { this.set(sources.authenticated()); } });
    const handshakes = this.handshakes;
    new Counter({
      name: 'gatehouse_handshakes_total', help: 'Completed handshakes by outcome: authenticated, anonymous, or the auth error name', labelNames: ['outcome'], registers,
      collect() {
        this.reset();
        for (const [outcome, n] of handshakes) this.labels(outcome).inc(n);
      },
    });
    new Counter({
      name: 'gatehouse_upgrades_refused_total', help: 'WebSocket upgrades refused before any handshake, by reason: origin (closed with 4504), not_ready', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const reason of UPGRADE_REFUSAL_REASONS) this.labels(reason).inc(sources.upgradeRefusals[reason]);
      },
    });
    new Counter({
      name: 'gatehouse_logins_total', help: 'Login attempts by outcome', labelNames: ['outcome'], registers,
      collect() {
        if (!sources.login) return;
        this.reset();
        for (const [outcome, n] of Object.entries(sources.login.outcomes)) this.labels(outcome).inc(n);
      },
    });
    const renewalCounter = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers, collect() { this.reset(); this.inc(read()); } });
    renewalCounter('gatehouse_renewals_total', 'Tokens renewed on live sockets', () => sources.renewal.renewals);
    renewalCounter('gatehouse_renewals_refused_total', 'Renewals refused because the session was revoked', () => sources.renewal.renewalsRefused);
    renewalCounter('gatehouse_renewals_postponed_total', 'Renewals postponed because revocation could not be checked', () => sources.renewal.renewalsFailed);
    renewalCounter('gatehouse_expiries_total', 'Sockets deauthenticated on time because their token expired', () => sources.renewal.expiries);
    renewalCounter('gatehouse_auth_expiring_warnings_total', 'gatehouse:authExpiring warnings sent', () => sources.renewal.warnings);
    const publishes = () => this.publishes;
    new Counter({ name: 'gatehouse_publishes_total', help: 'Client publishes allowed by the channel rules', registers, collect() { this.reset(); this.inc(publishes()); } });
    new Counter({
      name: 'gatehouse_denials_total', help: 'Refused or ended channel actions by reason', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const reason of DENIAL_REASONS) this.labels(reason).inc(sources.denials.get(reason));
      },
    });
    new Counter({
      name: 'gatehouse_flood_refusals_total', help: 'Connections refused or closed, and calls refused, by the per-address and per-socket flood limits, by reason', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const reason of FLOOD_REASONS) this.labels(reason).inc(sources.floods.get(reason));
      },
    });
    this.revocationsApplied = new Counter({ name: 'gatehouse_revocations_applied_total', help: 'Sockets closed on this node because their token, session or user was revoked', registers });
    this.revocationPropagation = new Histogram({
      name: 'gatehouse_revocation_propagation_seconds',
      help: 'From a revocation\'s timestamp to the socket closed, measured by the node that closed it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.redisRoundTrip = new Histogram({
      name: 'gatehouse_redis_round_trip_seconds',
      help: 'Redis round-trip time by operation',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers,
    });
    new Counter({
      name: 'gatehouse_redis_feed_silences_total',
      help: 'Times a Redis subscription went silent (a heartbeat Redis took never came back) and its connection was made again, by feed',
      labelNames: ['feed'], registers,
      collect() {
        this.reset();
        for (const [feed, health] of sources.feeds ?? []) this.labels(feed).inc(health.silences);
      },
    });
    new Gauge({
      name: 'gatehouse_cluster_bus_connected', help: '1 while the cross-node Redis bus is connected (absent without Redis)', registers,
      collect() { if (sources.bridge) this.set(sources.bridge.connected ? 1 : 0); },
    });
  }

  /** Where /metrics reads from instead of this node alone (a worker answers for its whole group). */
  private source?: () => Promise<{ contentType: string; body: string }>;

  /** Serves `source`'s exposition at /metrics from now on, instead of this node's and this process's series. */
  exposeFrom(source: () => Promise<{ contentType: string; body: string }>): void {
    this.source = source;
  }

  /** The exposition text and its content type: this node's series, then the process's (runtimeRegistry). */
  async expose(): Promise<{ contentType: string; body: string }> {
    if (this.source) return this.source();
    const [own, runtime] = await Promise.all([this.registry.metrics(), runtimeRegistry().metrics()]);
    return { contentType: this.registry.contentType, body: `${own}\n${runtime}` };
  }
}
