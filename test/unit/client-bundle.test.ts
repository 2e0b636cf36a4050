import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { CloseCode, ErrorName, closeCodeName, removesToken, shouldReconnect } from '../../client';

test('client/ and shared/ bundle for the browser without any Node module', () => {
  const result = buildSync({
    entryPoints: [join(__dirname, '..', '..', 'client', 'index.ts')],
    bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
  });
  assert.is(result.errors.length, 0);
  const code = result.outputFiles[0].text;
  assert.not.match(code, /require\(["']node:|from ["']node:/);
});

test('the client reads the shared tables', () => {
  assert.is(removesToken(ErrorName.AuthTokenRevoked), true);
  assert.is(removesToken(ErrorName.AuthUnavailable), false);
  assert.is(removesToken(ErrorName.PublishForbidden), false);
  assert.is(closeCodeName(CloseCode.TokenRevoked), 'TokenRevoked');
  assert.is(closeCodeName(1006), undefined);
  assert.is(shouldReconnect(CloseCode.ShuttingDown), true);
  assert.is(shouldReconnect(CloseCode.TokenRevoked), false);
});

test.run();
