import { LoginUnavailableError } from '../../shared';
import { clientIp, type ProxyTrust } from '../http/client-ip';
import type { ProcedureHandler } from '../procedures/registry';
import { claimsOf, isOpen, remoteAddressOf } from '../sc/facade';
import { tokenPayloadOf } from './credential-verifier';
import type { LoginService } from './login-service';

/** What the `login` procedure answers: the token's sub and sid, and its exp (`expiresAt`, Unix seconds). */
export interface LoginAnswer {
  readonly sub: string;
  readonly sid: string;
  readonly expiresAt: number;
}

/**
 * The `login` procedure: `socket.invoke('login', {username, password})`. On success the socket gets a token signed by
 * the gateway (the auth engine stamps a new sid, jti, iat, exp, iss and aud) and is authenticated at once.
 */
export function loginProcedure(service: LoginService, trust: ProxyTrust): ProcedureHandler {
  return async (data, socket): Promise<LoginAnswer> => {
    const ip = clientIp(remoteAddressOf(socket), socket.request?.headers['x-forwarded-for'], trust);
    const identity = await service.attempt(data, { ip, via: 'rpc' });
    // setAuthToken marks even a closed socket authenticated (notes §3): a client gone mid-login gets nothing.
    if (!isOpen(socket)) throw new LoginUnavailableError('The connection closed during login');
    await socket.setAuthToken(tokenPayloadOf(identity));
    const claims = claimsOf(socket);
    if (!claims || typeof claims.sid !== 'string') throw new LoginUnavailableError('The connection closed during login');
    return { sub: claims.sub, sid: claims.sid, expiresAt: claims.exp };
  };
}
