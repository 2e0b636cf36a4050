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

/**
 * The key a gateway's token is kept under, also the name of its tab channel and lock (`gatehouse:<host>:<port>`);
 * `url` is the client's `url` option.
 */
export function storageKey(url: string | URL): string {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  return `gatehouse:${u.hostname}:${Number(u.port) || (secure ? 443 : 80)}`;
}
