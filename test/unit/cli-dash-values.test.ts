import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { joinDashValues } from '../../server/cli/dash-values';

const options = { kid: { type: 'string' }, jwks: { type: 'string' }, check: { type: 'boolean' } } as const;

test('the word after a string option is its value, even when it starts with a dash', () => {
  assert.equal(joinDashValues(['--kid', '-ZMT6', '--jwks', 'set.json'], options), ['--kid=-ZMT6', '--jwks', 'set.json']);
  assert.equal(joinDashValues(['--kid', '--weird'], options), ['--kid=--weird']);
});

test("an option's own name, a boolean option, --name=value and what follows -- are left as they are", () => {
  assert.equal(joinDashValues(['--kid', '--jwks', 'x'], options), ['--kid', '--jwks', 'x']);
  assert.equal(joinDashValues(['--check', '-x'], options), ['--check', '-x']);
  assert.equal(joinDashValues(['--kid=-a', '-b'], options), ['--kid=-a', '-b']);
  assert.equal(joinDashValues(['--', '--kid', '-a'], options), ['--', '--kid', '-a']);
  assert.equal(joinDashValues(['--kid', '--'], options), ['--kid', '--']);
  assert.equal(joinDashValues(['--constructor', '-a'], options), ['--constructor', '-a']);
});

test.run();
