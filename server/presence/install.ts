import { PRESENCE_EVENT, PRESENCE_PROCEDURE, type PresenceLeaveReason } from '../../shared';
import type { ChannelMatcher } from '../../shared/channel-pattern';
import type { GatehouseClaims } from '../../shared';
import type { AuthChange } from '../auth/auth-watch';
import type { ChannelRules } from '../channels/rules-file';
import type { PubSubTransport } from '../cluster/transport';
import type { GatewayHost } from '../host';
import { claimsOf, closeServerListener, isOpen, serverListener, sessionEndReason, transmit, type ServerSocket } from '../sc/facade';
import { BatchBus } from './batch-bus';
import { Coalescer } from './coalescer';
import { PresenceFanOut } from './fan-out';
import { LocalMembers } from './local-members';
import { memberInfoOf } from './member-info';
import { PresenceChannels } from './presence-channels';
import type { ChannelReport, PresenceBackend, PresenceBatch, PresenceStats } from './presence-index';
import { NodeLease, newEpoch } from './node-lease';
import { PresenceCounts, registerPresenceMetrics } from './metrics';
import { checkPresenceChannel, guardedReads, presenceProcedure, readPageRequest } from './presence-request';
import type { PresenceSettings } from './settings';
import type { PresenceSnapshot } from '../../shared';

/** What presence decides with and writes to, from the composition root. */
export interface PresenceDeps {
  /** The channel policy's matcher for a socket's claims: the `subscribe` and `presence` grants. */
  readonly matcherFor: (claims: GatehouseClaims | null) => ChannelMatcher;
  /** Where the members of all nodes are kept (memory, or Redis), and the nodes' leases (Redis). */
  readonly backend: () => PresenceBackend;
  /** Opens the transport that carries batches to the other nodes (undefined for a node alone); called only when some channel has presence. */
  readonly transport: () => PubSubTransport | undefined;
}

/** Presence as the rest of the gateway sees it: the admin API's reads. */
export interface Presence {
  readonly channels: PresenceChannels;
  /** This node's epoch: its entries in the index are written under it. */
  readonly epoch: string;
  /** A page of members, as the procedure answers it, for the admin API (no capability needed there). */
  page(query: unknown): Promise<PresenceSnapshot>;
  stats(channel: unknown): Promise<PresenceStats>;
}

/**
 * Installs presence: the members of every channel the rules file's `presence` section lists, per verified user,
 * kept from SocketCluster's subscribe, unsubscribe and close events and the AuthWatch's changes; written to the
 * index in coalesced reports; the index's batches handed to every node's watchers (`gatehouse:presence`, for sockets
 * holding the channel with the `presence` capability); and the `presence` procedure.
 */
