import { AuthTokenRevokedError, AuthUnavailableError } from '../../shared';
import type { AdmissionCheck } from '../auth/auth-engine';
import type { RevocationEnforcer } from './enforcer';
import type { RevocationStore } from './store';

/**
 * The admission check the auth engine runs on every verified token, at the handshake and at every `authenticate()`:
 * one store look-up. Fails closed: a store that cannot answer in time refuses with AuthUnavailableError (the client
 * keeps its token and may retry); a revoked token is refused with AuthTokenRevokedError (the client drops it).
 */
export function revocationAdmission(store: RevocationStore, enforcer: RevocationEnforcer): AdmissionCheck {
  return async (claims, socket) => {
    const mark = enforcer.mark();
    let revoked: boolean;
    try {
      revoked = await store.check(claims);
    } catch {
      throw new AuthUnavailableError();
    }
    // An announcement may have overtaken the look-up's answer.
    if (revoked || enforcer.hitSince(mark, claims)) throw new AuthTokenRevokedError();
    // So many overtook it that some are forgotten already: cannot tell, so fail closed (the client may retry).
    if (enforcer.forgotSince(mark)) throw new AuthUnavailableError();
    if (socket) enforcer.admitted(socket, mark);
  };
}
