import type { IncomingMessage } from 'node:http';
import type { AGServer } from 'socketcluster-server';
import type WebSocket from 'ws';

/** What an upgrade policy answers for one upgrade request, before SocketCluster's own check. */
export type UpgradeVerdict<R> =
  /** Admit: SocketCluster checks and takes the WebSocket as usual. */
  | undefined
  /** Refuse the upgrade itself: the HTTP answer `status` with `message` (and `headers`); no WebSocket is made. */
  | { readonly reject: { readonly status: number; readonly message: string; readonly headers?: Readonly<Record<string, string>> } }
  /** Accept the WebSocket but hand it to `diverted` with `refusal`: SocketCluster never sees it. */
  | { readonly divert: R };

/** The decisions about who may open a WebSocket (server/http/upgrade-gate.ts). */
export interface UpgradePolicy<R> {
  check(request: IncomingMessage, secure: boolean): UpgradeVerdict<R>;
  /** Gets each WebSocket its verdict diverted, once open; nothing it sends is read unless this reads it. */
  diverted(ws: WebSocket, request: IncomingMessage, refusal: R): void;
}

/** ws' asynchronous upgrade check, which AGServer sets to its own verifyHandshake. */
type VerifyClient = (
  info: { origin?: string; secure: boolean; req: IncomingMessage },
  callback: (verified: boolean, code?: number, message?: string, headers?: Readonly<Record<string, string>>) => void,
) => void;

/**
 * Puts `policy` in front of one AGServer's upgrades. The decision is taken before AGServer's own upgrade check (ws'
 * `verifyClient`), where a handshake middleware would be asked it: SocketCluster calls a handshake middleware once per
 * connection with a fresh stream, so its `for await` loop (and the HANDSHAKE_SC action SocketCluster then also writes
 * to it) cost every handshake a consumer, a generator and several promises. With no handshake middleware set,
 * SocketCluster skips both actions. A diverted upgrade still passes AGServer's check, and then goes around AGServer's
 * own ws `connection` listener (which turns an accepted upgrade into a socket) to `policy.diverted`. Throws when
 * SocketCluster no longer works this way.
 */
export function hookUpgrades<R>(server: AGServer, policy: UpgradePolicy<R>): void {
  const wsServer = server.wsServer;
  const options = wsServer.options as { verifyClient?: VerifyClient };
  const verify = options.verifyClient;
  if (typeof verify !== 'function' || verify.length !== 2)
    throw new Error('socketcluster-server no longer verifies upgrades through ws verifyClient(info, callback); review server/sc/upgrade-hook.ts');
  const diverted = new WeakMap<IncomingMessage, R>();
  options.verifyClient = (info, callback) => {
    const verdict = policy.check(info.req, info.secure);
    if (verdict && 'reject' in verdict) {
      callback(false, verdict.reject.status, verdict.reject.message, verdict.reject.headers);
      return;
    }
    if (verdict) diverted.set(info.req, verdict.divert);
    verify(info, callback);
  };
  const accept = wsServer.listeners('connection') as ((ws: WebSocket, req: IncomingMessage) => void)[];
  if (accept.length === 0) throw new Error('socketcluster-server no longer listens for ws connections; review server/sc/upgrade-hook.ts');
  wsServer.removeAllListeners('connection');
  wsServer.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    if (!diverted.has(req)) {
      for (const listener of accept) listener.call(wsServer, ws, req);
      return;
    }
    // The handshake stream SocketCluster opened for this request would otherwise wait for a socket that never comes.
    handshakeStreamOf(server, req)?.close();
    policy.diverted(ws, req, diverted.get(req) as R);
  });
}

/** The handshake middleware stream AGServer keeps on an upgrade request, under a symbol of its own. */
function handshakeStreamOf(server: AGServer, req: IncomingMessage): { close(): void } | undefined {
  const symbol = (server as unknown as { SYMBOL_MIDDLEWARE_HANDSHAKE_STREAM: symbol }).SYMBOL_MIDDLEWARE_HANDSHAKE_STREAM;
  return (req as unknown as Record<symbol, { close(): void } | undefined>)[symbol];
}
