/**
 * Every place Gatehouse reaches past the public API of SocketCluster (socketcluster-server v20), its simple broker
 * (ag-simple-broker) or ws: what it replaces or reads, why, and the code that does it. Nothing outside server/sc/
 * touches these members. `installSeams` installs them from the composition root and first checks that the installed
 * libraries still have every member named here; test/unit/sc-patch.test.ts checks the same table on every member,
 * including those only a live socket has. A seam added here is checked by both.
 */
import { AGServerSocket } from 'socketcluster-server';
import type { AGServer } from 'socketcluster-server';
import { WebSocket } from 'ws';
import { installDeauthenticationHook } from './deauthentication-hook';
import { installWriteTracking } from './outbound-budget';
import { installRepeatHandshakeGuard } from './repeat-handshake-guard';
import { installSubscribeErrorBridge } from './subscribe-error-bridge';
import { installTokenErrorBridge } from './token-error-bridge';
import { installUnsubscribeGuard } from './unsubscribe-guard';
import { hookUpgrades, type UpgradePolicy } from './upgrade-hook';

/** Where a member a seam touches lives. */
export type SeamOwner =
  /** socketcluster-server's AGServerSocket.prototype: its methods. */
  | 'AGServerSocket.prototype'
  /** A live AGServerSocket: the fields its constructor sets. */
  | 'AGServerSocket'
  /** An AGServer (attached to an HTTP server). */
  | 'AGServer'
  /** The options of the ws WebSocketServer an AGServer made (`agServer.wsServer.options`). */
  | 'WebSocketServer.options'
  /** ws' WebSocket.prototype. */
  | 'WebSocket.prototype'
  /** A live server-side ws WebSocket (an AGServerSocket's `socket`): the fields its constructor and upgrade set. */
  | 'WebSocket'
  /** ws' Sender class (`WebSocket.Sender`): its static methods. */
  | 'Sender'
  /** ws' Sender.prototype. */
  | 'Sender.prototype'
  /** An ag-simple-broker instance: the fields its constructor sets. */
  | 'AGSimpleBroker';

/** One member a seam touches: present on its owner, and a function of `arity` declared parameters where one is given. */
export interface SeamMember {
  readonly owner: SeamOwner;
  readonly name: string;
  readonly arity?: number;
}

/** What a seam needs from the composition root: the policies handed to the installers. */
export interface SeamOptions {
  /** Whether an error the auth engine throws reaches the client as it is (server/auth/token-errors.ts). */
  readonly passTokenError: (err: unknown) => boolean;
  /** Whether an error the broker's subscribe throws reaches the client as it is (server/cluster/subscribe-errors.ts). */
  readonly passSubscribeError: (err: unknown) => boolean;
  /** Who may open a WebSocket (server/http/upgrade-gate.ts). */
  readonly upgrades: UpgradePolicy<unknown>;
}

export interface Seam {
  readonly name: string;
  /** `replaces`: the members are swapped for our own; `reads`: only read (or called) where their types have nothing. */
  readonly kind: 'replaces' | 'reads';
  readonly members: readonly SeamMember[];
  readonly why: string;
  /** The module that holds the seam's code. */
  readonly file: string;
  /** Installs the seam: the prototype patches once per process, the others on each server. A read needs none. */
  readonly install?: (server: AGServer, options: SeamOptions) => void;
}

const method = (owner: SeamOwner, name: string, arity: number): SeamMember => ({ owner, name, arity });
const field = (owner: SeamOwner, name: string): SeamMember => ({ owner, name });

