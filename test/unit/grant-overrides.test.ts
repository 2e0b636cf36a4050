import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelPolicy } from '../../server/channels/policy';
import { parseChannelRules } from '../../server/channels/rules-file';
import { OverrideTable } from '../../server/grants/override-table';
import type { GrantRecord } from '../../server/grants/record';
import type { GatehouseClaims } from '../../shared';

let now = 1_000_000;
const clock = { now: () => now };
const claims = (c: Partial<GatehouseClaims> = {}): GatehouseClaims => ({ sub: 'alice', exp: 0, channels: ['token:*'], ...c });
const record = (version: number, channels: GrantRecord['channels'], ttl = 60_000): GrantRecord => ({ sub: 'alice', version, channels, expiresAt: now + ttl });

function setup() {
  const expired: string[] = [];
  const table = new OverrideTable(clock, (sub) => expired.push(sub));
  const parsed = parseChannelRules({ anyone: { 'public:*': ['subscribe'] }, authenticated: ['user:{sub}:*'] });
  if ('problems' in parsed) throw new Error(parsed.problems.join());
  const policy = new ChannelPolicy(parsed.rules);
  policy.useOverrides(table);
  return { table, policy, expired };
}

test('an override replaces the token channels; the operator rules still apply beside it', () => {
  const { table, policy } = setup();
  const c = claims();
  assert.ok(policy.matcherFor(c).allows('subscribe', 'token:1'));
  assert.ok(table.apply(record(1, { 'room:{sub}': ['subscribe'] })));
  const m = policy.matcherFor(c);
  assert.not.ok(m.allows('subscribe', 'token:1'));
  assert.ok(m.allows('subscribe', 'room:alice'));
  assert.not.ok(m.allows('publish', 'room:alice'));
  assert.ok(m.allows('subscribe', 'public:news'));
  assert.ok(m.allows('publish', 'user:alice:inbox'));
  // Another user is untouched.
  assert.ok(policy.matcherFor(claims({ sub: 'bob' })).allows('subscribe', 'token:1'));
  // A DELETE returns the user to the token's channels.
  assert.ok(table.apply(record(2, null)));
  assert.ok(policy.matcherFor(c).allows('subscribe', 'token:1'));
});

test('out-of-order and duplicate records never roll a change back', () => {
  const { table, policy } = setup();
  assert.ok(table.apply(record(5, ['five'])));
  assert.not.ok(table.apply(record(5, ['dup'])));
  assert.not.ok(table.apply(record(3, ['three'])));
  assert.not.ok(table.apply(record(4, null)));
  assert.is(table.version('alice'), 5);
  assert.ok(policy.matcherFor(claims()).allows('subscribe', 'five'));
  assert.not.ok(policy.matcherFor(claims()).allows('subscribe', 'three'));
});

test('a token stating grants_version at or above the override ends it for that token only', () => {
  const { table, policy } = setup();
  table.apply(record(7, []));
  assert.not.ok(policy.matcherFor(claims({ grants_version: 6 })).allows('subscribe', 'token:1'));
  assert.ok(policy.matcherFor(claims({ grants_version: 7 })).allows('subscribe', 'token:1'));
  assert.not.ok(policy.matcherFor(claims()).allows('subscribe', 'token:1'));
});

test('an override stops applying at its expiry, and the table reports its user', async () => {
  const { table, policy, expired } = setup();
  table.apply(record(1, [], 150));
  const c = claims();
  assert.not.ok(policy.matcherFor(c).allows('subscribe', 'token:1'));
  now += 200;
  assert.ok(policy.matcherFor(c).allows('subscribe', 'token:1'));
  // The scheduler runs on real timers: give it one bucket.
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(expired, ['alice']);
  assert.is(table.version('alice'), undefined);
  assert.not.ok(table.apply(record(2, ['late'], -1)), 'an expired record is not taken');
  table.close();
});

test.run();
