import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeMetrics } from '../../server/observability/node-metrics';

const FEEDS = { name: 'test_feed_silences_total', help: 'Silences by feed', label: 'feed' };

test('a running total is read at scrape, under the node label', async () => {
  const metrics = new NodeMetrics('n1');
  let n = 0;
  metrics.total({ name: 'test_things_total', help: 'Things' }, () => n);
  n = 3;
  assert.match(await metrics.registry.metrics(), /^test_things_total\{node="n1"\} 3$/m);
  n = 5;
  assert.match(await metrics.registry.metrics(), /^test_things_total\{node="n1"\} 5$/m);
});

test('several features report into one family, each its own label values, in the order they reported', async () => {
  const metrics = new NodeMetrics('n1');
  metrics.totals(FEEDS, () => [['revocation', 1]]);
  metrics.totals(FEEDS, () => []);
  metrics.totals(FEEDS, () => [['admin_bus', 2]]);
  const text = await metrics.registry.metrics();
  assert.is(text.match(/^# TYPE test_feed_silences_total counter$/gm)?.length, 1, 'one family');
  assert.match(text, /test_feed_silences_total\{feed="revocation",node="n1"\} 1\ntest_feed_silences_total\{feed="admin_bus",node="n1"\} 2/);
});

test('a family reported with another help text or label is refused', () => {
  const metrics = new NodeMetrics('n1');
  metrics.totals(FEEDS, () => []);
  assert.throws(() => metrics.totals({ ...FEEDS, help: 'other' }, () => []), /another help text or label/);
  assert.throws(() => metrics.totals({ ...FEEDS, label: 'reason' }, () => []), /another help text or label/);
});

test("the exposition is the node's series, or the source it was handed to", async () => {
  const metrics = new NodeMetrics('n1');
  metrics.total({ name: 'test_things_total', help: 'Things' }, () => 1);
  assert.ok((await metrics.expose()).body.includes('test_things_total{node="n1"} 1'));
  metrics.exposeFrom(async () => ({ contentType: 'text/plain', body: 'group' }));
  assert.equal(await metrics.expose(), { contentType: 'text/plain', body: 'group' });
});

test.run();