export const SEAMS: readonly Seam[] = [
  {
    name: 'tokenErrorBridge',
    kind: 'replaces',
    members: [method('AGServerSocket.prototype', '_processTokenError', 1)],
    why: 'our AuthErrors reach the client by name; SocketCluster renames them AuthTokenError, which deletes the token',
    file: 'server/sc/token-error-bridge.ts',
    install: (_, options) => installTokenErrorBridge(AGServerSocket, options.passTokenError),
  },
  {
    name: 'subscribeErrorBridge',
    kind: 'replaces',
    members: [method('AGServerSocket.prototype', '_subscribeSocket', 2), method('AGServerSocket.prototype', '_processSubscribeRequest', 1)],
    why: "the broker's named refusals (SubscribeUnavailableError) reach the client, not SocketCluster's BrokerError",
    file: 'server/sc/subscribe-error-bridge.ts',
    install: (_, options) => installSubscribeErrorBridge(AGServerSocket, options.passSubscribeError),
  },
  {
    name: 'repeatHandshakeGuard',
    kind: 'replaces',
    members: [method('AGServerSocket.prototype', '_processHandshakeRequest', 1)],
    why: "a second #handshake would stall the socket's inbound queue for good; it is refused and the socket closed",
    file: 'server/sc/repeat-handshake-guard.ts',
    install: () => installRepeatHandshakeGuard(AGServerSocket),
  },
  {
    name: 'deauthenticationHook',
    kind: 'replaces',
    members: [method('AGServerSocket.prototype', 'deauthenticateSelf', 0), method('AGServerSocket.prototype', '_processAuthentication', 1)],
    why: 'a lost authentication is told synchronously, also when SocketCluster drops it without any event',
    file: 'server/sc/deauthentication-hook.ts',
    install: () => installDeauthenticationHook(AGServerSocket),
  },
  {
    name: 'unsubscribeGuard',
    kind: 'replaces',
    members: [method('AGServerSocket.prototype', '_unsubscribe', 1)],
    why: 'unsubscribing a channel not held, or twice at once, must not lower the count GATEHOUSE_MAX_CHANNELS checks',
    file: 'server/sc/unsubscribe-guard.ts',
    install: () => installUnsubscribeGuard(AGServerSocket),
  },
  {
    name: 'writeTracking',
    kind: 'replaces',
    members: [method('AGServerSocket.prototype', 'send', 2), method('WebSocket.prototype', 'pong', 3)],
    why: 'the slow-consumer recounts visit only the sockets written to since the last',
    file: 'server/sc/outbound-budget.ts',
    install: () => installWriteTracking(AGServerSocket),
  },
  {
    name: 'upgradeHook',
    kind: 'replaces',
    members: [field('AGServer', 'wsServer'), method('WebSocketServer.options', 'verifyClient', 2), field('AGServer', 'SYMBOL_MIDDLEWARE_HANDSHAKE_STREAM')],
    why: 'readiness, admission and Origin are decided before SocketCluster, without the cost of a handshake middleware',
    file: 'server/sc/upgrade-hook.ts',
    install: (server, options) => hookUpgrades(server, options.upgrades),
  },
  {
    name: 'brokerInternals',
    kind: 'reads',
    members: [field('AGSimpleBroker', '_clientSubscribers'), field('AGSimpleBroker', '_codec')],
    why: 'our fan-out encodes once and asks the slow-consumer budget before each delivery',
    file: 'server/sc/broker-base.ts',
  },
  {
    name: 'directWrites',
    kind: 'reads',
    members: [
      method('AGServerSocket.prototype', 'send', 2),
      method('AGServerSocket.prototype', 'sendObject', 1),
      field('AGServerSocket', 'outboundPreparedMessageCount'),
      field('AGServerSocket', 'outboundSentMessageCount'),
      field('AGServerSocket', 'isBufferingBatch'),
      field('AGServerSocket', 'cloneData'),
    ],
    why: 'a publish or event goes straight to the WebSocket when the outbound stream holds nothing it could overtake',
    file: 'server/sc/broker-base.ts, server/sc/facade.ts',
  },
  {
    name: 'preframedWrites',
    kind: 'reads',
    members: [
      method('Sender', 'frame', 2),
      method('Sender.prototype', 'sendFrame', 2),
      field('WebSocket', '_sender'),
      field('WebSocket', '_isServer'),
      method('AGServerSocket.prototype', '_destroy', 2),
    ],
    why: "a publish is framed once and the same frame written to each subscriber's Sender, as Socket.IO's broadcasts are, not framed again per socket by ws' send",
    file: 'server/sc/preframed-writes.ts',
  },
  {
    name: 'outboundLedger',
    kind: 'reads',
    members: [field('AGServerSocket', 'outboundPreparedMessageCount'), field('AGServerSocket', 'outboundSentMessageCount'), field('AGServerSocket', 'socket')],
    why: "a socket's unsent output is its WebSocket's buffer plus what SocketCluster's outbound stream still holds",
    file: 'server/sc/outbound-budget.ts',
  },
  {
    name: 'remoteAddress',
    kind: 'reads',
    members: [field('AGServerSocket', 'remoteAddress')],
    why: "login limits and logs go by the client's address, a field @types/socketcluster-server leaves out",
    file: 'server/sc/facade.ts',
  },
];

/** The members of `seams` that `owners` hold and that are missing or of another arity there, each as one line. */
export function seamProblems(owners: Partial<Record<SeamOwner, object>>, seams: readonly Seam[] = SEAMS): string[] {
  const problems: string[] = [];
  for (const seam of seams) {
    for (const member of seam.members) {
      const owner = owners[member.owner];
      if (owner === undefined) continue;
      const where = `${member.owner}.${member.name} (seam ${seam.name}, ${seam.file})`;
      if (!(member.name in owner)) {
        problems.push(`${where} is missing`);
        continue;
      }
      if (member.arity === undefined) continue;
      const value: unknown = Reflect.get(owner, member.name);
      if (typeof value !== 'function') problems.push(`${where} is no longer a function`);
      else if (value.length !== member.arity) problems.push(`${where} takes ${value.length} parameters, not ${member.arity}`);
    }
  }
  return problems;
}

let patchesChecked = false;

/**
 * Installs every seam for `server`, once from the composition root: the prototype patches once per process (the
 * policies of the first call stay), the per-server hooks each time. Throws, listing every problem, when the installed
 * SocketCluster or ws lacks a member a seam needs, before anything is installed.
 */
export function installSeams(server: AGServer, options: SeamOptions): void {
  const owners: Partial<Record<SeamOwner, object>> = {
    AGServer: server,
    'WebSocketServer.options': server.wsServer.options,
    AGSimpleBroker: server.brokerEngine,
  };
  // The prototypes are checked before the first patch: a replacement need not keep the original's arity.
  if (!patchesChecked) {
    owners['AGServerSocket.prototype'] = AGServerSocket.prototype;
    owners['WebSocket.prototype'] = WebSocket.prototype;
    // An empty owner when ws stops exporting Sender, so that each of its members is reported missing.
    const { Sender } = WebSocket as unknown as { Sender?: { prototype: object } };
    owners.Sender = Sender ?? {};
    owners['Sender.prototype'] = Sender?.prototype ?? {};
  }
  const problems = seamProblems(owners);
  if (problems.length > 0) throw new Error(`the installed SocketCluster or ws no longer has what Gatehouse's seams need:\n${problems.join('\n')}`);
  patchesChecked = true;
  for (const seam of SEAMS) seam.install?.(server, options);
}
