import { NodeBoard } from '../admin/node-registry';
import type { Clock } from '../clock';
import { MemoryPubSubHub } from '../cluster/memory-pubsub';
import { MemoryPresenceIndex } from '../presence/memory-index';
import { GrantBoard } from '../grants/memory-store';
import { RevocationBoard } from '../revocation/memory-store';

/**
 * MemoryHub joins gateways of one process that keep their state in memory, so a multi-node test runs without a
 * redis-server: their channel messages and admin requests travel through one pub/sub hub, their node registries list
 * each other, their presence members are kept in one index, and a revocation made on one is stored for all and closes sockets on all. The failed-login counts stay
 * per node. Give the same hub to each Gateway (GatewayDeps.hub); the hub holds nothing that needs closing.
 */
export class MemoryHub {
  readonly pubsub = new MemoryPubSubHub();
  readonly nodes = new NodeBoard();
  readonly presence = new MemoryPresenceIndex();
  /** The users' grant records, shared by the hub's nodes. */
  readonly grants = new GrantBoard();
  private board?: RevocationBoard;

  /**
   * The shared revocations, made by the first node that asks, with its clock and clock tolerance (the nodes of one
   * hub are expected to share both, as nodes sharing a Redis share their token rules).
   */
  revocations(clock: Clock, clockToleranceMs: number): RevocationBoard {
    this.board ??= new RevocationBoard(clock, clockToleranceMs);
    return this.board;
  }
}
