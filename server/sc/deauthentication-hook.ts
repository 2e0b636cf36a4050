/**
 * Tells the gateway of a socket's loss of authentication synchronously, at the moment it happens.
 *
 * SocketCluster v20 announces a deauthentication only through the server's `deauthentication` listener stream, which
 * its consumers read some microtasks later; until then the socket keeps every channel subscription (notes §3), so a
 * publish running in that gap still reaches it. Worse, when a re-authentication is refused with an error that is not
 * a bad token (nbf in the future, AuthUnavailableError) or by the AUTHENTICATE middleware, `_processAuthentication`
 * drops the socket to unauthenticated without any event at all (serversocket.js), so nothing would ever take its old
 * channels away. This wraps `deauthenticateSelf` (which `deauthenticate()` also calls) to run the hook registered for
 * the socket's server right after the state change, and `_processAuthentication` to deauthenticate a socket it left
 * unauthenticated that way (for a bad token, which SocketCluster deauthenticates itself a moment later, only the
 * hook runs, so its events fire once). Installed once, idempotently.
 */

import { patchSocketMethods } from './patch';

interface HookedSocket {
  readonly server: object;
  readonly authState: string;
  readonly AUTHENTICATED: string;
  deauthenticateSelf(): void;
}

const hooks = new WeakMap<object, (socket: HookedSocket) => void>();

/**
 * Registers the hook for one AGServer's sockets: it runs inside `deauthenticateSelf`, right after the state change
 * (also for a socket that had no authentication to lose). Returns what unregisters it.
 */
export function onDeauthentication<S>(server: object, hook: (socket: S) => void): () => void {
  const registered = hook as unknown as (socket: HookedSocket) => void;
  hooks.set(server, registered);
  return () => {
    if (hooks.get(server) === registered) hooks.delete(server);
  };
}

export function installDeauthenticationHook(AGServerSocket: { prototype: unknown }): void {
  const seam = { name: 'deauthenticationHook', file: 'server/sc/deauthentication-hook.ts' };
  patchSocketMethods(AGServerSocket, seam, ['deauthenticateSelf', '_processAuthentication'], (original) => ({
    deauthenticateSelf(this: HookedSocket) {
      original.deauthenticateSelf.call(this);
      hooks.get(this.server)?.(this);
    },
    _processAuthentication(this: HookedSocket, authInfo: unknown) {
      const wasAuthenticated = this.authState === this.AUTHENTICATED;
      let told = false;
      const tell = (err: unknown) => {
        if (told || !wasAuthenticated || this.authState === this.AUTHENTICATED) return;
        told = true;
        // For a bad token SocketCluster calls deauthenticate() itself once this rejects (_processAuthenticateRequest),
        // and that emits the events: here only the hook runs, now, so the socket's grants go at once and the
        // `deauthentication` and `deauthenticate` events fire once, not twice.
        if ((err as { isBadToken?: unknown } | undefined)?.isBadToken === true) hooks.get(this.server)?.(this);
        else this.deauthenticateSelf();
      };
      // A refused token drops the state before this call returns; a blocked AUTHENTICATE action drops it later.
      const processed = original._processAuthentication.call(this, authInfo) as Promise<void>;
      tell((authInfo as { authTokenError?: unknown } | undefined)?.authTokenError);
      return processed.catch((err: unknown) => {
        tell(err);
        throw err;
      });
    },
  }));
}
