import { CloseCode } from '../shared/close-codes';

/**
 * What a client does after its connection closes, by the close code's class (as the best peer clients do):
 * - `stop`: do not come back on your own (revoked, disconnected by an operator, origin not allowed, slow consumer);
 *   a new token (a login, `authenticate()`, another tab) starts again;
 * - `reauthenticate`: the session cannot go on with this token (expired, its key retired); get a fresh one, then
 *   reconnect;
 * - `retry`: reconnect with the same token (the node is shutting down, a flood limit, or the network failed);
 * - `closed`: the app closed the connection itself (1000).
 */
export type CloseAction = 'stop' | 'reauthenticate' | 'retry' | 'closed';

/** The action for each of Gatehouse's close codes; every other code means a network failure: `retry`. */
export const CLOSE_ACTIONS: { readonly [C in CloseCode]: CloseAction } = {
  [CloseCode.ShuttingDown]: 'retry',
  [CloseCode.TooManyConnections]: 'retry',
  [CloseCode.HandshakeRateLimited]: 'retry',
  [CloseCode.InboundBacklog]: 'retry',
  [CloseCode.TokenRevoked]: 'stop',
  [CloseCode.DisconnectedByAdmin]: 'stop',
  [CloseCode.SlowConsumer]: 'stop',
  [CloseCode.TokenExpired]: 'reauthenticate',
  [CloseCode.OriginNotAllowed]: 'stop',
  [CloseCode.KeyRetired]: 'reauthenticate',
};

export function closeAction(code: number): CloseAction {
  if (code === 1000) return 'closed';
  return (CLOSE_ACTIONS as Record<number, CloseAction | undefined>)[code] ?? 'retry';
}

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(CloseCode).map(([name, code]) => [code, name]));

/** A close code's name: Gatehouse's own (`TokenRevoked`), the usual WebSocket ones, else `Close<code>`. */
export function closeName(code: number): string {
  return NAMES[code] ?? (code === 1000 ? 'Normal' : code === 1006 ? 'ConnectionLost' : code === 1009 ? 'MessageTooBig' : `Close${code}`);
}

/**
 * Milliseconds to wait before reconnect attempt `attempt` (0-based), with full jitter: after ShuttingDown, 0.5–2 s
 * (another node is ready at once); after a network failure, 0.5 s up to a ceiling that doubles per attempt, at most
 * 20 s.
 */
export function reconnectDelay(code: number, attempt: number, random: () => number = Math.random): number {
  if (code === CloseCode.ShuttingDown) return 500 + random() * 1500;
  return 500 + random() * (Math.min(20_000, 1000 * 2 ** Math.min(attempt, 5)) - 500);
}
