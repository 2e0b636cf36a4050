import type { AGServerSocket } from 'socketcluster-server';
import { AuthTokenInvalidError, type GatehouseClaims } from '../../shared';
import type { Clock } from '../clock';
import { coalesceWritesOfTurn } from '../sc/write-coalescing';
import type { KeyRing } from './keyring';
import { signClaims, stampClaims, UnsignableClaimsError, type SignPolicy } from './sign';

export { UnsignableClaimsError };
import { completeSessionClaims } from './session-claims';
import { claimsProblem, verifyTokenAndKey, type VerifyPolicy } from './verify';

/**
 * A check run on every verified token before the socket is marked authenticated (the revocation look-up). Throws a
 * shared AuthError to refuse.
 */
export type AdmissionCheck = (claims: GatehouseClaims, socket: AGServerSocket | undefined) => Promise<void>;

/**
 * GatehouseAuthEngine is AGServer's `authEngine`. SocketCluster calls `verifyToken` at the handshake and at every
 * `socket.authenticate(token)` before any socket state changes, so every refusal here means the socket is never,
 * even briefly, authenticated. The key and algorithm SocketCluster passes are ignored: the KeyRing decides.
 */
export class GatehouseAuthEngine {
  private admission?: AdmissionCheck;

  constructor(
    private readonly keys: KeyRing,
    private readonly policy: VerifyPolicy & SignPolicy,
    private readonly clock: Clock,
  ) {}

  /** Sets the one admission check: revocation's look-up (revocation/admission.ts), before a socket authenticates. */
  setAdmissionCheck(check: AdmissionCheck): void {
    this.admission = check;
  }

  async verifyToken(signed: unknown, _key: unknown, options?: { socket?: AGServerSocket }): Promise<GatehouseClaims> {
    const { claims, kid } = verifyTokenAndKey(signed, this.keys, this.policy, this.clock.now());
    completeSessionClaims(claims, signed as string, kid, this.keys);
    if (this.admission) await this.admission(claims, options?.socket);
    // SocketCluster answers right after this resolves, and the expiry notice follows in the same turn: one write.
    if (options?.socket) coalesceWritesOfTurn(options.socket);
    return claims;
  }

  /**
   * Signs the gateway's own tokens and, like ag-auth with `mutatePayload`, writes the stamped claims onto the payload
   * object so `socket.authToken` carries jti, sid, iat and exp.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so a refusal to sign rejects, as ag-auth's does
  async signToken(payload: Record<string, unknown>, _key: unknown, options?: { expiresIn?: unknown; [option: string]: unknown }): Promise<string> {
    const signer = this.keys.signer;
    if (!signer) throw new AuthTokenInvalidError('this gateway has no key to sign tokens with');
    // `expiresIn` (seconds) may shorten a token (renewal near the session's end), never lengthen it past the TTL.
    const cap = typeof options?.expiresIn === 'number' ? options.expiresIn * 1000 : Infinity;
    const policy = { ...this.policy, tokenTtlMs: Math.min(this.policy.tokenTtlMs, cap) };
    const claims = this.stamp(payload, policy);
    for (const key of Object.keys(payload)) if (!(key in claims)) delete payload[key];
    Object.assign(payload, claims);
    return signClaims(claims, signer);
  }

  /** Signs a token outside any socket (HTTP login, the CLI, development mode's sample token). */
  issue(payload: Record<string, unknown>): { token: string; claims: GatehouseClaims } {
    const signer = this.keys.signer;
    if (!signer) throw new AuthTokenInvalidError('this gateway has no key to sign tokens with');
    const claims = this.stamp(payload, this.policy);
    return { token: signClaims(claims, signer), claims };
  }

  /** Stamps a payload into fresh claims, refusing (UnsignableClaimsError) any the verifier would refuse. */
  private stamp(payload: Record<string, unknown>, policy: VerifyPolicy & SignPolicy): GatehouseClaims {
    const now = this.clock.now();
    const claims = stampClaims(payload, policy, now);
    const problem = claimsProblem(claims, policy, Math.floor(now / 1000));
    if (problem) throw new UnsignableClaimsError(`refusing to sign a token every node would refuse: ${problem.message}`);
    const okid = (claims as Record<string, unknown>).okid;
    if (okid !== undefined && (typeof okid !== 'string' || !this.keys.has(okid))) {
      throw new UnsignableClaimsError('refusing to sign a token every node would refuse: the key that verified this session was retired');
    }
    return claims;
  }
}
