import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelPolicy } from '../../server/channels/policy';
import { PublishLimiter } from '../../server/channels/publish-limiter';
import { NO_CHANNEL_RULES, parseChannelRules, type ChannelRules } from '../../server/channels/rules-file';
import type { GatehouseClaims } from '../../shared';
import { configProblems, testConfig } from '../helpers/gateway';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-channels-'));
let fileNo = 0;
function rulesFile(content: unknown): string {
  const path = join(dir, `rules-${fileNo++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function rules(doc: unknown): ChannelRules {
  const parsed = parseChannelRules(doc);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return parsed.rules;
}

const claims = (c: Partial<GatehouseClaims>): GatehouseClaims => ({ sub: 'alice', exp: 0, ...c });

test('rules file: both forms, both sections, read by loadConfig', () => {
  const path = rulesFile({ anyone: { 'public:*': ['subscribe'] }, authenticated: ['chat:*', 'user:{sub}'] });
  const config = testConfig({ GATEHOUSE_CHANNELS_FILE: path });
  assert.equal(config.channelRules.anyone, [{ pattern: 'public:*', capabilities: ['subscribe'] }]);
  assert.equal(
    config.channelRules.authenticated.map((e) => e.pattern),
    ['chat:*', 'user:{sub}'],
  );
  assert.is(config.channelsFile, path);
});

test('no rules file: no operator grants; defaults of the limits', () => {
  const config = testConfig();
  assert.equal(config.channelRules, NO_CHANNEL_RULES);
  assert.is(config.publishRate, 50);
  assert.is(config.publishBurst, 100);
  assert.is(config.maxChannels, 100);
  assert.is(config.maxBuffered, 1024 * 1024);
});

test('an invalid rules file is a config error naming each bad entry', () => {
  const path = rulesFile({
    anyone: { 'public:*': ['subscribe', 'delete'], 'me:{sub}': ['subscribe'] },
    authenticated: ['ok', '', 'user:{uid}'],
    everyone: ['x'],
  });
  const problems = configProblems({ GATEHOUSE_CHANNELS_FILE: path });
  assert.is(problems.length, 5, problems.join('\n'));
  assert.ok(problems.every((p) => p.startsWith(`GATEHOUSE_CHANNELS_FILE: ${path}: `)));
  const text = problems.join('\n');
  assert.match(text, '"everyone": unknown section');
  assert.match(text, 'anyone["public:*"]: "delete" is not a capability');
  assert.match(text, 'anyone["me:{sub}"]: {sub} needs an authenticated socket');
  assert.match(text, 'authenticated[1]: a pattern must not be empty');
  assert.match(text, 'authenticated[2]: unknown placeholder {uid}');
});

test('rules file: not JSON, not an object, a section of the wrong type, unreadable', () => {
  assert.match(configProblems({ GATEHOUSE_CHANNELS_FILE: rulesFile('{"anyone": [') }).join(), 'GATEHOUSE_CHANNELS_FILE');
  assert.match(configProblems({ GATEHOUSE_CHANNELS_FILE: rulesFile(['chat:*']) }).join(), 'must be a JSON object');
  assert.match(configProblems({ GATEHOUSE_CHANNELS_FILE: rulesFile({ anyone: 'chat:*' }) }).join(), 'anyone: must be an array');
  assert.match(configProblems({ GATEHOUSE_CHANNELS_FILE: join(dir, 'missing.json') }).join(), 'ENOENT');
});

test('limits: out-of-range values are config errors', () => {
  const problems = configProblems({
    GATEHOUSE_PUBLISH_RATE: '0',
    GATEHOUSE_PUBLISH_BURST: 'lots',
    GATEHOUSE_MAX_CHANNELS: '-1',
    GATEHOUSE_MAX_BUFFERED: '1KiB',
  });
  for (const name of ['GATEHOUSE_PUBLISH_RATE', 'GATEHOUSE_PUBLISH_BURST', 'GATEHOUSE_MAX_CHANNELS', 'GATEHOUSE_MAX_BUFFERED']) {
    assert.ok(
      problems.some((p) => p.startsWith(`${name}:`)),
      name,
    );
  }
});

test('policy: anonymous sockets get anyone only', () => {
  const policy = new ChannelPolicy(rules({ anyone: { 'public:*': ['subscribe'] }, authenticated: ['chat:*', 'user:{sub}'] }));
  const m = policy.matcherFor(null);
  assert.ok(m.allows('subscribe', 'public:x'));
  assert.not.ok(m.allows('publish', 'public:x'));
  assert.not.ok(m.allows('subscribe', 'chat:x'));
  assert.not.ok(m.allows('subscribe', 'user:'));
  assert.not.ok(m.allows('subscribe', 'user:{sub}'));
});

test('policy: authenticated sockets get anyone + authenticated + their token', () => {
  const policy = new ChannelPolicy(rules({ anyone: { 'public:*': ['subscribe'] }, authenticated: ['chat:*', 'user:{sub}'] }));
  const m = policy.matcherFor(claims({ sub: 'alice', channels: { 'team:red:*': ['publish'] } }));
  assert.ok(m.allows('subscribe', 'public:x'));
  assert.ok(m.allows('publish', 'chat:x'));
  assert.ok(m.allows('subscribe', 'user:alice'));
  assert.not.ok(m.allows('subscribe', 'user:bob'));
  assert.ok(m.allows('publish', 'team:red:1'));
  assert.not.ok(m.allows('subscribe', 'team:red:1'));
  assert.not.ok(m.allows('publish', 'public:x'));
});

test('policy: the token channels claim alone, either form, with {sub}', () => {
  const policy = new ChannelPolicy(NO_CHANNEL_RULES);
  const arr = policy.matcherFor(claims({ sub: 'bob', channels: ['inbox:{sub}'] }));
  assert.ok(arr.allows('publish', 'inbox:bob'));
  assert.not.ok(arr.allows('publish', 'inbox:alice'));
  const none = policy.matcherFor(claims({ sub: 'bob' }));
  assert.not.ok(none.allows('subscribe', 'inbox:bob'));
  const garbage = policy.matcherFor(claims({ sub: 'bob', channels: 'everything' as never }));
  assert.not.ok(garbage.allows('subscribe', 'everything'));
});

test('policy: compiled once per token, again for a new token', () => {
  const policy = new ChannelPolicy(NO_CHANNEL_RULES);
  const first = claims({ channels: ['a'] });
  assert.is(policy.matcherFor(first), policy.matcherFor(first));
  const renewed = claims({ channels: [] });
  assert.is.not(policy.matcherFor(renewed), policy.matcherFor(first));
  assert.not.ok(policy.matcherFor(renewed).allows('subscribe', 'a'));
});

test('publish limiter: burst, then the refill rate, with retryAfter', () => {
  const limiter = new PublishLimiter(2, 3);
  const socket = {};
  let now = 1_000_000;
  for (let i = 0; i < 3; i++) assert.is(limiter.take(socket, now), undefined);
  const wait = limiter.take(socket, now);
  assert.is(wait, 0.5);
  now += 499;
  assert.ok((limiter.take(socket, now) ?? 0) > 0);
  now += 1;
  assert.is(limiter.take(socket, now), undefined);
  assert.ok(limiter.take(socket, now) !== undefined);
  // Refill stops at the burst size.
  now += 60_000;
  for (let i = 0; i < 3; i++) assert.is(limiter.take(socket, now), undefined);
  assert.ok(limiter.take(socket, now) !== undefined);
  // Buckets are per socket.
  assert.is(limiter.take({}, now), undefined);
  // A clock going backwards refills nothing and breaks nothing.
  assert.ok(limiter.take(socket, now - 10_000) !== undefined);
});

test.run();
