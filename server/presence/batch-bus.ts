import type { Logger } from '../log';
import type { FeedHealth } from '../redis/feed-liveness';
import type { PubSubTransport } from '../cluster/transport';
import type { PresenceBatch } from './presence-index';

/** The transport channel every node's batches travel on (outside the client channels' prefix). */
export const PRESENCE_BATCH_CHANNEL = 'gatehouse:presence:batches';

/**
 * BatchBus carries the batches a node's writes made to every other node, where they reach that node's watchers.
 * A node delivers its own batches itself at once and ignores them when they come back. Without a transport (a node
 * alone) it only delivers locally. Order across nodes is restored by `seq` in the fan-out.
 */
export class BatchBus {
  private closed = false;
  /** Whether Redis has confirmed the bus' subscription once, and the publisher was connected once. */
  private heard = false;
  private spoken = false;

  constructor(
    private readonly instanceId: string,
    private readonly deliver: (batch: PresenceBatch) => void,
    private readonly log: Logger,
    private readonly transport?: PubSubTransport,
    private readonly onUp: () => void = () => undefined,
  ) {}

  /** The bus' subscriber liveness; undefined without a transport. */
  get feed(): FeedHealth | undefined {
    return this.transport?.feed;
  }

  /**
   * Why the node must not take connections yet: until it hears the other nodes' batches and can send its own, a
   * join made now would be missed by the others' watchers (or theirs by its own), and no later batch may come to
   * show the gap. Only at start: a bus lost later is the feed's warning, and the next batch's `seq` gap makes the
   * watchers re-read the list.
   */
  notReadyReason(): string | undefined {
    const transport = this.transport;
    if (!transport) return undefined;
    if (!this.heard) return 'presence bus: not subscribed yet';
    this.spoken ||= transport.canPublish;
    return this.spoken ? undefined : 'presence bus: publisher not connected yet';
  }

  start(): void {
    const transport = this.transport;
    if (!transport) return;
    transport.start({
      message: (name, text) => {
        if (name === PRESENCE_BATCH_CHANNEL) this.onMessage(text);
      },
      up: () => {
        transport.subscribe(PRESENCE_BATCH_CHANNEL).then(
          () => {
            this.heard = true;
          },
          (err: Error) => this.log.warn({ reason: err.message }, 'presence bus subscribe failed'),
        );
        this.onUp();
      },
      down: () => this.log.warn('presence bus lost Redis; presence events from other nodes pause'),
      error: (err) => this.log.debug({ reason: err.message }, 'presence bus Redis error'),
    });
  }

  publish(batch: PresenceBatch): void {
    this.deliver(batch);
    if (!this.transport || this.closed) return;
    this.transport
      .publish(PRESENCE_BATCH_CHANNEL, `${this.instanceId} ${JSON.stringify(batch)}`)
      .catch((err: Error) => this.log.warn({ reason: err.message, channel: batch.channel, seq: batch.seq }, 'presence batch not sent to the other nodes'));
  }

  /** `<instance> <batch JSON>`: a node's own batches are known by the prefix and dropped unparsed. */
  private onMessage(text: string): void {
    const space = text.indexOf(' ');
    if (space < 0 || text.slice(0, space) === this.instanceId) return;
    let batch: PresenceBatch | undefined;
    try {
      batch = JSON.parse(text.slice(space + 1)) as PresenceBatch;
    } catch {
      return;
    }
    if (isBatch(batch)) this.deliver(batch);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport?.close();
  }
}

function isBatch(b: PresenceBatch | undefined): b is PresenceBatch {
  return (
    b !== undefined
    && b !== null
    && typeof b.channel === 'string'
    && Number.isInteger(b.seq)
    && Number.isInteger(b.count)
    && Array.isArray(b.joins)
    && Array.isArray(b.leaves)
    && Array.isArray(b.updates)
  );
}
