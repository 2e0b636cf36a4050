/** The admin key test gateways are given. */
export const ADMIN_KEY = 'admin-key-for-tests-0123456789';

/** A GATEHOUSE_ADMIN_KEYS key with the `publish` scope only (a backend that sends notifications). */
export const PUBLISH_KEY = 'publish-only-key-for-tests-0123';

export interface AdminAnswer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers, asserted field by field
  headers: Headers;
}

/** Calls the admin API on a port with an optional key and a JSON (or raw string) body. */
export async function admin(port: number, method: 'GET' | 'POST', path: string, body?: unknown, key: string | null = ADMIN_KEY, raw?: string): Promise<AdminAnswer> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)), signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // /metrics is text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
