import { LoginError, LoginUnavailableError } from '../../shared';
import type { Logger } from '../log';
import { ConcurrencyGate, LoginQueueFullError } from './concurrency-gate';
import { describeIssues, identitySchema, parseUntrustedJson, type CredentialVerifier, type Identity } from './credential-verifier';
import { DEFAULT_LOGIN_TIMEOUT_MS } from './settings';

/** Largest answer read from the login backend, in bytes; a bigger one counts as a bad answer. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Requests to the login backend under way at once, per node: a slow backend must not collect a connection per login. */
export const MAX_BACKEND_REQUESTS = 16;
/** Logins allowed to wait for a backend request slot (within their timeout); beyond, LoginUnavailableError at once. */
const MAX_WAITING_REQUESTS = 64;

/**
 * HttpVerifier asks the app's own backend (GATEHOUSE_LOGIN_URL): it POSTs `{username, password}` as JSON. 200 with
 * `{sub, channels?, claims?}` is success; every 4xx is LoginError (a 404 for an unknown user must not answer
 * differently from a 401, and a 400 for a wrong password must count as a failure); any other status, a malformed
 * answer, a redirect, a network error or no complete answer within the timeout (3 s, waiting for a slot included) is
 * LoginUnavailableError. At most MAX_BACKEND_REQUESTS requests run at once; the rest wait fairly per requester.
 */
export class HttpVerifier implements CredentialVerifier {
  /** The URL as logged: without its query, which might hold a key. */
  private readonly shownUrl: string;
  private readonly gate = new ConcurrencyGate(MAX_BACKEND_REQUESTS, MAX_WAITING_REQUESTS, () => new LoginQueueFullError());

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly timeoutMs: number = DEFAULT_LOGIN_TIMEOUT_MS,
  ) {
    const u = new URL(url);
    this.shownUrl = `${u.origin}${u.pathname}`;
  }

  async verify(username: string, password: string, requester: string): Promise<Identity> {
    // Started before the wait for a slot: the timeout bounds the whole check, as the client sees it.
    const signal = AbortSignal.timeout(this.timeoutMs);
    return this.gate.run(requester, () => this.ask(username, password, signal));
  }

  private async ask(username: string, password: string, signal: AbortSignal): Promise<Identity> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ username, password }),
        // Credentials must reach the configured URL and nothing else.
        redirect: 'error',
        signal,
      });
    } catch (err) {
      this.log.warn({ url: this.shownUrl, reason: reasonOf(err) }, 'login backend did not answer');
      throw new LoginUnavailableError();
    }
    if (response.status >= 400 && response.status <= 499) {
      await response.body?.cancel().catch(() => {});
      throw new LoginError();
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      this.log.warn({ url: this.shownUrl, status: response.status }, 'login backend answered an unexpected status');
      throw new LoginUnavailableError();
    }
    let body: unknown;
    try {
      body = parseUntrustedJson(await readCapped(response, MAX_ANSWER_BYTES));
    } catch (err) {
      this.log.warn({ url: this.shownUrl, reason: reasonOf(err) }, 'login backend answer unreadable');
      throw new LoginUnavailableError();
    }
    const parsed = identitySchema.safeParse(body);
    if (!parsed.success) {
      this.log.warn({ url: this.shownUrl, reason: describeIssues(parsed.error) }, 'login backend answer is not {sub, channels?, claims?}');
      throw new LoginUnavailableError();
    }
    const { sub, channels, claims } = parsed.data;
    return { sub, channels, claims };
  }
}

/** The body as text, refusing more than `max` bytes without reading further. */
async function readCapped(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > max) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`answer of ${declared} bytes is over ${max}`);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    total += read.value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new Error(`answer is over ${max} bytes`);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
