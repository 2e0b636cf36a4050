import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clientIp, ipLimiterKey, parseTrustEntry, ProxyTrust } from '../../server/http/client-ip';

const trust = new ProxyTrust(['10.0.0.1', '192.168.0.0/16', 'fd00::/8']);
const none = new ProxyTrust([]);

test('without trusted proxies the peer is the client, whatever the header says', () => {
  assert.is(clientIp('203.0.113.5', '1.1.1.1', none), '203.0.113.5');
  assert.is(clientIp('203.0.113.5', '1.1.1.1', undefined), '203.0.113.5');
});

test('an untrusted peer is the client even when proxies are configured', () => {
  assert.is(clientIp('203.0.113.5', '1.1.1.1', trust), '203.0.113.5');
});

test('from a trusted peer, the right-most untrusted address is the client', () => {
  assert.is(clientIp('10.0.0.1', '198.51.100.7', trust), '198.51.100.7');
  assert.is(clientIp('10.0.0.1', '6.6.6.6, 198.51.100.7, 192.168.4.4', trust), '198.51.100.7');
  assert.is(clientIp('10.0.0.1', ['6.6.6.6, 198.51.100.7', '192.168.4.4'], trust), '198.51.100.7');
});

test('IPv4-mapped peers, ports and brackets are normalized', () => {
  assert.is(clientIp('::ffff:10.0.0.1', '198.51.100.7:4711', trust), '198.51.100.7');
  assert.is(clientIp('::ffff:203.0.113.5', undefined, trust), '203.0.113.5');
  assert.is(clientIp('fd00::1', '[2001:db8::1]:443', trust), '2001:db8::1');
});

test('when every hop is trusted, the left-most is the client; a garbled entry stops at the last trusted hop', () => {
  assert.is(clientIp('10.0.0.1', '192.168.1.1, 192.168.2.2', trust), '192.168.1.1');
  assert.is(clientIp('10.0.0.1', 'garbage, 192.168.2.2', trust), '192.168.2.2');
  assert.is(clientIp('10.0.0.1', 'garbage', trust), '10.0.0.1');
  assert.is(clientIp('10.0.0.1', '', trust), '10.0.0.1');
});

test('no peer address is "unknown"', () => {
  assert.is(clientIp(undefined, '1.2.3.4', trust), 'unknown');
});

test('GATEHOUSE_TRUST_PROXY entries: IPs and CIDR ranges', () => {
  assert.ok(typeof parseTrustEntry('10.0.0.1') === 'object');
  assert.ok(typeof parseTrustEntry('10.0.0.0/8') === 'object');
  assert.ok(typeof parseTrustEntry('fd00::/8') === 'object');
  for (const bad of ['proxy.local', '10.0.0.0/33', '10.0.0.0/x', '10.0.0.0/8/8', 'fd00::/129', '*']) {
    assert.type(parseTrustEntry(bad), 'string', bad);
  }
});

test('limiter keys: IPv4 as is, IPv6 by /64', () => {
  assert.is(ipLimiterKey('198.51.100.7'), '198.51.100.7');
  assert.is(ipLimiterKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.is(ipLimiterKey('2001:db8:1:2::9'), '2001:db8:1:2::/64');
  assert.is(ipLimiterKey('2001:DB8:0001:0002:aaaa::'), '2001:db8:1:2::/64');
  assert.is(ipLimiterKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.is(ipLimiterKey('::1'), '0:0:0:0::/64');
  assert.is(ipLimiterKey('unknown'), 'unknown');
});

test.run();
