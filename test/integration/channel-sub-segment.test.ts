// `{sub}` fills one whole segment of a channel name, so no user's grants cover another user's channels. With the
// rule `user:{sub}:*`, sub "bob:admin" used to be granted `user:bob:admin:…`, channels that sub "bob" holds too (and
// the other way round): the stock client, against a real gateway, both ways.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { publishOutcome, subscribeOutcome } from '../helpers/channels';
import { configProblems, mintHs256 } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sub-segment-'));
const rules = join(dir, 'channels.json');
let gw: Gateway;
const suiteScope = useScope(test, 'suite');

test.before(async () => {
  writeFileSync(rules, JSON.stringify({ authenticated: { 'user:{sub}:*': ['subscribe', 'publish'], 'chat:*': ['subscribe'] } }));
  gw = await suiteScope.gateway({ GATEHOUSE_CHANNELS_FILE: rules });
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function as(sub: string, channels?: unknown): Promise<AGClientSocket> {
  const { client, status } = await suiteScope.connect(gw, mintHs256(channels === undefined ? { sub } : { sub, channels }));
  assert.is(status.isAuthenticated, true);
  return client;
}

test('a sub holding ":" is granted nothing through {sub}: "bob:admin" cannot reach user:bob:admin:… nor bob\'s channels', async () => {
  const admin = await as('bob:admin');
  assert.is(await subscribeOutcome(admin, 'user:bob:admin:inbox'), ErrorName.SubscribeForbidden);
  assert.is(await publishOutcome(admin, 'user:bob:admin:inbox', 'x'), ErrorName.PublishForbidden);
  assert.is(await subscribeOutcome(admin, 'user:bob:inbox'), ErrorName.SubscribeForbidden);
  assert.is(await subscribeOutcome(admin, 'chat:general'), 'subscribed', 'its grants without {sub} hold');
});

test("the same in a token's own channels claim", async () => {
  const admin = await as('bob:admin', ['inbox:{sub}:*']);
  assert.is(await subscribeOutcome(admin, 'inbox:bob:admin:1'), ErrorName.SubscribeForbidden);
  const bob = await as('bob', ['inbox:{sub}:*']);
  assert.is(await subscribeOutcome(bob, 'inbox:bob:1'), 'subscribed');
});

test("a plain sub keeps its own segment: bob reaches user:bob:… and nobody else's", async () => {
  const bob = await as('bob');
  assert.is(await subscribeOutcome(bob, 'user:bob:inbox'), 'subscribed');
  assert.is(await publishOutcome(bob, 'user:bob:inbox', 'hi'), 'published');
  assert.is(await subscribeOutcome(bob, 'user:bobby:inbox'), ErrorName.SubscribeForbidden);
  assert.is(await subscribeOutcome(bob, 'user:alice:inbox'), ErrorName.SubscribeForbidden);
});

test('a rules file whose {sub} does not end a segment stops start-up, naming the entry', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ authenticated: ['user:{sub}*'] }));
  const problems = configProblems({ GATEHOUSE_CHANNELS_FILE: bad });
  assert.is(problems.length, 1);
  assert.match(problems[0], 'GATEHOUSE_CHANNELS_FILE');
  assert.match(problems[0], 'user:{sub}*');
  assert.match(problems[0], 'whole segment');
});

test.run();
