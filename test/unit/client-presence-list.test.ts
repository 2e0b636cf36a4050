// The client's presence list against an in-memory stand-in for one channel of the gateway: paging, replay of batches
// that arrive during a snapshot, gap detection, reconnects, occupancy mode and refusals. The same list against a real
// gateway is in test/integration/client-presence.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PresenceList, type PresenceEvents, type PresencePort } from '../../client/presence';
import type { Subscription } from '../../client/subscription';
import {
  PRESENCE_PAGE_LIMIT,
  type PresenceChanges,
  type PresenceEvent,
  type PresenceMember,
  type PresenceRequest,
  type PresenceSnapshot,
} from '../../shared/presence';

/** One presence channel as the gateway keeps it, with the hooks a test needs to drop, delay and refuse. */
class Channel {
  readonly name = 'room:1';
  members = new Map<string, PresenceMember>();
  seq = 0;
  fetches: PresenceRequest[] = [];
  /** While set, snapshot reads wait for it. */
  hold?: Promise<void>;
  refuse?: Error;
  private readonly handlers = {
    event: new Set<(e: PresenceEvent) => void>(),
    subscribed: new Set<() => void>(),
    suspended: new Set<(gone: boolean) => void>(),
    renewed: new Set<() => void>(),
  };
  private settle!: (err: Error | undefined) => void;
  readonly subscription: Subscription;
  unsubscribed = false;

  constructor() {
    const ended = new Promise<Error | undefined>((resolve) => {
      this.settle = resolve;
    });
    this.subscription = {
      channel: this.name,
      ready: Promise.resolve(),
      ended,
      unsubscribe: () => {
        this.unsubscribed = true;
        this.settle(undefined);
      },
      async *[Symbol.asyncIterator]() {},
    };
  }

  port(): PresencePort {
    const add =
      <T>(set: Set<T>) =>
      (handler: T) => {
        set.add(handler);
        return () => void set.delete(handler);
      };
    return {
      subscription: this.subscription,
      onEvent: add(this.handlers.event),
      onSubscribed: add(this.handlers.subscribed),
      onSuspended: add(this.handlers.suspended),
      onRenewed: add(this.handlers.renewed),
      fetch: (request) => this.fetch(request),
    };
  }

  async fetch(request: PresenceRequest): Promise<PresenceSnapshot> {
    this.fetches.push(request);
    const refuse = this.refuse;
    const seq = this.seq;
    const all = [...this.members.values()].sort((a, b) => (a.sub < b.sub ? -1 : 1));
    const start = request.cursor ? all.findIndex((m) => m.sub > request.cursor!) : 0;
    const limit = request.limit ?? PRESENCE_PAGE_LIMIT;
    const members = start < 0 ? [] : all.slice(start, start + limit);
    const more = start >= 0 && start + limit < all.length;
    // Read now, answered when the test lets it: batches made meanwhile are not in it.
    await this.hold;
    if (refuse) throw refuse;
    return { channel: this.name, seq, count: all.length, members, ...(more ? { cursor: members[members.length - 1].sub } : {}) };
  }

  /** Makes one batch of changes; delivers it unless `deliver` is false (a dropped event). */
  change(batch: Partial<Pick<PresenceChanges, 'joins' | 'leaves' | 'updates'>>, deliver = true): PresenceChanges {
    const event: PresenceChanges = { channel: this.name, seq: ++this.seq, joins: batch.joins ?? [], leaves: batch.leaves ?? [], updates: batch.updates ?? [] };
    for (const { sub } of event.leaves) this.members.delete(sub);
    for (const m of [...event.joins, ...event.updates]) this.members.set(m.sub, { ...m, connections: 1 });
    if (deliver) this.deliver(event);
    return event;
  }

  deliver(event: PresenceEvent): void {
    for (const handler of [...this.handlers.event]) handler(event);
  }

  subscribed(): void {
    for (const handler of [...this.handlers.subscribed]) handler();
  }

  renewed(): void {
    for (const handler of [...this.handlers.renewed]) handler();
  }

  suspended(gone = false): void {
    for (const handler of [...this.handlers.suspended]) handler(gone);
  }

  kick(err: Error): void {
    this.settle(err);
  }
}

type Seen = { [K in 'join' | 'leave' | 'update' | 'sync' | 'occupancy' | 'error']?: PresenceEvents[K][] };

/** Records a list's events by name. */
function record(list: PresenceList): Seen {
  const seen: Seen = {};
  list.on('join', (e) => void (seen.join ??= []).push(e));
  list.on('leave', (e) => void (seen.leave ??= []).push(e));
  list.on('update', (e) => void (seen.update ??= []).push(e));
  list.on('sync', (e) => void (seen.sync ??= []).push(e));
  list.on('occupancy', (e) => void (seen.occupancy ??= []).push(e));
  list.on('error', (e) => void (seen.error ??= []).push(e));
  return seen;
}

