import Redis from 'ioredis';
import { Procedure } from '../../shared';
import type { Gateway } from '../gateway';
import { ProxyTrust } from '../http/client-ip';
import type { Logger } from '../log';
import type { CredentialVerifier } from './credential-verifier';
import { HttpVerifier } from './http-verifier';
import { LoginLimiter } from './login-limiter';
import { loginProcedure } from './login-procedure';
import { loginRoute } from './login-route';
import { LoginService } from './login-service';
import { UsersFileVerifier } from './users-file-verifier';

/**
 * How long the limiter waits for Redis before failing closed, in ms.
 * TODO(lead): use GATEHOUSE_REDIS_TIMEOUT once the revocation branch has added it.
 */
const LIMITER_REDIS_TIMEOUT_MS = 500;

/**
 * Installs login on a gateway: the `login` procedure and POST /auth/login, both backed by one LoginService (the users
 * file or the login backend, the failed-login limiter, proxy trust). Without GATEHOUSE_USERS_FILE or
 * GATEHOUSE_LOGIN_URL nothing is installed and `login` answers ProcedureNotFoundError.
 */
export function installLogin(gateway: Gateway): LoginService | undefined {
  const { config, log } = gateway;
  let verifier: CredentialVerifier;
  if (config.usersFile !== undefined) {
    const usersFile = new UsersFileVerifier(config.usersFile, config.users, log);
    gateway.onReload(() => usersFile.reload());
    verifier = usersFile;
  } else if (config.loginUrl !== undefined) {
    verifier = new HttpVerifier(config.loginUrl, log, config.loginTimeoutMs);
  } else {
    return undefined;
  }
  if (!gateway.keys.signer) {
    log.warn('login is configured but this gateway has no key to sign tokens with (GATEHOUSE_AUTH_KEY or GATEHOUSE_SIGNING_KEY_FILE): every login answers LoginUnavailableError');
  }

  const redis = config.redisUrl === undefined ? undefined : limiterRedis(config.redisUrl, log);
  if (redis) gateway.own(() => redis.disconnect());
  const limiter = new LoginLimiter({
    maxFailuresPerUser: config.loginMaxFailuresPerUser,
    maxFailuresPerIp: config.loginMaxFailuresPerIp,
    windowMs: config.loginFailureWindowMs,
  }, log, redis);
  const service = new LoginService(verifier, limiter, () => gateway.keys.signer !== undefined, log);
  const trust = new ProxyTrust(config.trustProxy);

  gateway.procedures.register(Procedure.Login, loginProcedure(service, trust));
  gateway.addRoute(loginRoute(service, gateway.engine, trust));
  return service;
}

/**
 * The limiter's own Redis connection. Commands wait at most LIMITER_REDIS_TIMEOUT_MS (queued while reconnecting),
 * then fail, and the login fails closed; ioredis keeps reconnecting by itself.
 */
function limiterRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, { commandTimeout: LIMITER_REDIS_TIMEOUT_MS, maxRetriesPerRequest: 1, connectionName: 'gatehouse-login-limiter' });
  // Without a listener ioredis would throw its connection errors; the limiter logs the outage when a login meets it.
  redis.on('error', (err: Error) => log.debug({ reason: err.message }, 'login limiter Redis error'));
  return redis;
}
