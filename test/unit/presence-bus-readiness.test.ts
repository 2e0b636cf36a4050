import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryPubSubHub } from '../../server/cluster';
import { createLogger } from '../../server/log';
import { BatchBus } from '../../server/presence/batch-bus';
import type { PresenceBatch } from '../../server/presence/presence-index';
import { waitFor } from '../helpers/gateway';

// A node is not ready until its presence bus hears the other nodes and can send its own batches: a join made
// before would reach no other node, and nothing later would show the others' watchers that it is missing.

const log = createLogger('silent');
const batch: PresenceBatch = { channel: 'room:1', seq: 1, count: 1, joins: [{ sub: 'zoe' }], leaves: [], updates: [] };

test('not ready before the subscription holds; ready once it does, and a batch then reaches the other node', async () => {
  const hub = new MemoryPubSubHub();
  const heard: PresenceBatch[] = [];
  const a = new BatchBus('a', () => undefined, log, hub.transport());
  const b = new BatchBus('b', (got) => heard.push(got), log, hub.transport());
  assert.is(a.notReadyReason(), 'presence bus: not subscribed yet');
  a.start();
  b.start();
  assert.is(b.notReadyReason(), 'presence bus: not subscribed yet', 'start alone is not enough');
  await waitFor(() => a.notReadyReason() === undefined && b.notReadyReason() === undefined, 2000, 'both ready');
  a.publish(batch);
  await waitFor(() => heard.length === 1, 2000, 'the batch on the other node');
  assert.equal(heard, [batch]);
  await a.close();
  await b.close();
  assert.is(b.notReadyReason(), undefined, 'a bus lost later is a warning, not a readiness failure');
});

test('a node alone (no transport) is ready at once', () => {
  assert.is(new BatchBus('a', () => undefined, log).notReadyReason(), undefined);
});

test.run();