const subs = (list: PresenceList) => list.list.map((m) => m.sub).sort();

async function waitFor(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function started(channel = new Channel()) {
  const list = new PresenceList(channel.name, channel.port());
  const seen = record(list);
  channel.subscribed();
  return { channel, list, seen };
}

test('the first snapshot is read page by page, however large the channel', async () => {
  const channel = new Channel();
  for (let i = 0; i < 2500; i++) channel.members.set(`u${String(i).padStart(4, '0')}`, { sub: `u${String(i).padStart(4, '0')}`, connections: 1 });
  channel.seq = 40;
  const { list, seen } = started(channel);
  await list.ready;
  assert.is(channel.fetches.length, 3);
  assert.is(list.count, 2500);
  assert.is(list.seq, 40);
  assert.ok(list.synced);
  assert.is(seen.sync?.[0].cause, 'initial');
  assert.is(seen.sync?.[0].joined.length, 2500);
  list.close();
});

test('batches join, leave and update members, with the leave reason', async () => {
  const { channel, list, seen } = started();
  await list.ready;
  channel.change({ joins: [{ sub: 'ann', info: { name: 'Ann' } }, { sub: 'bo' }] });
  channel.change({ leaves: [{ sub: 'bo', reason: 'node-lost' }], updates: [{ sub: 'ann', info: { name: 'Annie' } }] });
  assert.equal(list.list, [{ sub: 'ann', info: { name: 'Annie' } }]);
  assert.equal(
    seen.join?.map((j) => j.member.sub),
    ['ann', 'bo'],
  );
  assert.equal(seen.leave, [{ member: { sub: 'bo' }, reason: 'node-lost' }]);
  assert.equal(seen.update, [{ member: { sub: 'ann', info: { name: 'Annie' } }, previous: { sub: 'ann', info: { name: 'Ann' } } }]);
  assert.is(list.seq, 2);
  list.close();
});

test('a dropped batch is noticed by the next seq and the list is loaded again, the dropped change included', async () => {
  const { channel, list, seen } = started();
  await list.ready;
  channel.change({ joins: [{ sub: 'a' }] });
  channel.change({ joins: [{ sub: 'b' }] }, false);
  channel.change({ leaves: [{ sub: 'a', reason: 'unsubscribed' }] });
  await waitFor('the resync', () => (seen.sync?.length ?? 0) === 2 && list.synced);
  assert.is(seen.sync?.[1].cause, 'gap');
  assert.equal(subs(list), ['b']);
  assert.is(list.seq, 3);
  assert.equal(seen.sync?.[1].joined, [{ sub: 'b' }]);
  assert.equal(seen.sync?.[1].left, [{ sub: 'a' }]);
  list.close();
});

test('batches that cross on the way (from two nodes) are put back in order, with no resync', async () => {
  const { channel, list, seen } = started();
  await list.ready;
  const first = channel.change({ joins: [{ sub: 'a' }] }, false);
  const second = channel.change({ leaves: [{ sub: 'a', reason: 'disconnected' }], joins: [{ sub: 'b' }] }, false);
  const third = channel.change({ joins: [{ sub: 'c' }] }, false);
  channel.deliver(third);
  channel.deliver(second);
  assert.equal(subs(list), [], 'held back until the missing batch comes');
  channel.deliver(first);
  assert.equal(subs(list), ['b', 'c']);
  assert.is(list.seq, 3);
  assert.equal(
    seen.join?.map((j) => j.member.sub),
    ['a', 'b', 'c'],
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.is(seen.sync?.length, 1);
  list.close();
});

test('batches that arrive while the snapshot is read are replayed on it; those it contains change nothing', async () => {
  const channel = new Channel();
  const first = channel.change({ joins: [{ sub: 'a' }] });
  let release!: () => void;
  channel.hold = new Promise((resolve) => {
    release = resolve;
  });
  const { list, seen } = started(channel);
  await waitFor('the snapshot read', () => channel.fetches.length === 1);
  channel.deliver(first);
  channel.change({ joins: [{ sub: 'b' }] });
  assert.not.ok(list.synced);
  release();
  await list.ready;
  await waitFor('the replay', () => list.seq === 2 && list.synced);
  assert.equal(subs(list), ['a', 'b']);
  assert.equal(
    seen.join?.map((j) => j.member.sub),
    ['b'],
  );
  channel.change({ joins: [{ sub: 'd' }] });
  assert.equal(subs(list), ['a', 'b', 'd']);
  assert.is(seen.sync?.length, 1);
  list.close();
});

test('a repeated or old batch is ignored', async () => {
  const { channel, list, seen } = started();
  await list.ready;
  const batch = channel.change({ joins: [{ sub: 'a' }] });
  channel.deliver(batch);
  channel.deliver({ ...batch, seq: 0, joins: [{ sub: 'ghost' }] });
  assert.equal(subs(list), ['a']);
  assert.is(seen.join?.length, 1);
  assert.is(seen.sync?.length, 1);
  list.close();
});

test('after a reconnect the list is loaded again, and what changed while away is reported by the sync', async () => {
  const { channel, list, seen } = started();
  await list.ready;
  channel.change({ joins: [{ sub: 'a' }, { sub: 'b' }] });
  channel.suspended();
  assert.not.ok(list.synced);
  channel.change({ leaves: [{ sub: 'a', reason: 'disconnected' }], joins: [{ sub: 'c' }] });
  // Sent while the socket was away: never applied.
  assert.equal(subs(list), ['a', 'b']);
  channel.subscribed();
  await waitFor('the resync', () => (seen.sync?.length ?? 0) === 2 && list.synced);
  assert.is(seen.sync?.[1].cause, 'reconnect');
  assert.equal(subs(list), ['b', 'c']);
  assert.equal(seen.sync?.[1].left, [{ sub: 'a' }]);
  assert.equal(seen.sync?.[1].joined, [{ sub: 'c' }]);
  assert.is(seen.leave, undefined);
  list.close();
});

test('occupancy mode keeps the count; when member batches resume the list is loaded whole again', async () => {
  const { channel, list, seen } = started();
  await list.ready;
  channel.change({ joins: [{ sub: 'a' }] });
  channel.seq += 40;
  channel.deliver({ channel: channel.name, seq: channel.seq, count: 1500 });
  assert.is(list.mode, 'occupancy');
  assert.is(list.count, 1500);
  assert.equal(list.list, []);
  channel.seq += 30;
  channel.deliver({ channel: channel.name, seq: channel.seq, count: 1400 });
  assert.equal(seen.occupancy, [{ count: 1500 }, { count: 1400 }]);
  assert.is(seen.sync?.length, 1, 'no resync for the seq jumps between counts');
  channel.members = new Map([['z', { sub: 'z', connections: 2 }]]);
  channel.change({ joins: [{ sub: 'y' }] });
  await waitFor('the resync', () => (seen.sync?.length ?? 0) === 2 && list.synced);
  assert.is(seen.sync?.[1].cause, 'members-mode');
  assert.is(list.mode, 'members');
  assert.equal(subs(list), ['y', 'z']);
  list.close();
});

test('a refused snapshot ends the list with the refusal; a kick-out ends it too', async () => {
  const refusal = Object.assign(new Error('no presence capability'), { name: 'PresenceForbiddenError' });
  const channel = new Channel();
  channel.refuse = refusal;
  const { list } = started(channel);
  const err = await list.ready.then(
    () => undefined,
    (e: Error) => e,
  );
  assert.is(err?.name, 'PresenceForbiddenError');
  assert.is(await list.ended, refusal);
  assert.ok(channel.unsubscribed, 'the subscription is given up with the list');

  const kicked = started();
  await kicked.list.ready;
  kicked.channel.kick(Object.assign(new Error('kicked'), { name: 'SubscribeForbiddenError' }));
  assert.is((await kicked.list.ended)?.name, 'SubscribeForbiddenError');
});

test('after a token change the list checks it may still see members, and ends with the refusal when not', async () => {
  const { channel, list } = started();
  await list.ready;
  channel.renewed();
  await waitFor('the check', () => channel.fetches.length === 2);
  assert.equal(channel.fetches[1], { channel: channel.name, limit: 1 });
  channel.refuse = Object.assign(new Error('no presence capability'), { name: 'PresenceForbiddenError' });
  channel.renewed();
  assert.is((await list.ended)?.name, 'PresenceForbiddenError');
});

test('a subscription gone for good (unsubscribed by another holder of the channel) ends the list', async () => {
  const { channel, list } = started();
  await list.ready;
  channel.suspended(true);
  assert.is(await list.ended, undefined);
});

test('a snapshot that timed out is tried again', async () => {
  const channel = new Channel();
  channel.refuse = Object.assign(new Error('no answer'), { name: 'TimeoutError' });
  const { list, seen } = started(channel);
  await waitFor('the first try', () => channel.fetches.length === 1);
  channel.refuse = undefined;
  await list.ready;
  assert.is(seen.error?.[0].name, 'TimeoutError');
  assert.ok(channel.fetches.length >= 2);
  list.close();
});

test('close() stops the list: no events after it, the subscription is given up', async () => {
  const { channel, list, seen } = started();
  await list.ready;
  list.close();
  channel.change({ joins: [{ sub: 'a' }] });
  assert.is(seen.join, undefined);
  assert.ok(channel.unsubscribed);
  assert.is(await list.ended, undefined);
});

test.run();
