// What the start-up summary tells the person who started a node about its keys, its process and its origins.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config';
import { startSummary } from '../../server/cli/start-summary';
import { SECRET, jwksOf, makeKeyPair } from '../helpers/gateway';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-summary-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const ADDRESS: AddressInfo = { address: '127.0.0.1', family: 'IPv4', port: 8000 };
const jwks = join(dir, 'jwks.json');
writeFileSync(jwks, jwksOf(makeKeyPair('ES256', 'app-2026'), makeKeyPair('RS256', 'app-2025')));
const signingPair = makeKeyPair('ES256', 'gw-1');
const signingKey = join(dir, 'signing-key.pem');
writeFileSync(signingKey, signingPair.privateKey.export({ format: 'pem', type: 'pkcs8' }));

/** The summary's value for each row name, for a node started with `env`. */
function rows(env: Record<string, string>): Map<string, string> {
  const config = loadConfig({ env: { GATEHOUSE_HOST: '127.0.0.1', ...env } });
  const text = startSummary({ config, nodeId: 'n1', pid: 4242, url: 'ws://127.0.0.1:8000/socketcluster/', address: ADDRESS });
  return new Map(
    text
      .split('\n')
      .slice(1)
      .map((line) => {
        const m = /^ {2}(\S+(?: API)?) +(.*)$/.exec(line);
        assert.ok(m, line);
        return [m[1], m[2]] as const;
      }),
  );
}

test('the summary names the PID to signal', () => {
  assert.match(rows({ GATEHOUSE_AUTH_KEY: SECRET }).get('pid')!, /^4242 \(SIGHUP reloads .*send them to this PID\)$/);
});

test('an HS256 key verifies tokens without a kid, and login and renewal sign with it', () => {
  const r = rows({ GATEHOUSE_AUTH_KEY: SECRET });
  assert.is(r.get('verifies'), 'HS256 (GATEHOUSE_AUTH_KEY)');
  assert.is(r.get('signs'), 'login and renewal sign with the HS256 key');
});

test('development mode says its HS256 key is ephemeral', () => {
  assert.is(rows({}).get('verifies'), 'HS256 (an ephemeral development key)');
});

test('a JWK Set alone verifies by its kids, and then nothing can sign: login and renewal say so', () => {
  const r = rows({ GATEHOUSE_JWKS_FILE: jwks });
  assert.is(r.get('verifies'), 'JWK Set kids app-2026 (ES256), app-2025 (RS256)');
  assert.is(r.get('signs'), 'nothing: login and renewal cannot sign (set GATEHOUSE_SIGNING_KEY_FILE, or GATEHOUSE_AUTH_KEY)');
});

test('a signing key signs (its kid named) and verifies its own tokens; renewal turned off is said', () => {
  const r = rows({ GATEHOUSE_JWKS_FILE: jwks, GATEHOUSE_SIGNING_KEY_FILE: signingKey, GATEHOUSE_SIGNING_KEY_ID: 'gw-1' });
  assert.is(r.get('verifies'), "JWK Set kids app-2026 (ES256), app-2025 (RS256); the signing key's kid gw-1 (ES256)");
  assert.is(r.get('signs'), 'login and renewal sign with ES256 key gw-1 (GATEHOUSE_SIGNING_KEY_FILE)');
  const off = rows({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_RENEW_INTERVAL: '0' });
  assert.is(off.get('signs'), 'login signs with the HS256 key (renewal is off: GATEHOUSE_RENEW_INTERVAL=0)');
});

test("origins: any origin when GATEHOUSE_ORIGINS is unset, else the list, and the gateway's own origin with the demo", () => {
  assert.is(rows({ GATEHOUSE_AUTH_KEY: SECRET }).get('origins'), 'any origin (GATEHOUSE_ORIGINS limits browsers to a list)');
  const listed = rows({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_ORIGINS: 'https://app.example.com,http://localhost:3000' });
  assert.is(listed.get('origins'), 'https://app.example.com, http://localhost:3000');
  const demo = rows({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_ORIGINS: 'https://app.example.com', GATEHOUSE_DEMO: '1' });
  assert.is(demo.get('origins'), "https://app.example.com and this gateway's own origin (for the demo)");
});

test('the handshake rate a reconnecting crowd meets is said, per worker with several, and no limit when it is 0', () => {
  assert.is(
    rows({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_HANDSHAKE_RATE: '300' }).get('pacing'),
    'this node starts at most 300 handshakes a second; more upgrades get HTTP 503 and back off (GATEHOUSE_MAX_HANDSHAKE_RATE)',
  );
  const workers = rows({
    GATEHOUSE_AUTH_KEY: SECRET,
    GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:6390',
    GATEHOUSE_WORKERS: '2',
    GATEHOUSE_MAX_HANDSHAKE_RATE: '300',
  });
  assert.match(workers.get('pacing')!, /^each worker starts at most 300 handshakes a second;/);
  assert.is(
    rows({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_HANDSHAKE_RATE: '0' }).get('pacing'),
    'this node starts handshakes as fast as they come (GATEHOUSE_MAX_HANDSHAKE_RATE=0)',
  );
});

test.run();
