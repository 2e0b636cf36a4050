import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseChannelRules } from '../../server/channels/rules-file';
import { PresenceFanOut, GAP_WAIT_MS } from '../../server/presence/fan-out';
import { LocalMembers } from '../../server/presence/local-members';
import { memberInfoOf } from '../../server/presence/member-info';
import { PresenceChannels } from '../../server/presence/presence-channels';
import type { EntryChange, PresenceBatch } from '../../server/presence/presence-index';
import { compileClaimGrants } from '../../shared/channel-pattern';
import type { GatehouseClaims, PresenceEvent } from '../../shared';

function recorder() {
  const changes: string[] = [];
  return {
    changes,
    sink: {
      change: (channel: string, c: EntryChange) =>
        changes.push(`${channel} ${c.sub}=${c.connections}${c.reason ? ` ${c.reason}` : ''}${c.info ? ` ${c.info}` : ''}`),
      anonymous: (channel: string, n: number) => changes.push(`${channel} anonymous=${n}`),
    },
  };
}

test('presence channels: the listed patterns, {sub} standing for any one segment', () => {
  const channels = new PresenceChannels(['room:*', 'lobby', 'user:{sub}:desk']);
  for (const yes of ['room:1', 'room:', 'lobby', 'user:alice:desk']) assert.ok(channels.has(yes), yes);
  for (const no of ['lobby2', 'rooms', 'user:a:b:desk', 'user::desk', 'user:alice:desk2']) assert.not.ok(channels.has(no), no);
  assert.ok(channels.enabled);
  assert.not.ok(new PresenceChannels([]).enabled);
});

test('the rules file reads a presence section and reports its bad entries', () => {
  const read = parseChannelRules({ presence: ['room:*', 'doc:{sub}'] });
  assert.ok('rules' in read && read.rules.presence.length === 2);
  const bad = parseChannelRules({ presence: ['ok', 'user:{sub}x', 7] });
  assert.ok('problems' in bad);
  assert.equal(
    bad.problems.map((p) => p.split(':')[0]),
    ['presence[1]', 'presence[2]'],
  );
  assert.ok('problems' in parseChannelRules({ presence: 'room:*' }));
});

test('the presence capability: granted by the array form, named in the map form, never implied by subscribe', () => {
  assert.ok(compileClaimGrants(['room:*']).allows('presence', 'room:1'));
  assert.ok(compileClaimGrants({ 'room:*': ['subscribe', 'presence'] }).allows('presence', 'room:1'));
  assert.not.ok(compileClaimGrants({ 'room:*': ['subscribe'] }).allows('presence', 'room:1'));
  assert.not.ok(compileClaimGrants({ 'room:*': ['presence'] }).allows('subscribe', 'room:1'));
});

test('member info: a JSON object of at most 1 KiB from the verified claims, else nothing', () => {
  const claims = (info: unknown) => ({ sub: 's', exp: 0, info }) as GatehouseClaims;
  assert.is(memberInfoOf(claims({ name: 'A' })), '{"name":"A"}');
  assert.is(memberInfoOf(claims(['a'])), undefined);
  assert.is(memberInfoOf(claims('text')), undefined);
  assert.is(memberInfoOf(claims(null)), undefined);
  assert.is(memberInfoOf(claims({ big: 'é'.repeat(600) })), undefined, 'counted in UTF-8 bytes');
});

test('local members: a user is one member, counted per connection; the last one going reports 0 with its reason', () => {
  const { changes, sink } = recorder();
  const local = new LocalMembers<object>(sink, 0);
  const [t1, t2, anon] = [{}, {}, {}];
  local.subscribed(t1, 'c', { sub: 'alice', info: '{"n":1}' });
  local.subscribed(t2, 'c', { sub: 'alice', info: '{"n":1}' });
  local.subscribed(anon, 'c', undefined);
  local.closed(t1);
  local.unsubscribed(t2, 'c', 'unsubscribed');
  local.unsubscribed(t2, 'c', 'unsubscribed');
  assert.equal(changes, ['c alice=1 {"n":1}', 'c alice=2 {"n":1}', 'c anonymous=1', 'c alice=1 {"n":1}', 'c alice=0 unsubscribed']);
  assert.equal([...(local.socketsOf('c') ?? [])], [anon]);
});

test('local members: identity changes move a socket between member and anonymous with the reason', () => {
  const { changes, sink } = recorder();
  const local = new LocalMembers<object>(sink, 0);
  const s = {};
  local.subscribed(s, 'c', undefined);
  local.reidentified(s, { sub: 'bob' }, 'deauthenticated');
  local.reidentified(s, { sub: 'bob', info: '{"v":2}' }, 'deauthenticated');
  local.reidentified(s, undefined, 'revoked');
  assert.equal(changes, ['c anonymous=1', 'c anonymous=0', 'c bob=1', 'c bob=1 {"v":2}', 'c bob=0 revoked', 'c anonymous=1']);
});

test('local members: a disconnected user is held for the grace; coming back within it reports no leave', async () => {
  const { changes, sink } = recorder();
  const local = new LocalMembers<object>(sink, 80);
  const [first, second] = [{}, {}];
  local.subscribed(first, 'c', { sub: 'carol' });
  local.closed(first);
  local.subscribed(second, 'c', { sub: 'carol' });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(changes, ['c carol=1', 'c carol=1']);
  local.closed(second);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(changes.slice(2), ['c carol=0 disconnected']);
  assert.is(local.socketsOf('c'), undefined, 'the channel is forgotten');
});

function batch(seq: number, extra: Partial<PresenceBatch> = {}): PresenceBatch {
  return { channel: 'c', seq, joins: [{ sub: `u${seq}` }], leaves: [], updates: [], count: seq, ...extra };
}

function fanOut(maxMembers = 100) {
  const sent: PresenceEvent[] = [];
  const watchers = new Set(['w']);
  const fan = new PresenceFanOut<string>({ socketsOf: () => watchers, canWatch: (s) => s === 'w', send: (_s, e) => sent.push(e) }, maxMembers);
  return { sent, fan };
}

test('fan-out: batches go out in seq order; one arriving early waits for the missing one', () => {
  const { sent, fan } = fanOut();
  fan.deliver(batch(1));
  fan.deliver(batch(3));
  fan.deliver(batch(2));
  fan.deliver(batch(2));
  assert.equal(
    sent.map((e) => e.seq),
    [1, 2, 3],
  );
  fan.close();
});

test('fan-out: a batch that never comes is skipped after a short wait (the watcher sees the gap)', async () => {
  const { sent, fan } = fanOut();
  fan.deliver(batch(1));
  fan.deliver(batch(3));
  assert.equal(
    sent.map((e) => e.seq),
    [1],
  );
  await new Promise((r) => setTimeout(r, GAP_WAIT_MS + 50));
  assert.equal(
    sent.map((e) => e.seq),
    [1, 3],
  );
  fan.deliver(batch(9, { joins: [], reset: true, count: 3 }));
  assert.is(sent[2].seq, 9, 'a reset goes out whatever came before');
  fan.close();
});

test('fan-out: past the member limit, counts only, at most one a second, the latest', async () => {
  const { sent, fan } = fanOut(2);
  fan.deliver(batch(1));
  fan.deliver(batch(2));
  fan.deliver(batch(3));
  fan.deliver(batch(4));
  fan.deliver(batch(5));
  assert.equal(sent.slice(2), [{ channel: 'c', seq: 3, count: 3 }]);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(sent.slice(3), [{ channel: 'c', seq: 5, count: 5 }]);
  fan.close();
});

test.run();
