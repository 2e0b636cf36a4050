import { redisTarget } from '../redis/connection';
import type { BackendOwner, Backends, BackendSettings } from './backends';
import { MemoryBackends } from './memory-backends';
import { RedisBackends } from './redis-backends';

export type { BackendOwner, Backends, BackendSettings } from './backends';
export { MemoryHub } from './memory-hub';

/**
 * The backends the configuration asks for: Redis when GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER is set, else
 * memory. A MemoryHub joins nodes that keep their state in memory; given with Redis configured, it is refused.
 */
export function createBackends(config: BackendSettings, owner: BackendOwner): Backends {
  const target = redisTarget(config);
  if (!target) return new MemoryBackends(config, owner);
  if (owner.hub) throw new Error('a MemoryHub joins nodes without Redis; this node is configured with Redis');
  return new RedisBackends(target, config, owner);
}
