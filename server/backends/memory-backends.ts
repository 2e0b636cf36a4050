import { MemoryNodeRegistry, NodeBoard, type NodeRegistry, type NodeSnapshot } from '../admin/node-registry';
import type { PubSubTransport } from '../cluster/transport';
import { MemoryPresenceIndex } from '../presence/memory-index';
import type { PresenceBackend } from '../presence/presence-index';
import { MemoryGrantStore } from '../grants/memory-store';
import type { GrantStore } from '../grants/store';
import type { RevocationBackend } from '../revocation/install';
import { MemoryRevocationStore } from '../revocation/memory-store';
import type { BackendOwner, Backends, BackendSettings } from './backends';

/**
 * Everything in this process's memory. A node alone has no transport (it delivers locally and its admin bus acts on
 * itself) and a registry listing itself; nodes given one MemoryHub share it all (see MemoryHub). No connections.
 */
export class MemoryBackends implements Backends {
  readonly kind = 'memory';

  constructor(
    private readonly config: BackendSettings,
    private readonly owner: BackendOwner,
  ) {}

  revocation(): RevocationBackend {
    const { config, owner } = this;
    const policy = { maxTokenLifetimeMs: config.maxTokenLifetimeMs, clockToleranceMs: config.clockToleranceMs, tokenTtlMs: config.tokenTtlMs };
    const board = owner.hub?.revocations(owner.clock, config.clockToleranceMs);
    return { store: new MemoryRevocationStore({ policy, origin: owner.instanceId, clock: owner.clock, board }) };
  }

  clusterTransport(): PubSubTransport | undefined {
    return this.owner.hub?.pubsub.transport();
  }

  nodeRegistry(snapshot: NodeSnapshot): NodeRegistry {
    return new MemoryNodeRegistry(this.owner.hub?.nodes ?? new NodeBoard(), snapshot, this.owner.clock);
  }

  presence(): PresenceBackend {
    return { index: this.owner.hub?.presence ?? new MemoryPresenceIndex() };
  }

  grants(): GrantStore {
    return new MemoryGrantStore(this.owner.clock, this.owner.hub?.grants);
  }

  loginLimiterStore(): undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}
