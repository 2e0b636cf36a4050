import type { PresenceLeaveReason } from '../../shared';
import type { RedisConnection } from '../redis/connection';
import type { DeadEpoch, PresenceNodeBoard } from './presence-index';

const EPOCHS = 'gatehouse:presence:epochs';
const LOCK = 'gatehouse:presence:reaper';
const lease = (epoch: string) => `gatehouse:presence:lease:${epoch}`;
const leaving = (epoch: string) => `gatehouse:presence:leaving:${epoch}`;
const channelsOf = (epoch: string) => `gatehouse:presence:channels:${epoch}`;

/** Deletes the lock only if `owner` still holds it. */
const UNLOCK_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * The node board on Redis or a Redis Cluster: one key a lease (`PX`), a set of known epochs, a set of channels per
 * epoch, and the reaping lock. Every command names one key, so none crosses a cluster slot.
 */
export class RedisPresenceNodeBoard implements PresenceNodeBoard {
  private readonly unlockScript: (key: string, owner: string) => Promise<unknown>;

  constructor(private readonly redis: RedisConnection) {
    redis.defineCommand('gatehousePresenceUnlock', { numberOfKeys: 1, lua: UNLOCK_SCRIPT });
    const command: unknown = Reflect.get(redis, 'gatehousePresenceUnlock');
    if (typeof command !== 'function') throw new Error('ioredis has no command gatehousePresenceUnlock');
    this.unlockScript = command.bind(redis) as (key: string, owner: string) => Promise<unknown>;
  }

  async register(epoch: string, ttlMs: number): Promise<void> {
    await this.redis.set(lease(epoch), '1', 'PX', ttlMs);
    await this.redis.sadd(EPOCHS, epoch);
  }

  async renew(epoch: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(lease(epoch), '1', 'PX', ttlMs, 'XX')) === 'OK';
  }

  async noteChannel(epoch: string, channel: string): Promise<void> {
    await this.redis.sadd(channelsOf(epoch), channel);
  }

  async unnoteChannel(epoch: string, channel: string): Promise<void> {
    await this.redis.srem(channelsOf(epoch), channel);
  }

  async lock(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(LOCK, owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(owner: string): Promise<void> {
    await this.unlockScript(LOCK, owner);
  }

  async deadEpochs(own: string): Promise<DeadEpoch[]> {
    const dead: DeadEpoch[] = [];
    for (const epoch of await this.redis.smembers(EPOCHS)) {
      if (epoch === own || (await this.redis.exists(lease(epoch))) === 1) continue;
      const reason: PresenceLeaveReason = (await this.redis.get(leaving(epoch))) === null ? 'node-lost' : 'disconnected';
      dead.push({ epoch, reason, channels: await this.redis.smembers(channelsOf(epoch)) });
    }
    return dead;
  }

  async forget(epoch: string): Promise<void> {
    await this.redis.del(channelsOf(epoch));
    await this.redis.del(leaving(epoch));
    await this.redis.srem(EPOCHS, epoch);
  }

  async leave(epoch: string, graceMs: number): Promise<void> {
    // Kept well past the lease, so the reaper still reads it when it gets to the epoch.
    await this.redis.set(leaving(epoch), '1', 'PX', graceMs + 600_000);
    if (graceMs > 0) await this.redis.pexpire(lease(epoch), graceMs);
    else await this.redis.del(lease(epoch));
  }
}
