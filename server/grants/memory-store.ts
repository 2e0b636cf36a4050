import type { Clock } from '../clock';
import type { GrantRecord } from './record';
import type { GrantStore, PutOutcome } from './store';

/** The records of the nodes of one process (a MemoryHub holds one), each kept until its deadline. */
export class GrantBoard {
  readonly records = new Map<string, { readonly record: GrantRecord; readonly keepUntil: number }>();
}

/**
 * MemoryGrantStore keeps grant records in this process: the embedded default for a node alone, or shared by the nodes
 * given one MemoryHub. A record past its `keepUntil` is dropped when next read.
 */
export class MemoryGrantStore implements GrantStore {
  readonly shared: boolean;
  private readonly board: GrantBoard;

  /** `board`: the records of the nodes of one process (a MemoryHub's); without one, this node's own. */
  constructor(
    private readonly clock: Clock,
    board?: GrantBoard,
  ) {
    this.shared = board !== undefined;
    this.board = board ?? new GrantBoard();
  }

  put(records: readonly GrantRecord[], keepUntil: (record: GrantRecord) => number): Promise<PutOutcome[]> {
    return Promise.resolve(
      records.map((record): PutOutcome => {
        const current = this.read(record.sub);
        if (current && current.version >= record.version) return { stored: false, current: current.version };
        this.board.records.set(record.sub, { record, keepUntil: Math.max(record.expiresAt, keepUntil(record)) });
        return { stored: true };
      }),
    );
  }

  get(subs: readonly string[]): Promise<(GrantRecord | undefined)[]> {
    return Promise.resolve(subs.map((sub) => this.read(sub)));
  }

  all(): Promise<GrantRecord[]> {
    return Promise.resolve([...this.board.records.keys()].flatMap((sub) => this.read(sub) ?? []));
  }

  onReconnect(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }

  private read(sub: string): GrantRecord | undefined {
    const held = this.board.records.get(sub);
    if (!held) return undefined;
    if (held.keepUntil <= this.clock.now()) {
      this.board.records.delete(sub);
      return undefined;
    }
    return held.record;
  }
}
