import { CloseCode } from '../shared/close-codes';

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
