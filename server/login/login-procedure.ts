import { LoginUnavailableError } from '../../shared';
import { tokenExpiry } from '../auth/token-expiry';
import type { Clock } from '../clock';
import { clientIp, type ProxyTrust } from '../http/client-ip';
import type { ProcedureHandler } from '../procedures/registry';
import { claimsOf, isOpen, remoteAddressOf } from '../sc/facade';
import { tokenPayloadOf } from './credential-verifier';
import type { LoginService } from './login-service';

/**
 * What the `login` procedure answers: the token's sub and sid, its exp (`expiresAt`, Unix seconds) and the seconds it
 * has left by the gateway's clock (`expiresIn`).
 */
export interface LoginAnswer {
  readonly sub: string;
  readonly sid: string;
  readonly expiresAt: number;
  readonly expiresIn: number;
}

/**
 * The `login` procedure: `socket.invoke('login', {username, password})`. On success the socket gets a token signed by
 * the gateway (the auth engine stamps a new sid, jti, iat, exp, iss and aud) and is authenticated at once. The answer
 * is sent only once the client has acknowledged the token, so when `invoke('login')` resolves even the stock client is
 * authenticated (a plain `setAuthToken` queues the token behind the reply: notes §10).
 */
export function loginProcedure(service: LoginService, trust: ProxyTrust, clock: Clock): ProcedureHandler {
  return async (data, socket): Promise<LoginAnswer> => {
    const ip = clientIp(remoteAddressOf(socket), socket.request?.headers['x-forwarded-for'], trust);
    const identity = await service.attempt(data, { ip, via: 'rpc' });
    // setAuthToken marks even a closed socket authenticated (notes §3): a client gone mid-login gets nothing.
    if (!isOpen(socket)) throw new LoginUnavailableError('The connection closed during login');
    try {
      await socket.setAuthToken(tokenPayloadOf(identity), { rejectOnFailedDelivery: true });
    } catch {
      // The client did not take the token (gone, or no ack in time): it must not stay authenticated here either.
      // Without rejectOnFailedDelivery, deauthenticate queues #removeAuthToken and has nothing to wait for.
      if (isOpen(socket) && claimsOf(socket)) void socket.deauthenticate();
      throw new LoginUnavailableError('The token could not be delivered; log in again');
    }
    const claims = claimsOf(socket);
    if (!claims || typeof claims.sid !== 'string') throw new LoginUnavailableError('The connection closed during login');
    return { sub: claims.sub, sid: claims.sid, expiresAt: claims.exp, expiresIn: tokenExpiry(claims, clock.now()).expiresIn };
  };
}
