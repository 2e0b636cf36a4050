import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { WorkerMessage } from '../../server/workers/messages';
import { joinGroup, type PrimaryChannel } from '../../server/workers/worker';

/** A node's readiness as the gateway keeps it: its own reasons, then every check added. */
function member(reasons: string[]) {
  const checks: (() => string | undefined)[] = [];
  const disposers: (() => void | Promise<void>)[] = [];
  return {
    nodeId: 'n-1',
    reasons,
    addReadinessCheck: (check: () => string | undefined) => void checks.push(check),
    own(disposer: () => void | Promise<void>) {
      disposers.push(disposer);
    },
    notReadyReasons(): string[] {
      return [...this.reasons, ...checks.flatMap((c) => c() ?? [])];
    },
    async close() {
      for (const d of disposers.splice(0)) await d();
    },
  };
}

/** The worker's end of the cluster channel: what it sent, and a way to deliver the primary's messages. */
function channel() {
  const emitter = new EventEmitter();
  const sent: WorkerMessage[] = [];
  const ch: PrimaryChannel & { sent: WorkerMessage[]; deliver(m: unknown): void } = {
    connected: true,
    sent,
    send(message, _handle, _options, callback) {
      sent.push(message);
      callback(null);
      return true;
    },
    on: (event: 'message', listener: (m: unknown) => void) => emitter.on(event, listener),
    off: (event: 'message', listener: (m: unknown) => void) => emitter.off(event, listener),
    deliver: (m: unknown) => emitter.emit('message', m),
  };
  return ch;
}

test('/readyz lists the other workers the primary reports not ready; what the worker reports is its own alone', async () => {
  const node = member(['starting']);
  const ch = channel();
  joinGroup(node, { registries: [new Registry()], channel: ch });
  try {
    assert.equal(node.notReadyReasons(), ['starting', 'worker group: no word from the primary yet']);
    // The first report goes at once, without the group's reason (else workers would echo each other's state forever).
    assert.equal(ch.sent, [{ gatehouse: 'readiness', reasons: ['starting'] }]);
    ch.deliver({
      gatehouse: 'group',
      workers: [
        { nodeId: 'n-1', reasons: ['starting'] },
        { nodeId: 'n-2', reasons: ['not running'] },
      ],
    });
    node.reasons = [];
    assert.equal(node.notReadyReasons(), ['worker n-2: not running']);
    ch.deliver({
      gatehouse: 'group',
      workers: [
        { nodeId: 'n-1', reasons: [] },
        { nodeId: 'n-2', reasons: [] },
      ],
    });
    assert.equal(node.notReadyReasons(), []);
    ch.deliver({ gatehouse: 'collect', id: 7 });
    ch.deliver({ gatehouse: 'something else' });
    ch.deliver(null);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(
      ch.sent.map((m) => m.gatehouse),
      ['readiness', 'collected'],
    );
  } finally {
    await node.close();
  }
});

test("a /metrics request waits for the primary's answer and fails with a reason when it has none", async () => {
  const node = member([]);
  const ch = channel();
  const link = joinGroup(node, { registries: [new Registry()], channel: ch });
  try {
    const ok = link.metrics();
    const asked = ch.sent.find((m) => m.gatehouse === 'metrics') as { id: number };
    ch.deliver({ gatehouse: 'metrics', id: asked.id, contentType: 'text/plain', body: 'x 1\n' });
    assert.equal(await ok, { contentType: 'text/plain', body: 'x 1\n' });
    const failing = link.metrics();
    const second = ch.sent.filter((m) => m.gatehouse === 'metrics').at(-1) as { id: number };
    ch.deliver({ gatehouse: 'metrics', id: second.id, error: 'workers 2 did not answer' });
    await failing.then(
      () => assert.unreachable('resolved'),
      (err: Error) => assert.match(err.message, 'workers 2 did not answer'),
    );
    const pending = link.metrics();
    await node.close();
    await pending.then(
      () => assert.unreachable('resolved'),
      (err: Error) => assert.match(err.message, 'closing'),
    );
  } finally {
    await node.close();
  }
});

test.run();
