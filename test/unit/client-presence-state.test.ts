import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyChanges, differenceOf, membersOfPages, seqVerdict, type LiveMember } from '../../client/presence-state';

const list = (...members: LiveMember[]) => new Map(members.map((m) => [m.sub, m]));
const none = { joins: [], leaves: [], updates: [] };

test('seq: the next batch applies, an old or repeated one is stale, a skipped one is a gap', () => {
  assert.is(seqVerdict(4, 5), 'apply');
  assert.is(seqVerdict(4, 4), 'stale');
  assert.is(seqVerdict(4, 2), 'stale');
  assert.is(seqVerdict(4, 6), 'gap');
  assert.is(seqVerdict(-1, 0), 'apply');
});

test('a batch applies leaves, then joins, then updates, and reports only real changes', () => {
  const members = list({ sub: 'a' }, { sub: 'b', info: { name: 'B' } });
  const applied = applyChanges(members, {
    leaves: [
      { sub: 'a', reason: 'disconnected' },
      { sub: 'zz', reason: 'expired' },
    ],
    joins: [
      { sub: 'c', info: { name: 'C' } },
      { sub: 'b', info: { name: 'B' } },
    ],
    updates: [{ sub: 'b', info: { name: 'Bee' } }],
  });
  assert.equal([...members.keys()], ['b', 'c']);
  assert.equal(members.get('b'), { sub: 'b', info: { name: 'Bee' } });
  assert.equal(applied.leaves, [{ sub: 'a', reason: 'disconnected', member: { sub: 'a' } }]);
  assert.equal(applied.joins, [{ sub: 'c', info: { name: 'C' } }]);
  assert.equal(applied.updates, [{ member: { sub: 'b', info: { name: 'Bee' } }, previous: { sub: 'b', info: { name: 'B' } } }]);
});

test('a user who left and came back within one batch ends present', () => {
  const members = list({ sub: 'a' });
  const applied = applyChanges(members, { ...none, leaves: [{ sub: 'a', reason: 'disconnected' }], joins: [{ sub: 'a' }] });
  assert.ok(members.has('a'));
  assert.is(applied.leaves.length, 1);
  assert.is(applied.joins.length, 1);
});

test('applying a batch twice changes nothing the second time', () => {
  const members = list({ sub: 'a' });
  const batch = { leaves: [{ sub: 'a', reason: 'revoked' as const }], joins: [{ sub: 'b' }], updates: [] };
  applyChanges(members, batch);
  const again = applyChanges(members, batch);
  assert.equal(again, { joins: [], leaves: [], updates: [] });
  assert.equal([...members.keys()], ['b']);
});

test('an update of a member not in the list adds it; an update to the same info is no change', () => {
  const members = list({ sub: 'a', info: { x: 1 } });
  const applied = applyChanges(members, { ...none, updates: [{ sub: 'a', info: { x: 1 } }, { sub: 'n' }] });
  assert.equal(applied.updates, []);
  assert.equal(applied.joins, [{ sub: 'n' }]);
});

test('pages of a snapshot make one list; a member on two pages (it moved) is one member', () => {
  const page = (members: { sub: string; info?: Record<string, unknown> }[], seq: number) => ({
    channel: 'c',
    seq,
    count: 3,
    members: members.map((m) => ({ ...m, connections: 1 })),
  });
  const members = membersOfPages([page([{ sub: 'a' }, { sub: 'b' }], 7), page([{ sub: 'b', info: { n: 2 } }, { sub: 'c' }], 8)]);
  assert.equal([...members.values()], [{ sub: 'a' }, { sub: 'b', info: { n: 2 } }, { sub: 'c' }]);
});

test('the difference between two lists: who joined, left and changed', () => {
  const before = list({ sub: 'a' }, { sub: 'b', info: { v: 1 } }, { sub: 'c' });
  const after = list({ sub: 'b', info: { v: 2 } }, { sub: 'c' }, { sub: 'd' });
  assert.equal(differenceOf(before, after), { joined: [{ sub: 'd' }], left: [{ sub: 'a' }], updated: [{ sub: 'b', info: { v: 2 } }] });
});

test.run();