export function installPresence(host: GatewayHost<PresenceSettings & { readonly channelRules: ChannelRules }>, deps: PresenceDeps): Presence {
  const { config, log, agServer } = host;
  const channels = new PresenceChannels(config.channelRules.presence);
  const { matcherFor } = deps;
  const { index, board } = deps.backend();

  const counts = new PresenceCounts();
  const fanOut = new PresenceFanOut<ServerSocket>(
    {
      socketsOf: (channel) => local.socketsOf(channel) as ReadonlySet<ServerSocket> | undefined,
      canWatch: (socket, channel) => isOpen(socket) && matcherFor(claimsOf(socket)).allows('presence', channel),
      send: (socket, event) => {
        counts.eventsSent++;
        transmit(socket, PRESENCE_EVENT, event);
      },
    },
    config.presenceMaxMembers,
  );
  const bus = new BatchBus(host.instanceId, (batch) => fanOut.deliver(batch), log, channels.enabled ? deps.transport() : undefined);
  /** Channels whose last report failed (Redis away): re-asserted in full at the next lease tick. */
  const dirty = new Set<string>();
  const publish = (batch: PresenceBatch | undefined) => {
    if (!batch) return;
    counts.batches++;
    bus.publish(batch);
  };
  const lease: NodeLease | undefined =
    board && channels.enabled
      ? new NodeLease(
          newEpoch(),
          board,
          index,
          {
            reassert: async (epoch) => {
              dirty.clear();
              for (const channel of [...local.channelNames()]) {
                await coalescer.after(channel, async () => {
                  await lease?.noteChannel(channel);
                  publish(await index.apply(epoch, channel, { ...local.entriesOf(channel), complete: true }, true));
                });
              }
            },
            retry: async () => {
              for (const channel of [...dirty]) {
                dirty.delete(channel);
                await coalescer.after(channel, () => writeReport(channel, { ...local.entriesOf(channel), complete: true }));
              }
            },
            publish,
            reaped: () => {
              counts.reapedEpochs++;
            },
          },
          log,
        )
      : undefined;
  const fixedEpoch = newEpoch();
  const epochNow = () => lease?.epoch ?? fixedEpoch;
  const writeReport = async (channel: string, report: ChannelReport) => {
    await lease?.noteChannel(channel);
    publish(await index.apply(epochNow(), channel, report));
    // Reports of one channel are written in order, so once the node holds nothing there its entries are all gone.
    if (!local.holdsChannel(channel)) await lease?.forgetChannel(channel);
  };
  const coalescer = new Coalescer(writeReport, (channel, err) => {
    dirty.add(channel);
    counts.writeFailures++;
    log.warn({ channel, reason: (err as Error).message }, 'presence change not written; re-asserted when Redis answers');
  });
  const local = new LocalMembers<ServerSocket>(coalescer, config.presenceGraceMs);

  const memberOf = (socket: ServerSocket) => {
    const claims = claimsOf(socket);
    if (!claims || typeof claims.sub !== 'string') return undefined;
    const info = memberInfoOf(claims);
    return info === undefined ? { sub: claims.sub } : { sub: claims.sub, info };
  };

  const reads = guardedReads(index, log);
  const procedure = presenceProcedure(channels, matcherFor, reads);
  host.procedures.register(PRESENCE_PROCEDURE, (data, socket) => procedure(data, claimsOf(socket)));

  if (channels.enabled) {
    void (async () => {
      for await (const { socket, channel } of serverListener(agServer, 'subscription')) {
        if (channels.has(channel) && isOpen(socket)) local.subscribed(socket, channel, memberOf(socket));
      }
    })();
    void (async () => {
      for await (const { socket, channel } of serverListener(agServer, 'unsubscription')) {
        if (!channels.has(channel)) continue;
        local.unsubscribed(socket, channel, unsubscribeReason(socket, channel, matcherFor));
        if (!local.socketsOf(channel)) fanOut.forget(channel);
      }
    })();
    host.authWatch.subscribe((change: AuthChange) => {
      if (change.kind === 'closed') local.closed(change.socket);
      else if (change.kind === 'deauthenticated') local.reidentified(change.socket, undefined, leaveReasonOf(change.socket));
      else local.reidentified(change.socket, memberOf(change.socket), 'deauthenticated');
    });
    host.own(() => {
      for (const name of ['subscription', 'unsubscription'] as const) closeServerListener(agServer, name);
    });
  }
  registerPresenceMetrics(host.metrics, counts, () => local.channelCount(), bus.feed);
  const busFeed = bus.feed;
  if (busFeed) host.addReadinessWarning(() => busFeed.warning());
  host.addReadinessCheck(() => bus.notReadyReason());
  host.onStart(async () => {
    bus.start();
    await lease?.start();
  });
  host.own(async () => {
    await coalescer.flush();
    coalescer.close();
    local.releaseHolds();
    // Members still held for the grace stay in the index: the lease lapses after it, and the others reap them then
    // (as disconnected) unless they came back elsewhere.
    await lease?.close(config.presenceGraceMs);
    fanOut.close();
    await bus.close();
  });

  return {
    channels,
    get epoch() {
      return epochNow();
    },
    async page(query) {
      const request = readPageRequest(query);
      checkPresenceChannel(channels, request.channel);
      return reads.page(request.channel, request.after, request.limit);
    },
    async stats(channel) {
      const request = readPageRequest({ channel });
      checkPresenceChannel(channels, request.channel);
      return reads.stats(request.channel);
    },
  };
}

/** Why a socket let go of a channel: it closed, a lost grant kicked it out, or it unsubscribed itself. */
function unsubscribeReason(socket: ServerSocket, channel: string, matcherFor: (claims: GatehouseClaims | null) => ChannelMatcher): PresenceLeaveReason {
  if (!isOpen(socket)) return 'disconnected';
  return matcherFor(claimsOf(socket)).allows('subscribe', channel) ? 'unsubscribed' : 'deauthenticated';
}

/** A revocation's deauthentication leaves as `revoked`; every other (logout, expiry, a refused token) as `deauthenticated`. */
function leaveReasonOf(socket: ServerSocket): PresenceLeaveReason {
  return sessionEndReason(socket) === 'revoked' ? 'revoked' : 'deauthenticated';
}
