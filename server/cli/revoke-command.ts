import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { joinDashValues } from './dash-values';
import { loadConfig } from '../config';
import { describeRedisTarget, redisTarget } from '../redis/connection';
import { RedisRevocationStore } from '../revocation/redis-store';
import { REVOCATION_KINDS, StoreUnavailableError, idLimit, isRevocationTarget, type RevocationKind } from '../revocation/store';
import { UsageError } from './usage';

/** How long the command waits to connect to Redis, at least, ms (else four Redis timeouts). */
const MIN_CONNECT_WAIT_MS = 1000;

/**
 * `gatehouse revoke --jti ID | --sid ID | --sub ID`: records a revocation in Redis and announces it, so every node
 * closes the sockets it hits and refuses the tokens from now on. Needs GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER
 * (the one the nodes use): an in-memory store lives inside one gateway process and cannot be reached from here. Prints what it did and returns the exit code: 0, or
 * 1 when Redis could not be reached or refused the write (bad arguments throw UsageError: exit 2).
 */
export async function revokeCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const options = { jti: { type: 'string' }, sid: { type: 'string' }, sub: { type: 'string' }, config: { type: 'string' } } as const;
  const { values } = parseArgs({ args: joinDashValues(args, options), options, strict: true });
  const given = REVOCATION_KINDS.filter((kind) => values[kind] !== undefined);
  if (given.length !== 1) throw new UsageError('revoke needs exactly one of --jti ID, --sid ID or --sub ID');
  const kind: RevocationKind = given[0];
  const target = { kind, id: values[kind]! };
  if (!isRevocationTarget(target)) throw new UsageError(`--${kind} needs a non-empty id of at most ${idLimit(kind)} characters`);

  const config = loadConfig({ env, configFile: values.config });
  const redis = redisTarget(config);
  if (!redis) {
    throw new UsageError(
      'revoke needs GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER, as the nodes have: revocations are shared through Redis (a node without Redis keeps them in its own memory)',
    );
  }
  const store = new RedisRevocationStore({
    target: redis,
    timeoutMs: config.redisTimeoutMs,
    origin: cliOrigin(),
    subscribe: false,
    policy: { maxTokenLifetimeMs: config.maxTokenLifetimeMs, clockToleranceMs: config.clockToleranceMs },
  });
  try {
    if (!(await store.ready(Math.max(MIN_CONNECT_WAIT_MS, config.redisTimeoutMs * 4)))) {
      process.stderr.write(`gatehouse: cannot reach ${describeRedisTarget(redis)}\n`);
      return 1;
    }
    const revocation = await store.revoke(target);
    process.stdout.write(
      `revoked ${kind} ${JSON.stringify(target.id)} at ${new Date(revocation.at).toISOString()}; `
        + `the entry expires at ${new Date(revocation.until).toISOString()}\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    process.stderr.write(`gatehouse: Redis did not accept the revocation: ${err.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

/**
 * The origin this run announces with: `cli/` and a random suffix, so no node can take it for its own echo (node ids
 * never contain `/`; a node may well be named `cli`).
 */
function cliOrigin(): string {
  return `cli/${randomBytes(4).toString('hex')}`;
}
