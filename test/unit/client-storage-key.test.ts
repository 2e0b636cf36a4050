import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { storageKey } from '../../client';

test('the storage, tab and lock key names scheme, host, port and path: two gateways behind one host stay apart', () => {
  assert.is.not(storageKey('wss://example.com/a/'), storageKey('wss://example.com/b/'));
  assert.is.not(storageKey('ws://example.com:8000/'), storageKey('wss://example.com:8000/'));
  assert.is.not(storageKey('https://example.com:8443'), storageKey('https://example.com:9443'));
  assert.is.not(storageKey('https://a.example.com'), storageKey('https://b.example.com'));
  assert.is(storageKey('wss://example.com/a/'), 'gatehouse:wss://example.com:443/a/');
});

test('URLs that reach the same gateway share the key', () => {
  // An http(s) URL names the site, whose gateway is at /socketcluster/.
  assert.is(storageKey('https://example.com'), storageKey('wss://example.com:443/socketcluster/'));
  assert.is(storageKey('http://127.0.0.1:8000/'), storageKey('ws://127.0.0.1:8000/socketcluster/'));
});

test.run();
