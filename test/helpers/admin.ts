import type { NodeInfo } from '../../server/admin/node-registry';

/** The admin key test gateways are given. */
export const ADMIN_KEY = 'admin-key-for-tests-0123456789';

/** A GATEHOUSE_ADMIN_KEYS key with the `publish` scope only (a backend that sends notifications). */
export const PUBLISH_KEY = 'publish-only-key-for-tests-0123';

/**
 * The JSON answers of the admin API in one shape: each route gives some of these fields, and a test asserts the ones
 * its route gives (a field the route does not give reads undefined and fails the assertion).
 */
export interface AdminBody {
  /** `scope` names the key scope a ForbiddenError lacks. */
  readonly error: { readonly name: string; readonly message: string; readonly scope?: string };
  readonly revoked: { readonly kind: string; readonly id: string };
  readonly disconnected: Record<string, number>;
  readonly unanswered: string[];
  readonly nodes: NodeInfo[];
  readonly [field: string]: unknown;
}

export interface AdminAnswer {
  status: number;
  /** The parsed JSON answer; undefined when empty; the text itself when not JSON (read that from `text`). */
  body: AdminBody;
  /** The same parsed answer for a route whose shape AdminBody does not list (a feature's own): cast it to that shape. */
  json: unknown;
  /** The answer as sent: /metrics answers text. */
  text: string;
  headers: Headers;
}

/** Calls the admin API on a port with an optional key and a JSON (or raw string) body. */
export async function admin(
  port: number,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  key: string | null = ADMIN_KEY,
  raw?: string,
): Promise<AdminAnswer> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers,
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  // A body that is not JSON (/metrics) stays the text, as tests written before `text` read it.
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // /metrics is text
  }
  return { status: res.status, body: parsed as AdminBody, json: parsed, text, headers: res.headers };
}
