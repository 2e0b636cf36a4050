import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  anyOf,
  channelNameProblem,
  compileClaimGrants,
  compileGrants,
  DENY_ALL,
  MAX_CHANNEL_NAME_LENGTH,
  patternProblem,
  readGrants,
  type ChannelMatcher,
} from '../../shared/channel-pattern';

const sub = (m: ChannelMatcher, ch: string) => m.allows('subscribe', ch);
const pub = (m: ChannelMatcher, ch: string) => m.allows('publish', ch);

test('exact name: only that name', () => {
  const m = compileClaimGrants(['news']);
  assert.ok(sub(m, 'news'));
  assert.ok(pub(m, 'news'));
  for (const other of ['new', 'newsy', 'News', ' news', 'news ', 'x']) assert.not.ok(sub(m, other), other);
});

test('prefix: everything starting with it, and nothing else', () => {
  const m = compileClaimGrants(['chat:*']);
  for (const ch of ['chat:', 'chat:general', 'chat:a:b', 'chat:*']) assert.ok(sub(m, ch), ch);
  for (const ch of ['chat', 'cha', 'Chat:x', 'xchat:y', '']) assert.not.ok(sub(m, ch), ch);
});

test('* alone is every channel', () => {
  const m = compileClaimGrants(['*']);
  for (const ch of ['a', 'chat:x', '*', 'ü', 'x'.repeat(300)]) assert.ok(pub(m, ch), ch);
});

test('a * that does not end the pattern is a literal character', () => {
  const m = compileClaimGrants(['a*b', 'room:*:x']);
  assert.ok(sub(m, 'a*b'));
  assert.not.ok(sub(m, 'aXb'));
  assert.not.ok(sub(m, 'a'));
  assert.ok(sub(m, 'room:*:x'));
  assert.not.ok(sub(m, 'room:1:x'));
});

test('a literal * inside a channel name matches only what grants it', () => {
  const m = compileClaimGrants(['news']);
  assert.not.ok(sub(m, 'news*'));
  assert.not.ok(sub(m, '*'));
  const prefix = compileClaimGrants(['ne*']);
  assert.ok(sub(prefix, 'ne*ws'));
  assert.ok(sub(prefix, 'ne*'));
});

test('{sub} is the token sub', () => {
  const m = compileClaimGrants(['user:{sub}', 'inbox:{sub}:*', '{sub}'], 'alice');
  assert.ok(sub(m, 'user:alice'));
  assert.not.ok(sub(m, 'user:bob'));
  assert.not.ok(sub(m, 'user:{sub}'));
  assert.ok(sub(m, 'inbox:alice:1'));
  assert.not.ok(sub(m, 'inbox:alice'));
  assert.not.ok(sub(m, 'inbox:bob:1'));
  assert.ok(sub(m, 'alice'));
});

test('{sub} appears as often as written', () => {
  const m = compileClaimGrants(['dm:{sub}:{sub}'], 'a');
  assert.ok(sub(m, 'dm:a:a'));
  assert.not.ok(sub(m, 'dm:a:b'));
});

test('a * in the sub is literal, never a wildcard', () => {
  const m = compileClaimGrants(['user:{sub}', 'team:{sub}:*'], 'eve*');
  assert.ok(sub(m, 'user:eve*'));
  assert.not.ok(sub(m, 'user:eve'));
  assert.not.ok(sub(m, 'user:eve*x'));
  assert.not.ok(sub(m, 'user:evel'));
  assert.ok(sub(m, 'team:eve*:1'));
  assert.not.ok(sub(m, 'team:evex:1'));

  const star = compileClaimGrants(['{sub}'], '*');
  assert.ok(sub(star, '*'));
  assert.not.ok(sub(star, 'anything'));
});

test('{sub} patterns grant nothing without a sub', () => {
  const m = compileClaimGrants(['user:{sub}', 'user:{sub}*']);
  assert.not.ok(sub(m, 'user:'));
  assert.not.ok(sub(m, 'user:{sub}'));
  assert.not.ok(sub(m, 'user:x'));
});

