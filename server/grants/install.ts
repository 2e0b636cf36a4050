import type { AuthSettings } from '../auth/settings';
import type { BrowserSettings } from '../browser/settings';
import type { GatewayHost } from '../host';
import { claimsOf, type ServerSocket } from '../sc/facade';
import { demoGrantsRoute } from './demo-route';
import { GrantsService } from './grants-service';
import type { GrantsSettings } from './settings';
import type { GrantStore } from './store';

/** What the grants need from other features of the node. */
export interface GrantsInstallDeps {
  readonly store: GrantStore;
  /** This node's authenticated sockets by user (the revocation index). */
  readonly sockets: {
    find(target: { readonly kind: 'sub'; readonly id: string }): [ServerSocket, unknown][];
    entries(): [ServerSocket, { readonly sub: string }][];
  };
  /** The channel rules: their policy takes the overrides, their re-check kicks what an override took away. */
  readonly channels: {
    readonly policy: { useOverrides(overrides: GrantsService['table']): void };
    recheck(socket: ServerSocket, reason: 'grants-changed'): number;
  };
}

/**
 * Installs live grants on a node: the overrides the channel policy consults, the comparison with the store after
 * each allowed subscribe, the sweep every GATEHOUSE_GRANTS_SWEEP_INTERVAL (owned by the host), and the demo's
 * development-only endpoint (./demo-route.ts). The admin API
 * (server/admin/) stores changes and carries them to every node through the service returned.
 */
export function installGrants(
  host: GatewayHost<GrantsSettings & BrowserSettings & Pick<AuthSettings, 'maxTokenLifetimeMs' | 'devMode'>>,
  deps: GrantsInstallDeps,
): GrantsService {
  const { config, log, clock, nodeId } = host;
  const service = new GrantsService({
    nodeId,
    clock,
    log,
    store: deps.store,
    keepMs: config.maxTokenLifetimeMs,
    recheck: (socket) => deps.channels.recheck(socket, 'grants-changed'),
    sockets: {
      ofSub: (sub) => deps.sockets.find({ kind: 'sub', id: sub }).flatMap(([socket]) => (claimsOf(socket)?.sub === sub ? [socket] : [])),
      subs: () => new Set(deps.sockets.entries().map(([, claims]) => claims.sub)),
    },
  });
  deps.channels.policy.useOverrides(service.table);
  const { counters } = service;
  host.metrics.total({ name: 'gatehouse_grants_applied_total', help: 'Grants changes this node applied to its sockets' }, () => counters.applied);
  host.metrics.total(
    { name: 'gatehouse_grants_caught_up_total', help: 'Grants changes this node found in Redis after missing their announcement' },
    () => counters.caughtUp,
  );
  host.metrics.total(
    { name: 'gatehouse_grants_kicked_total', help: 'Subscriptions ended because a grants change took their channel away' },
    () => counters.kicked,
  );
  host.dispatcher.onAllowed('subscribe', ({ socket }) => service.checkSoon(claimsOf(socket)));
  // The demo's "make bob staff" button: a development node serving the demo only.
  host.addRoute(demoGrantsRoute(config.devMode && config.demo, service, clock));
  // Before the node turns ready: its first clients meet the changes made before it started.
  host.onStart(() => service.reload());
  const sweep = setInterval(() => void service.sweep(), config.grantsSweepIntervalMs);
  sweep.unref();
  host.own(async () => {
    clearInterval(sweep);
    await service.close();
  });
  return service;
}
