import { MAX_TOKEN_BYTES } from '../shared/protocol';
import { claimsOf } from './token';

/** What one tab tells the others of the same origin and gateway. */
export type TabMessage =
  { readonly type: 'token'; readonly token: string } | { readonly type: 'logout'; readonly reason: 'logout' | 'revoked'; readonly token?: string };

/**
 * A message from another tab in its known shape, else undefined: any script of the origin can post on the channel or
 * write the mailbox, and a malformed message must not log every tab out or in.
 */
export function tabMessage(data: unknown): TabMessage | undefined {
  const m = (data !== null && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const token = m.token;
  if (token !== undefined && (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES || !claimsOf(token))) return undefined;
  if (m.type === 'token') return token ? { type: 'token', token } : undefined;
  if (m.type === 'logout' && (m.reason === 'logout' || m.reason === 'revoked')) return { type: 'logout', reason: m.reason, token };
  return undefined;
}

/**
 * TabLink joins the tabs of one origin that talk to one gateway: a BroadcastChannel, or `storage` events where there
 * is none, and Web Locks (where available) so that only one tab at a time fetches a token.
 */
export class TabLink {
  private readonly channel?: BroadcastChannel;
  private readonly onStorage?: (e: StorageEvent) => void;
  /** The localStorage key the fallback writes messages to (beside, never over, the token). */
  private readonly mailbox: string;
  /** The newest token another tab announced (by message, or by storing it), for a tab that waited on the lock. */
  private announced: string | null = null;
  private readonly waiters = new Set<() => void>();

  /** `name` is also the localStorage key the token is kept under. */
  constructor(
    private readonly name: string,
    onMessage: (msg: TabMessage) => void,
  ) {
    this.mailbox = `${name}:message`;
    const receive = (data: unknown) => {
      const msg = tabMessage(data);
      if (msg?.type === 'token') this.announce(msg.token);
      if (msg) onMessage(msg);
    };
    if (typeof BroadcastChannel === 'function') {
      this.channel = new BroadcastChannel(name);
      this.channel.onmessage = (e) => receive(e.data);
    }
    if (typeof addEventListener === 'function') {
      this.onStorage = (e) => {
        if (e.key === this.name && e.newValue) this.announce(e.newValue);
        else if (!this.channel && e.key === this.mailbox && e.newValue) receive(parseJson(e.newValue)?.m);
      };
      addEventListener('storage', this.onStorage);
    }
  }

  post(msg: TabMessage): void {
    if (this.channel) this.channel.postMessage(msg);
    // Other tabs see a storage event only when the value changes: the nonce makes each message new.
    else if (this.onStorage) localStorage.setItem(this.mailbox, JSON.stringify({ m: msg, n: Math.random() }));
  }

  /**
   * Runs `fn` while holding this gateway's lock `name` across tabs (or at once where Web Locks do not exist). `fn` is told
   * whether it had to wait for another tab to let go of the lock.
   */
  async exclusive<T>(fn: (waited: boolean) => Promise<T>, name = 'token', waitMs?: number): Promise<T> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (!locks) return fn(false);
    const lock = `${this.name}:${name}`;
    let free = false;
    const result = await locks.request(lock, { ifAvailable: true }, async (held) => {
      if (!held) return undefined;
      free = true;
      return fn(false);
    });
    if (free) return result as T;
    // A tab that holds the lock for ever (frozen, or an old client without a getToken timeout) must not block this one:
    // after waitMs it goes on without the lock.
    const signal = waitMs === undefined ? undefined : AbortSignal.timeout(waitMs);
    let granted = false;
    try {
      return await locks.request(lock, { signal }, () => {
        granted = true;
        return fn(true);
      });
    } catch (err) {
      if (!granted) return fn(true);
      throw err;
    }
  }

  /**
   * What another tab announced since `since` (a token it fetched or stored), waiting up to `ms` for it. The lock is
   * released before the other tabs' copies of localStorage are updated (Chromium syncs them between processes
   * asynchronously), so a tab that waited on the lock may read the old token: the announcement is the reliable news.
   */
  async announcedAfter(since: string | null, ms: number): Promise<string | null> {
    if (this.announced !== since) return this.announced;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.waiters.add(resolve);
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.waiters.delete(wake!);
    return this.announced !== since ? this.announced : null;
  }

  /** The token last announced (to pass to `announcedAfter`). */
  get lastAnnounced(): string | null {
    return this.announced;
  }

  close(): void {
    this.channel?.close();
    if (this.onStorage) removeEventListener('storage', this.onStorage);
    for (const wake of this.waiters) wake();
  }

  private announce(token: string): void {
    this.announced = token;
    for (const wake of this.waiters) wake();
  }
}

function parseJson(text: string): { m?: unknown } | undefined {
  try {
    return JSON.parse(text) as { m?: unknown };
  } catch {
    return undefined;
  }
}
