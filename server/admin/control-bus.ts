import { randomBytes } from 'node:crypto';
import type { PubSubTransport } from '../cluster/transport';
import type { Logger } from '../log';
import type { FeedHealth } from '../redis/feed-liveness';
import { MAX_SUB_LENGTH } from '../../shared';
import { isGrantRecord, type GrantRecord } from '../grants/record';
import { isRevocation, type Revocation } from '../revocation/store';

/** An operator's action every node carries out and acknowledges. */
export type ControlAction =
  | { readonly op: 'revoke'; readonly revocation: Revocation }
  | { readonly op: 'disconnect'; readonly sub: string }
  /** Stored grant changes to apply; the answer counts the sockets of their users. */
  | { readonly op: 'grants'; readonly records: readonly GrantRecord[] };

/**
 * What each node answered, by node id: the sockets it closed (revoke, disconnect) or the sockets of the changed users
 * it holds (grants); and the nodes that did not answer in time.
 */
export interface ControlOutcome {
  readonly closed: Record<string, number>;
  readonly unanswered: string[];
}

interface Request {
  readonly id: string;
  readonly from: string;
  readonly action: ControlAction;
}

interface Reply {
  readonly id: string;
  readonly node: string;
  readonly closed: number;
}

const REQUEST_CHANNEL = 'gatehouse:admin:requests';
const replyChannel = (nodeId: string) => `gatehouse:admin:replies:${nodeId}`;

/**
 * ControlBus sends an operator's action to every node and collects how many sockets each closed. Requests go out on
 * one channel of the nodes' transport (Redis, or a MemoryHub) every node listens to (itself included, so one code
 * path acts everywhere); each node answers on the requester's own reply channel. Without a transport (a node alone)
 * it acts on this node only.
 */
export class ControlBus {
  /** Broadcasts awaiting answers: `done` settles one once every node answered, `finish` at once (close, timeout). */
  private readonly waiting = new Map<string, { replies: Map<string, number>; done: () => void; finish: () => void }>();
  private closed = false;

  constructor(
    private readonly nodeId: string,
    private readonly act: (action: ControlAction) => number,
    private readonly log: Logger,
    private readonly transport?: PubSubTransport,
  ) {}

  /** The bus's subscriber liveness; undefined without a transport. */
  get feed(): FeedHealth | undefined {
    return this.transport?.feed;
  }

  start(): void {
    const transport = this.transport;
    if (!transport) return;
    transport.start({
      message: (name, text) => this.onMessage(name, text),
      up: () => {
        for (const name of [REQUEST_CHANNEL, replyChannel(this.nodeId)]) {
          transport.subscribe(name).catch((err: Error) => this.log.warn({ reason: err.message }, 'admin bus subscribe failed'));
        }
      },
      down: () => this.log.warn('admin bus lost Redis; acknowledgements from other nodes pause'),
      error: (err) => this.log.debug({ reason: err.message }, 'admin bus Redis error'),
    });
  }

  /**
   * Carries out an action on every node in `nodes` (this one included) and waits at most `timeoutMs` for their
   * answers. Nodes that never answer are listed as unanswered.
   */
  async broadcast(action: ControlAction, nodes: readonly string[], timeoutMs: number): Promise<ControlOutcome> {
    if (!this.transport) return { closed: { [this.nodeId]: this.act(action) }, unanswered: [] };
    const request: Request = { id: randomBytes(8).toString('hex'), from: this.nodeId, action };
    const expected = new Set([...nodes, this.nodeId]);
    // A broadcast that starts after close (its caller was still storing the action) waits for no one.
    if (this.closed) return { closed: {}, unanswered: [...expected].sort() };
    const replies = new Map<string, number>();
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((resolve) => {
      this.waiting.set(request.id, {
        replies,
        done: () => {
          if ([...expected].every((n) => replies.has(n))) resolve();
        },
        finish: resolve,
      });
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await this.transport.publish(REQUEST_CHANNEL, JSON.stringify(request));
    } catch (err) {
      // The bus is down: act here at least; the others are unknown.
      this.log.warn({ reason: (err as Error).message }, 'admin bus publish failed; acting on this node only');
      this.waiting.delete(request.id);
      clearTimeout(timer);
      replies.set(this.nodeId, this.act(action));
    }
    await finished;
    clearTimeout(timer);
    this.waiting.delete(request.id);
    return {
      closed: Object.fromEntries([...replies].sort(([a], [b]) => a.localeCompare(b))),
      unanswered: [...expected].filter((n) => !replies.has(n)).sort(),
    };
  }

  private onMessage(name: string, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (name === REQUEST_CHANNEL) this.onRequest(message as Request);
    else if (name === replyChannel(this.nodeId)) this.onReply(message as Reply);
  }

  private onRequest(request: Request): void {
    if (!isRequest(request)) return;
    let closed: number;
    try {
      closed = this.act(request.action);
    } catch (err) {
      this.log.error({ err, op: request.action.op }, 'admin action failed on this node');
      return;
    }
    const reply: Reply = { id: request.id, node: this.nodeId, closed };
    this.transport
      ?.publish(replyChannel(request.from), JSON.stringify(reply))
      .catch((err: Error) => this.log.warn({ reason: err.message }, 'admin reply failed'));
  }

  private onReply(reply: Reply): void {
    const entry = this.waiting.get(reply?.id);
    if (!entry || typeof reply.node !== 'string' || typeof reply.closed !== 'number') return;
    entry.replies.set(reply.node, reply.closed);
    entry.done();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A broadcast still waiting answers now with what it has; the nodes it lacks are listed as unanswered.
    for (const { finish } of this.waiting.values()) finish();
    await this.transport?.close();
  }
}

/** A request as this node sends them; anything else on the channel (junk, another version) is ignored. */
function isRequest(r: Request): boolean {
  if (!r || typeof r.id !== 'string' || typeof r.from !== 'string' || !r.action) return false;
  const a = r.action as { op?: unknown; sub?: unknown; revocation?: unknown; records?: unknown };
  if (a.op === 'grants') return Array.isArray(a.records) && a.records.every(isGrantRecord);
  if (a.op === 'disconnect') return typeof a.sub === 'string' && a.sub.length > 0 && a.sub.length <= MAX_SUB_LENGTH;
  return a.op === 'revoke' && isRevocation(a.revocation);
}
