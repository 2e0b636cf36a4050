/** What one tab tells the others of the same origin and gateway. */
export type TabMessage =
  | { readonly type: 'token'; readonly token: string }
  | { readonly type: 'logout'; readonly reason: 'logout' | 'revoked'; readonly token?: string };

/**
 * TabLink joins the tabs of one origin that talk to one gateway: a BroadcastChannel, or `storage` events where there
 * is none, and Web Locks (where available) so that only one tab at a time fetches a token.
 */
export class TabLink {
  private readonly channel?: BroadcastChannel;
  private readonly onStorage?: (e: StorageEvent) => void;
  /** The localStorage key the fallback writes messages to (beside, never over, the token). */
  private readonly mailbox: string;

  constructor(private readonly name: string, onMessage: (msg: TabMessage) => void) {
    this.mailbox = `${name}:message`;
    if (typeof BroadcastChannel === 'function') {
      this.channel = new BroadcastChannel(name);
      this.channel.onmessage = (e) => onMessage(e.data as TabMessage);
    } else if (typeof addEventListener === 'function') {
      this.onStorage = (e) => {
        if (e.key === this.mailbox && e.newValue) onMessage((JSON.parse(e.newValue) as { m: TabMessage }).m);
      };
      addEventListener('storage', this.onStorage);
    }
  }

  post(msg: TabMessage): void {
    if (this.channel) this.channel.postMessage(msg);
    // Other tabs see a storage event only when the value changes: the nonce makes each message new.
    else if (this.onStorage) localStorage.setItem(this.mailbox, JSON.stringify({ m: msg, n: Math.random() }));
  }

  /** Runs `fn` while holding this gateway's lock across tabs (or at once where Web Locks do not exist). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    return locks ? (locks.request(`${this.name}:token`, fn) as Promise<T>) : fn();
  }

  close(): void {
    this.channel?.close();
    if (this.onStorage) removeEventListener('storage', this.onStorage);
  }
}
