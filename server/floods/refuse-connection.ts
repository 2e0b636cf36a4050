import type { ServerSocket } from '../sc/facade';

/** Longest a refused connection waits for the client's first message before it is closed anyway, ms. */
const REFUSAL_GRACE_MS = 1000;

/**
 * Closes a just-accepted connection with a named close code, processing none of its messages. The close waits for
 * the client's first message (its #handshake): a close frame that arrives while the stock client is still opening
 * makes it report 1005 and lose the code. SocketCluster's own message listener is removed first, so nothing the
 * client sends is decoded, verified or queued; a client that sends nothing is closed after REFUSAL_GRACE_MS.
 */
export function refuseConnection(socket: ServerSocket, code: number, reason: string): void {
  const ws = socket.socket;
  ws.removeAllListeners('message');
  const close = () => {
    clearTimeout(timer);
    socket.disconnect(code, reason);
  };
  const timer = setTimeout(close, REFUSAL_GRACE_MS);
  ws.once('message', close);
  ws.once('close', () => clearTimeout(timer));
}
