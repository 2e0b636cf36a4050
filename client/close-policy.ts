import { CloseCode, shouldReconnect } from '../shared/close-codes';

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

/**
 * The action for each of Gatehouse's close codes. Any other code is taken by its range, as the shared table defines
 * them: 4500–4999 are final (`stop`), anything else (4000–4499, a network failure) is `retry`.
 */
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
  return (CLOSE_ACTIONS as Record<number, CloseAction | undefined>)[code] ?? (shouldReconnect(code) ? 'retry' : 'stop');
}

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(CloseCode).map(([name, code]) => [code, name]));

/** A close code's name: Gatehouse's own (`TokenRevoked`), the usual WebSocket ones, else `Close<code>`. */
export function closeName(code: number): string {
  return NAMES[code] ?? (code === 1000 ? 'Normal' : code === 1006 ? 'ConnectionLost' : code === 1009 ? 'MessageTooBig' : `Close${code}`);
}

/**
 * Milliseconds to wait before reconnect attempt `attempt` (0-based): the first within 0.5–1 s (0.5–2 s after
 * ShuttingDown, when another node is ready at once), then between half and all of a ceiling that doubles per attempt
 * (2, 4, 8, 16 s) up to 20 s, so from the sixth attempt on 10–20 s. The floor at half the ceiling bounds a client's
 * connections however the dice fall: at most 5 in 10 s, 10 in the first minute and 6 a minute after that, while the
 * gateway keeps closing it (the count restarts only after a connection stayed up 10 s).
 */
export function reconnectDelay(code: number, attempt: number, random: () => number = Math.random): number {
  if (attempt <= 0) return 500 + random() * (code === CloseCode.ShuttingDown ? 1500 : 500);
  const ceiling = Math.min(20_000, 1000 * 2 ** Math.min(attempt, 5));
  return ceiling / 2 + random() * (ceiling / 2);
}
