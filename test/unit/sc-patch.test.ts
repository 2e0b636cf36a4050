import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { patchSocketMethods } from '../../server/sc/patch';

const seam = { name: `test-seam-${Math.random()}`, file: 'server/x.ts' };

test('patches once per seam, handing the original methods to the patch', () => {
  class Socket {
    greet(name: string) { return `hello ${name}`; }
  }
  let calls = 0;
  const install = () => patchSocketMethods(Socket, seam, ['greet'], (original) => {
    calls++;
    return { greet(name: string) { return `${original.greet.call(this, name)}!`; } };
  });
  install();
  install();
  assert.is(calls, 1);
  assert.is(new Socket().greet('ann'), 'hello ann!');
});

test('a missing seam fails loudly, naming the method and the file to review, and patches nothing', () => {
  class Socket {
    kept() { return 1; }
  }
  assert.throws(() => patchSocketMethods(Socket, { name: 'gone', file: 'server/y.ts' }, ['kept', 'moved' as 'kept'], () => ({ kept: () => 2 })),
    /AGServerSocket#moved; review server\/y\.ts/);
  assert.is(new Socket().kept(), 1);
});

test.run();
