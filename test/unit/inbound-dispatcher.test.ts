import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InboundDispatcher, type InboundAction } from '../../server/middleware/inbound';

const publish = (channel: string): InboundAction => ({ type: 'publishIn', socket: {} as never, channel });

test('an allowed-listener sees what every rule let through, whether it was added before or after them', () => {
  const dispatcher = new InboundDispatcher();
  const early: string[] = [];
  dispatcher.onAllowed('publishIn', ({ channel }) => early.push(String(channel)));
  dispatcher.use('publishIn', ({ channel }) => (channel === 'blocked' ? new Error('no') : undefined));
  const late: string[] = [];
  dispatcher.onAllowed('publishIn', ({ channel }) => late.push(String(channel)));
  dispatcher.use('publishIn', ({ channel }) => (channel === 'rewritten' ? { data: 1 } : undefined));
  dispatcher.use('publishIn', ({ channel }) => (channel === 'last' ? new Error('no') : undefined));
  for (const channel of ['a', 'blocked', 'rewritten', 'last', 'b']) dispatcher.decide(publish(channel));
  assert.equal(early, ['a', 'rewritten', 'b']);
  assert.equal(late, ['a', 'rewritten', 'b']);
});

test('an allowed-listener hears only its action type, and not an unknown procedure', () => {
  const dispatcher = new InboundDispatcher();
  const heard: string[] = [];
  dispatcher.onAllowed('invoke', ({ procedure }) => heard.push(String(procedure)));
  dispatcher.allowProcedure('known');
  dispatcher.decide(publish('a'));
  dispatcher.decide({ type: 'invoke', socket: {} as never, procedure: 'unknown' });
  dispatcher.decide({ type: 'invoke', socket: {} as never, procedure: 'known' });
  assert.equal(heard, ['known']);
});

test.run();
