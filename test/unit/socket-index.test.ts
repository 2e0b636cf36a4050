import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { GatehouseClaims } from '../../shared';
import { LiveSocketIndex } from '../../server/revocation/socket-index';
import type { ServerSocket } from '../../server/sc/facade';

const socket = (name: string) => ({ name }) as unknown as ServerSocket;
const claims = (sub: string, sid: string, jti: string) => ({ sub, sid, jti, exp: 2e9 }) as GatehouseClaims;
const found = (index: LiveSocketIndex, kind: 'jti' | 'sid' | 'sub', id: string) =>
  index
    .find({ kind, id })
    .map(([s]) => (s as unknown as { name: string }).name)
    .sort();

test('finds a socket by each of its ids, and forgets it on delete', () => {
  const index = new LiveSocketIndex();
  const a = socket('a');
  index.set(a, claims('alice', 's1', 'j1'));
  assert.equal(found(index, 'sub', 'alice'), ['a']);
  assert.equal(found(index, 'sid', 's1'), ['a']);
  assert.equal(found(index, 'jti', 'j1'), ['a']);
  index.delete(a);
  assert.equal(found(index, 'sub', 'alice'), []);
  assert.equal(found(index, 'sid', 's1'), []);
  assert.is(index.size, 0);
});

test('several sockets sharing an id are all found, and each leaves on its own', () => {
  const index = new LiveSocketIndex();
  const [a, b, c] = [socket('a'), socket('b'), socket('c')];
  index.set(a, claims('alice', 's1', 'j1'));
  index.set(b, claims('alice', 's1', 'j2'));
  index.set(c, claims('alice', 's2', 'j3'));
  assert.equal(found(index, 'sub', 'alice'), ['a', 'b', 'c']);
  assert.equal(found(index, 'sid', 's1'), ['a', 'b']);
  index.delete(b);
  assert.equal(found(index, 'sub', 'alice'), ['a', 'c']);
  assert.equal(found(index, 'sid', 's1'), ['a']);
  index.delete(a);
  assert.equal(found(index, 'sid', 's1'), []);
  assert.equal(found(index, 'sub', 'alice'), ['c']);
  // Back to two, then one again: the same socket set twice is one socket.
  index.set(a, claims('alice', 's2', 'j4'));
  index.set(a, claims('alice', 's2', 'j4'));
  assert.equal(found(index, 'sid', 's2'), ['a', 'c']);
  index.delete(c);
  index.delete(a);
  assert.equal(found(index, 'sub', 'alice'), []);
  assert.is(index.size, 0);
});

test('new claims replace the old ids of a socket', () => {
  const index = new LiveSocketIndex();
  const a = socket('a');
  index.set(a, claims('alice', 's1', 'j1'));
  index.set(a, claims('bob', 's9', 'j9'));
  assert.equal(found(index, 'sub', 'alice'), []);
  assert.equal(found(index, 'jti', 'j1'), []);
  assert.equal(found(index, 'sub', 'bob'), ['a']);
  assert.is(index.claimsOf(a)?.sub, 'bob');
});

test('find returns a snapshot that stays whole while the index changes', () => {
  const index = new LiveSocketIndex();
  const [a, b] = [socket('a'), socket('b')];
  index.set(a, claims('alice', 's1', 'j1'));
  index.set(b, claims('alice', 's2', 'j2'));
  const hits = index.find({ kind: 'sub', id: 'alice' });
  for (const [s] of hits) index.delete(s);
  assert.is(hits.length, 2);
  assert.is(index.size, 0);
});

test.run();
