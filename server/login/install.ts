import { Procedure } from '../../shared';
import type { GatehouseAuthEngine } from '../auth/auth-engine';
import type { GatewayConfig } from '../config';
import type { GatewayHost } from '../host';
import { ProxyTrust } from '../http/client-ip';
import { Cors } from '../http/cors';
import type { Logger } from '../log';
import { createRedisConnection, isClusterTarget, redisTarget, type RedisConnection, type RedisTarget } from '../redis/connection';
import type { CredentialVerifier } from './credential-verifier';
import { HttpVerifier } from './http-verifier';
import { LoginLimiter } from './login-limiter';
import { loginProcedure } from './login-procedure';
import { LOGIN_OFF, loginOffRoute, loginRoute } from './login-route';
import { LoginService } from './login-service';
import { LOGIN_FROM_ANY_ORIGIN, type LoginSettings } from './settings';
import { UsersFileVerifier } from './users-file-verifier';

export type LoginHostSettings = LoginSettings & Pick<GatewayConfig, 'redisUrl' | 'redisCluster' | 'redisTimeoutMs' | 'origins' | 'originsConfigured'>;

/** What login needs besides the host: the engine that signs tokens for POST /auth/login, and whether it can sign. */
export interface LoginDeps {
  readonly engine: Pick<GatehouseAuthEngine, 'issue'>;
  readonly canSign: () => boolean;
  /**
   * Resolves once a token issued now for this sub would not be covered by a recent user revocation (a login right
   * after "logout everywhere" waits those few seconds instead of getting a token that is closed at once).
   */
  readonly pastUserRevocation?: (sub: string) => Promise<void>;
}

/**
 * Installs login on a node: the `login` procedure and POST /auth/login, both backed by one LoginService (the users
 * file or the login backend, the failed-login limiter, proxy trust). Without GATEHOUSE_USERS_FILE or
 * GATEHOUSE_LOGIN_URL nothing is installed and `login` answers ProcedureNotFoundError.
 */
export function installLogin(host: GatewayHost<LoginHostSettings>, { engine, canSign, pastUserRevocation }: LoginDeps): LoginService | undefined {
  const { config, log } = host;
  let verifier: CredentialVerifier;
  if (config.usersFile !== undefined) {
    const usersFile = new UsersFileVerifier(config.usersFile, config.users, log);
    host.onReload(() => usersFile.reload());
    verifier = usersFile;
  } else if (config.loginUrl !== undefined) {
    verifier = new HttpVerifier(config.loginUrl, log, config.loginTimeoutMs);
  } else {
    host.procedures.explainAbsent(Procedure.Login, LOGIN_OFF);
    host.addRoute(loginOffRoute());
    return undefined;
  }
  if (!config.originsConfigured) {
    log.warn(LOGIN_FROM_ANY_ORIGIN);
    host.addReadinessWarning(() => LOGIN_FROM_ANY_ORIGIN);
  }
  if (!canSign()) {
    log.warn('login is configured but this gateway has no key to sign tokens with (GATEHOUSE_AUTH_KEY or GATEHOUSE_SIGNING_KEY_FILE): every login answers LoginUnavailableError');
  }

  const target = redisTarget(config);
  const redis = target && limiterRedis(target, config.redisTimeoutMs, log);
  if (redis) {
    host.own(() => redis.disconnect());
    // Without its store every login fails closed, so the node is not ready while the store is unreachable.
    host.addReadinessCheck(() => (redis.status === 'ready' ? undefined : 'login limiter redis unreachable'));
  }
  const limiter = new LoginLimiter({
    maxFailuresPerUser: config.loginMaxFailuresPerUser,
    maxFailuresPerIp: config.loginMaxFailuresPerIp,
    windowMs: config.loginFailureWindowMs,
    maxAttemptsPerUser: config.loginRatePerUser,
    maxAttemptsPerIp: config.loginRatePerIp,
  }, log, redis);
  const service = new LoginService(verifier, limiter, canSign, log, pastUserRevocation);
  const trust = new ProxyTrust(config.trustProxy);

  host.procedures.register(Procedure.Login, loginProcedure(service, trust, host.clock));
  host.addRoute(loginRoute(service, engine, trust, new Cors(config.origins, ['POST']), host.clock));
  return service;
}

/**
 * The limiter's own connection to Redis or the Redis Cluster. Commands wait at most `timeoutMs`, then fail, and the
 * login fails closed; ioredis keeps reconnecting by itself. One Redis queues commands while it reconnects (bounded by
 * the timeout); a cluster's queue is not bounded by it, so there a login fails at once while the cluster is away.
 */
function limiterRedis(target: RedisTarget, timeoutMs: number, log: Logger): RedisConnection {
  const redis = createRedisConnection(target, {
    connectionName: 'gatehouse-login-limiter',
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: !isClusterTarget(target),
  });
  // Without a listener ioredis would throw its connection errors; the limiter logs the outage when a login meets it.
  redis.on('error', (err: Error) => log.debug({ reason: err.message }, 'login limiter Redis error'));
  return redis;
}
