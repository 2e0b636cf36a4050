/** Where the client keeps its token. Methods may return promises (an IndexedDB or native store). */
export interface TokenStorage {
  get(key: string): string | null | Promise<string | null>;
  set(key: string, token: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

/** A store in this process's memory: the default in Node, and where localStorage cannot be written. */
export function memoryStorage(): TokenStorage {
  const tokens = new Map<string, string>();
  return {
    get: (key) => tokens.get(key) ?? null,
    set: (key, token) => void tokens.set(key, token),
    remove: (key) => void tokens.delete(key),
  };
}

/** localStorage when this is a browser and it can be written (not in some private modes), else memory. */
export function defaultStorage(): TokenStorage {
  try {
    const store = globalThis.localStorage;
    const probe = 'gatehouse.probe';
    store.setItem(probe, probe);
    store.removeItem(probe);
    return { get: (key) => store.getItem(key), set: (key, token) => store.setItem(key, token), remove: (key) => store.removeItem(key) };
  } catch {
    return memoryStorage();
  }
}

/** Where a client's socket goes, from its `url` option, and the key its token, tab channel and locks are named by. */
export interface GatewayAddress {
  readonly hostname: string;
  readonly port: number;
  readonly secure: boolean;
  readonly path: string;
  readonly key: string;
}

export function gatewayAddress(url: string | URL): GatewayAddress {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  const port = Number(u.port) || (secure ? 443 : 80);
  // A ws(s):// URL may name the gateway's path; an http(s):// one names the site, whose gateway is at the default.
  const path = u.protocol.startsWith('ws') && u.pathname.length > 1 ? u.pathname : '/socketcluster/';
  // Scheme, host, port and path: two gateways behind one host (/a/, /b/) keep their tokens and logouts apart.
  return { hostname: u.hostname, port, secure, path, key: `gatehouse:${secure ? 'wss' : 'ws'}://${u.hostname}:${port}${path}` };
}

/** The key a gateway's token is kept under (also its tab channel and locks); `url` is the client's `url` option. */
export function storageKey(url: string | URL): string {
  return gatewayAddress(url).key;
}
