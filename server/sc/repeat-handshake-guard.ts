import { BadRequestError } from '../../shared';
import { patchSocketMethods } from './patch';

/**
 * Refuses a second `#handshake` on a socket that has already completed one.
 *
 * SocketCluster v20 processes every `#handshake` packet, but closes the socket's handshake middleware stream after the
 * first (serversocket.js `_processHandshakeRequest`). A repeated handshake therefore writes its action to a closed
 * stream and waits forever for an answer, and since inbound packets are processed one at a time per socket, that
 * socket's queue stops for good. Every later frame still resets the pong timeout, so the socket never dies while its
 * sender keeps talking, and everything it sends piles up in memory. Without a handshake middleware (the gateway sets
 * none: server/http/upgrade-gate.ts) the repeat would not hang but run the whole handshake again on a live socket:
 * verification, a second `connection` event, the node's client count raised twice for one socket. This answers a
 * repeat with BadRequestError and closes the socket (4008, SocketCluster's handshake rejection) instead. Installed
 * once, idempotently.
 */

/** SocketCluster's "handshake rejected" close code (sc-errors socketProtocolErrorStatuses). */
const HANDSHAKE_REJECTED = 4008;

interface HandshakeRequest {
  error(err: Error): void;
}

interface GuardedSocket {
  readonly state: string;
  readonly CONNECTING: string;
  disconnect(code: number, reason: string): void;
}

export function installRepeatHandshakeGuard(AGServerSocket: { prototype: unknown }): void {
  patchSocketMethods(
    AGServerSocket,
    { name: 'repeatHandshakeGuard', file: 'server/sc/repeat-handshake-guard.ts' },
    ['_processHandshakeRequest'],
    (original) => ({
      _processHandshakeRequest(this: GuardedSocket, request: HandshakeRequest): Promise<unknown> {
        if (this.state === this.CONNECTING) return original._processHandshakeRequest.call(this, request) as Promise<unknown>;
        request.error(new BadRequestError('the handshake is already complete'));
        this.disconnect(HANDSHAKE_REJECTED, 'Repeated handshake');
        return Promise.resolve();
      },
    }),
  );
}