test('{sub} fills one whole segment: a sub holding ":" fills none, so no user\'s prefix covers another\'s channels', () => {
  const bob = compileClaimGrants(['user:{sub}:*', 'inbox:{sub}'], 'bob');
  assert.ok(sub(bob, 'user:bob:x'));
  assert.ok(sub(bob, 'inbox:bob'));
  // The other way round: a sub holding the separator fills no {sub} segment, so it reaches neither its own nor bob's.
  const admin = compileClaimGrants(['user:{sub}:*', 'inbox:{sub}', 'chat:*'], 'bob:admin');
  assert.not.ok(sub(admin, 'user:bob:admin:x'));
  assert.not.ok(sub(admin, 'user:bob:x'));
  assert.not.ok(sub(admin, 'inbox:bob:admin'));
  assert.ok(sub(admin, 'chat:1'), 'grants without {sub} still hold');
});

test('a pattern whose {sub} is not followed by ":" or the end of an exact pattern is refused', () => {
  for (const bad of ['user:{sub}*', 'user:{sub}x', 'dm:{sub}-{sub}', '{sub}.inbox']) {
    assert.match(patternProblem(bad) ?? '', 'whole segment', bad);
    assert.not.ok(sub(compileClaimGrants([bad], 'bob'), 'user:bobby'), bad);
  }
  for (const good of ['user:{sub}', 'user:{sub}:*', 'dm:{sub}:{sub}', '{sub}', 'team-{sub}:*']) assert.is(patternProblem(good), undefined, good);
});

test('array form grants both; map form grants only what it lists', () => {
  const arr = compileClaimGrants(['a']);
  assert.ok(sub(arr, 'a') && pub(arr, 'a'));
  const map = compileClaimGrants({ feed: ['subscribe'], 'out:*': ['publish'], both: ['publish', 'subscribe'] });
  assert.ok(sub(map, 'feed'));
  assert.not.ok(pub(map, 'feed'));
  assert.ok(pub(map, 'out:1'));
  assert.not.ok(sub(map, 'out:1'));
  assert.ok(sub(map, 'both') && pub(map, 'both'));
});

test('an unknown capability is never granted', () => {
  const m = compileClaimGrants(['a']);
  assert.not.ok(m.allows('admin' as never, 'a'));
});

test('anyOf is the union: anyone with authenticated', () => {
  const anyone = compileGrants(readGrants({ 'public:*': ['subscribe'] }).entries);
  const authenticated = compileGrants(readGrants(['chat:*', 'user:{sub}']).entries, 'bob');
  const both = anyOf(anyone, authenticated);
  assert.ok(sub(both, 'public:x'));
  assert.not.ok(pub(both, 'public:x'));
  assert.ok(pub(both, 'chat:1'));
  assert.ok(sub(both, 'user:bob'));
  assert.not.ok(sub(both, 'user:alice'));
  assert.not.ok(sub(anyone, 'chat:1'));
  assert.is(anyOf(DENY_ALL, DENY_ALL), DENY_ALL);
  assert.is(anyOf(DENY_ALL, anyone), anyone);
});

test('empty and missing grants deny everything', () => {
  for (const grants of [[], {}, undefined, null, 'chat:*', 42]) {
    const m = compileClaimGrants(grants);
    assert.not.ok(sub(m, 'chat:x'));
    assert.not.ok(pub(m, 'a'));
  }
});

test('invalid entries grant nothing; the valid ones around them still do', () => {
  const grants = ['', 42, 'ok', 'bad\u0000', 'user:{uid}', null];
  const read = readGrants(grants);
  assert.equal(
    read.entries.map((e) => e.pattern),
    ['ok'],
  );
  assert.equal(
    read.problems.map((p) => p.label),
    ['[0]', '[1]', '[3]', '[4]', '[5]'],
  );
  const m = compileClaimGrants(grants);
  assert.ok(sub(m, 'ok'));
  assert.not.ok(sub(m, 'user:{uid}'));
  assert.not.ok(sub(m, ''));

  const map = readGrants({ a: ['subscribe', 'delete'], b: [], c: 'subscribe', d: ['publish'] });
  assert.equal(
    map.entries.map((e) => e.pattern),
    ['d'],
  );
  assert.equal(
    map.problems.map((p) => p.label),
    ['["a"]', '["b"]', '["c"]'],
  );
});

test('prefixes nested in each other, and exact names under a prefix', () => {
  const m = compileClaimGrants({ 'a:b:*': ['subscribe'], 'a:*': ['subscribe'], 'a:b:c:*': ['subscribe'], 'z:1': ['publish'], 'z:*': ['subscribe'] });
  assert.ok(sub(m, 'a:x'));
  assert.ok(sub(m, 'a:b:c:d'));
  assert.not.ok(sub(m, 'a'));
  assert.ok(pub(m, 'z:1'));
  assert.not.ok(pub(m, 'z:2'));
  assert.ok(sub(m, 'z:2'));
});

