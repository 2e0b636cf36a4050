import { Procedure } from '../../shared';
import type { GatehouseAuthEngine } from '../auth/auth-engine';
import type { NodeSettings } from '../node/settings';
import type { GatewayHost } from '../host';
import { ProxyTrust } from '../http/client-ip';
import { Cors } from '../http/cors';
import type { Logger } from '../log';
import type { RedisConnection } from '../redis/connection';
import type { CredentialVerifier } from './credential-verifier';
import { HttpVerifier } from './http-verifier';
import { LoginLimiter } from './login-limiter';
import { loginProcedure } from './login-procedure';
import { LOGIN_OFF, loginOffRoute, loginRoute } from './login-route';
import { registerLoginMetrics } from './metrics';
import { LoginService } from './login-service';
import { LOGIN_FROM_ANY_ORIGIN, type LoginSettings } from './settings';
import type { DepartedUser } from './users-file';
import { UsersFileVerifier } from './users-file-verifier';

/** Login's slice of the configuration, and the browser origins it answers. */
export type LoginHostSettings = LoginSettings & Pick<NodeSettings, 'origins' | 'originsConfigured'>;

/** What login needs besides the host: the engine that signs tokens for POST /auth/login, and whether it can sign. */
export interface LoginDeps {
  readonly engine: Pick<GatehouseAuthEngine, 'issue'>;
  readonly canSign: () => boolean;
  /**
   * Resolves once a token issued now for this sub would not be covered by a recent user revocation (a login right
   * after "logout everywhere" waits those few seconds instead of getting a token that is closed at once).
   */
  readonly pastUserRevocation?: (sub: string) => Promise<void>;
  /**
   * Revokes every token of a user (`sub`) on every node, closing their live sockets: a users-file reload ends the
   * sessions of users it removed or whose password or sub changed. Rejects when the revocation store cannot record it.
   */
  readonly revokeUser?: (sub: string) => Promise<unknown>;
  /**
   * Opens the failed-login limiter's Redis connection, owned by the node's backends (server/backends/); undefined
   * without Redis, when the counts stay in this node's memory. Called only when login is configured.
   */
  readonly limiterStore: () => RedisConnection | undefined;
}

/**
 * Installs login on a node: the `login` procedure and POST /auth/login, both backed by one LoginService (the users
 * file or the login backend, the failed-login limiter, proxy trust), its attempts counted in the node's metrics.
 * Without GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL nothing is installed and `login` answers ProcedureNotFoundError.
 */
export function installLogin(
  host: GatewayHost<LoginHostSettings>,
  { engine, canSign, pastUserRevocation, revokeUser, limiterStore }: LoginDeps,
): LoginService | undefined {
  const { config, log } = host;
  let verifier: CredentialVerifier;
  if (config.usersFile !== undefined) {
    const usersFile = new UsersFileVerifier(config.usersFile, config.users, log);
    host.onReload(() => {
      const departed = usersFile.reload();
      if (departed && departed.length > 0 && revokeUser) endSessions(departed, revokeUser, log);
    });
    verifier = usersFile;
  } else if (config.loginUrl !== undefined) {
    verifier = new HttpVerifier(config.loginUrl, log, config.loginTimeoutMs);
  } else {
    host.procedures.explainAbsent(Procedure.Login, LOGIN_OFF);
    host.addRoute(loginOffRoute());
    registerLoginMetrics(host.metrics, undefined);
    return undefined;
  }
  if (!config.originsConfigured) {
    log.warn(LOGIN_FROM_ANY_ORIGIN);
    host.addReadinessWarning(() => LOGIN_FROM_ANY_ORIGIN);
  }
  if (!canSign()) {
    log.warn(
      'login is configured but this gateway has no key to sign tokens with (GATEHOUSE_AUTH_KEY or GATEHOUSE_SIGNING_KEY_FILE): every login answers LoginUnavailableError',
    );
  }

  const redis = limiterStore();
  if (redis) {
    // Without its store every login fails closed, so the node is not ready while the store is unreachable.
    host.addReadinessCheck(() => (redis.status === 'ready' ? undefined : 'login limiter redis unreachable'));
  }
  const limiter = new LoginLimiter(
    {
      maxFailuresPerUser: config.loginMaxFailuresPerUser,
      maxFailuresPerIp: config.loginMaxFailuresPerIp,
      windowMs: config.loginFailureWindowMs,
      maxAttemptsPerUser: config.loginRatePerUser,
      maxAttemptsPerIp: config.loginRatePerIp,
    },
    log,
    redis,
  );
  const service = new LoginService(verifier, limiter, canSign, log, pastUserRevocation);
  registerLoginMetrics(host.metrics, service);
  const trust = new ProxyTrust(config.trustProxy);

  host.procedures.register(Procedure.Login, loginProcedure(service, trust, host.clock));
  host.addRoute(loginRoute(service, engine, trust, new Cors(config.origins, ['POST']), host.clock));
  return service;
}

/**
 * Ends the sessions of users a reload no longer admits: one user revocation per sub, so it holds on every node (through
 * Redis) and against tokens already renewed, and a user who comes back with a new password logs in past it. A failure
 * is logged with the subs left to revoke by hand; the next reload will not try again (the users are gone by then).
 */
function endSessions(departed: readonly DepartedUser[], revokeUser: (sub: string) => Promise<unknown>, log: Logger): void {
  const bySub = new Map<string, DepartedUser[]>();
  for (const user of departed) bySub.set(user.sub, [...(bySub.get(user.sub) ?? []), user]);
  for (const [sub, users] of bySub) {
    const who = { sub, users: users.map(({ username, why }) => ({ username, why })) };
    revokeUser(sub).then(
      () => log.info(who, 'users file reload: sessions of a removed or changed user revoked'),
      (err: Error) =>
        log.error(
          { ...who, reason: err.message },
          'users file reload: could not revoke the sessions of a removed or changed user; run `gatehouse revoke --sub SUB`',
        ),
    );
  }
}
