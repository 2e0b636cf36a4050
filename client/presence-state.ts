import type { PresenceChanges, PresenceJoin, PresenceLeave, PresenceMember, PresenceSnapshot } from '../shared/presence';

/**
 * A member as the live list knows it. The events say when a user arrives and goes, not how many sockets it holds
 * (a second tab is no change others see), so the live list carries no connection count: the snapshot has it.
 */
export interface LiveMember {
  readonly sub: string;
  readonly info?: Record<string, unknown>;
}

/** What to do with an event, given the `seq` the list has reached. */
export type SeqVerdict = 'apply' | 'stale' | 'gap';

/**
 * `apply` when the event is the next batch, `stale` when the list already contains it (a snapshot taken after it, or a
 * duplicate), `gap` when a batch in between is missing: the list is wrong until a fresh snapshot replaces it.
 */
export function seqVerdict(current: number, incoming: number): SeqVerdict {
  if (incoming <= current) return 'stale';
  return incoming === current + 1 ? 'apply' : 'gap';
}

/** What a batch changed in the list: only real changes (a join of a member already there is an update, or nothing). */
export interface AppliedChanges {
  readonly joins: readonly LiveMember[];
  readonly leaves: readonly (PresenceLeave & { readonly member: LiveMember })[];
  readonly updates: readonly { readonly member: LiveMember; readonly previous: LiveMember }[];
}

function liveMember({ sub, info }: PresenceJoin | PresenceMember): LiveMember {
  return info === undefined ? { sub } : { sub, info };
}

function sameInfo(a: LiveMember, b: LiveMember): boolean {
  return JSON.stringify(a.info) === JSON.stringify(b.info);
}

/**
 * Applies one batch to `members` in place: leaves, then joins, then updates, so a user who left and came back within
 * one batch ends present. Idempotent: applying a batch twice changes nothing the second time, which is what lets a
 * resync replay the batches that arrived while its pages were read.
 */
export function applyChanges(members: Map<string, LiveMember>, changes: Pick<PresenceChanges, 'joins' | 'leaves' | 'updates'>): AppliedChanges {
  const joins: LiveMember[] = [];
  const leaves: (PresenceLeave & { member: LiveMember })[] = [];
  const updates: { member: LiveMember; previous: LiveMember }[] = [];
  for (const leave of changes.leaves) {
    const member = members.get(leave.sub);
    if (!member) continue;
    members.delete(leave.sub);
    leaves.push({ sub: leave.sub, reason: leave.reason, member });
  }
  for (const change of [...changes.joins, ...changes.updates]) {
    const member = liveMember(change);
    const previous = members.get(member.sub);
    members.set(member.sub, member);
    if (!previous) joins.push(member);
    else if (!sameInfo(previous, member)) updates.push({ member, previous });
  }
  return { joins, leaves, updates };
}

/**
 * The list a paged snapshot describes, at the first page's `seq`: the union of the pages. Pages read later may already
 * contain batches after that `seq`; replaying those batches (idempotent) makes the union exact.
 */
export function membersOfPages(pages: readonly PresenceSnapshot[]): Map<string, LiveMember> {
  const members = new Map<string, LiveMember>();
  for (const page of pages) for (const member of page.members) members.set(member.sub, liveMember(member));
  return members;
}

/** How a resync changed the list, for an app that renders from events rather than from the list. */
export interface ListDifference {
  readonly joined: readonly LiveMember[];
  readonly left: readonly LiveMember[];
  readonly updated: readonly LiveMember[];
}

export function differenceOf(before: ReadonlyMap<string, LiveMember>, after: ReadonlyMap<string, LiveMember>): ListDifference {
  const joined: LiveMember[] = [];
  const left: LiveMember[] = [];
  const updated: LiveMember[] = [];
  for (const [sub, member] of after) {
    const old = before.get(sub);
    if (!old) joined.push(member);
    else if (!sameInfo(old, member)) updated.push(member);
  }
  for (const [sub, member] of before) if (!after.has(sub)) left.push(member);
  return { joined, left, updated };
}