test('unicode names and patterns', () => {
  const m = compileClaimGrants(['räume:*', '聊天', 'emoji:😀*', 'user:{sub}'], 'zoë');
  assert.ok(sub(m, 'räume:küche'));
  assert.not.ok(sub(m, 'raume:kuche'));
  assert.ok(sub(m, '聊天'));
  assert.not.ok(sub(m, '聊'));
  assert.ok(sub(m, 'emoji:😀😀'));
  assert.not.ok(sub(m, 'emoji:😁'));
  assert.ok(sub(m, 'user:zoë'));
  assert.not.ok(sub(m, 'user:zoe\u0308')); // the same text decomposed is another name
  assert.is(channelNameProblem('聊天:😀'), undefined);
});

test('channel names: empty, control characters, broken UTF-16, length', () => {
  assert.ok(channelNameProblem(''));
  assert.ok(channelNameProblem(42));
  for (const bad of ['a\u0000', 'a\nb', '\tx', 'x\u007f', 'x\u0085', 'x\u009f', '\ud800', 'a\udc00b', 'a\ud83d']) {
    assert.ok(channelNameProblem(bad), JSON.stringify(bad));
  }
  assert.is(channelNameProblem('x'.repeat(MAX_CHANNEL_NAME_LENGTH)), undefined);
  assert.ok(channelNameProblem('x'.repeat(MAX_CHANNEL_NAME_LENGTH + 1)));
  // The limit counts characters, not UTF-16 units: 256 emoji are fine, 257 are not.
  assert.is(channelNameProblem('😀'.repeat(MAX_CHANNEL_NAME_LENGTH)), undefined);
  assert.ok(channelNameProblem('😀'.repeat(MAX_CHANNEL_NAME_LENGTH + 1)));
  assert.ok(channelNameProblem('x'.repeat(1_000_000)));
  assert.is(channelNameProblem('chat:* {sub} ~!@#$%^&()'), undefined);
  // SocketCluster keeps channels as keys of plain objects: these would reach Object.prototype.
  for (const reserved of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__defineGetter__']) {
    assert.ok(channelNameProblem(reserved), reserved);
  }
  assert.is(channelNameProblem('proto'), undefined);
  assert.is(channelNameProblem('chat:__proto__'), undefined);
});

test('patterns: what is refused', () => {
  assert.ok(patternProblem(''));
  assert.ok(patternProblem(7));
  assert.ok(patternProblem('a\u0001'));
  assert.ok(patternProblem('x'.repeat(257)));
  assert.match(patternProblem('user:{uid}') ?? '', '{uid}');
  assert.is(patternProblem('user:{sub}'), undefined);
  assert.is(patternProblem('*'), undefined);
  assert.is(patternProblem('a*b*'), undefined);
  assert.is(patternProblem('{not a placeholder}'), undefined);
});

test('very long names are decided without trouble', () => {
  const long = 'p:'.repeat(120);
  const m = compileClaimGrants([`${long}*`, 'x'.repeat(256)]);
  assert.ok(sub(m, `${long}end`));
  assert.ok(sub(m, 'x'.repeat(256)));
  assert.not.ok(sub(m, 'x'.repeat(255)));
  assert.not.ok(sub(m, 'y'.repeat(1_000_000)));
  assert.ok(sub(m, 'p:'.repeat(500_000))); // matching is not validation: the rules check the name first
  assert.not.ok(sub(m, `${'p:'.repeat(119)}q${'p:'.repeat(500_000)}`));
});

test('many patterns: each still decided by one walk of the name', () => {
  const grants: Record<string, ('subscribe' | 'publish')[]> = {};
  for (let i = 0; i < 5000; i++) {
    grants[`room:${i}:*`] = ['subscribe'];
    grants[`exact:${i}`] = ['publish'];
  }
  const m = compileClaimGrants(grants);
  assert.ok(sub(m, 'room:4999:x'));
  assert.not.ok(sub(m, 'room:5000:x'));
  assert.ok(pub(m, 'exact:0'));
  assert.not.ok(pub(m, 'exact:5000'));
  assert.not.ok(sub(m, 'exact:1'));
});

test.run();
