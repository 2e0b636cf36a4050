// budget: 60s
// What development mode offers a newcomer without configuring anything: the demo, and a restricted sample token beside
// the `*` one, so a refusal can be seen. (The README's Node quick start is run by readme-blocks.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { subscribeOutcome } from '../helpers/channels';
import { useScope } from '../helpers/scope';
import { freePort } from '../helpers/redis-server';

const suiteScope = useScope(test, 'suite');

async function devGateway() {
  const port = await freePort();
  const p = suiteScope.gatehouse(['start'], { GATEHOUSE_PORT: String(port) });
  assert.is(await p.listeningPort(), port);
  return { p, port };
}

test('development mode prints a restricted sample token beside the * one: it authenticates, and staff:room is refused', async () => {
  const { p, port } = await devGateway();
  const restricted = (await p.waitForStderr(/^export SAMPLE_TOKEN_RESTRICTED=(\S+)$/m))[1];
  assert.match(p.stderr, new RegExp(`demo +open http://127\\.0\\.0\\.1:${port}/ in a browser`));
  const { client, status } = await suiteScope.connect(port, restricted);
  assert.is(status.isAuthenticated, true);
  assert.is(await subscribeOutcome(client, 'staff:room'), 'SubscribeForbiddenError');
  assert.is(await subscribeOutcome(client, 'chat:lobby'), 'subscribed');
});

test.run();
