// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '../../server/gateway';
import { hashPassword } from '../../server/login/password-hash';
import { ErrorName } from '../../shared';
import { sleep } from '../helpers/gateway';
import { postLogin, startLoginGateway, type HttpOutcome } from '../helpers/login';
import { useScope } from '../helpers/scope';

// The scrypt gate (2 hashing, 16 waiting; server/login/concurrency-gate.ts) was once first come, first served, and
// successes were never limited, so four ordinary accounts logging in over and over from one address kept it full and
// every other user got LoginUnavailableError. Twenty attempts in flight from one address (five per account, within the
// old per-username and per-address reservations) kept it full. Hashes here cost a few milliseconds each (ln=13), so
// the gate really fills.
const ATTACKER_IP = '203.0.113.66';
const HONEST_IP = '198.51.100.7';
const accounts = ['a1', 'a2', 'a3', 'a4'].map((username) => ({ username, password: `${username}-pw`, sub: `user-${username}` }));
const carol = { username: 'carol', password: 'carol-pw', sub: 'user-carol' };
let usersFile: string;
const scope = useScope(test);

test.before(async () => {
  const entries = await Promise.all(
    [...accounts, carol].map(async ({ password, ...rest }) => ({
      ...rest,
      passwordHash: await hashPassword(password, { ln: 13, r: 8, p: 1 }),
    })),
  );
  usersFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-fairness-')), 'users.json');
  writeFileSync(usersFile, JSON.stringify(entries));
});
async function gateway(env: Record<string, string> = {}): Promise<Gateway> {
  return scope.ownGateway(await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_TRUST_PROXY: '127.0.0.1', ...env }));
}

function loginFrom(g: Gateway, ip: string, user: { username: string; password: string }): Promise<HttpOutcome> {
  return postLogin(g, { username: user.username, password: user.password }, { 'x-forwarded-for': ip });
}

test('four accounts logging in from one address cannot keep another user out of login', async () => {
  // No attempt-rate limit here: what is under test is the per-address concurrency cap and the fair queue.
  const g = await gateway({ GATEHOUSE_LOGIN_RATE_PER_IP: '1000000', GATEHOUSE_LOGIN_RATE_PER_USER: '1000000' });
  let attacking = true;
  const attackerOutcomes = new Map<number, number>();
  const loops = Array.from({ length: 20 }, async (_, i) => {
    const account = accounts[i % accounts.length];
    while (attacking) {
      const { status } = await loginFrom(g, ATTACKER_IP, account).catch(() => ({ status: 0 }));
      attackerOutcomes.set(status, (attackerOutcomes.get(status) ?? 0) + 1);
      // A refused attempt answers at once; a short pause keeps the loops from spinning the test's own event loop.
      if (status === 429) await sleep(5);
    }
  });
  try {
    await sleep(300);
    const honest: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await loginFrom(g, HONEST_IP, carol);
      honest.push(res.status === 200 ? 'ok' : String(res.body.error?.name));
      await sleep(100);
    }
    assert.equal(honest, ['ok', 'ok', 'ok', 'ok', 'ok'], `carol's logins during the attack: ${honest.join(', ')}`);
    assert.ok((attackerOutcomes.get(200) ?? 0) > 0, "the attacker's own logins were served too");
  } finally {
    attacking = false;
    await Promise.all(loops);
  }
});

test('an address may have two logins in flight; a third at once is RateLimitedError and costs no hashing', async () => {
  const g = await gateway();
  const results = await Promise.all(accounts.slice(0, 3).map((a) => loginFrom(g, ATTACKER_IP, a)));
  const names = results.map((r) => (r.status === 200 ? 'ok' : r.body.error?.name)).sort();
  assert.equal(names, ['RateLimitedError', 'ok', 'ok']);
  const limited = results.find((r) => r.status === 429)!;
  assert.is(limited.headers.get('retry-after'), '1');
});

test('successful logins are rate-limited per username', async () => {
  const g = await gateway({ GATEHOUSE_LOGIN_RATE_PER_USER: '3' });
  const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
  const outcomes: string[] = [];
  for (const ip of ips) {
    const res = await loginFrom(g, ip, accounts[0]);
    outcomes.push(res.status === 200 ? 'ok' : String(res.body.error?.name));
  }
  assert.equal(outcomes, ['ok', 'ok', 'ok', ErrorName.RateLimited]);
  assert.is((await loginFrom(g, ips[3], accounts[1])).status, 200, 'another username from the same address is not affected');
});

test('successful logins are rate-limited per client address', async () => {
  const g = await gateway({ GATEHOUSE_LOGIN_RATE_PER_IP: '3' });
  const outcomes: string[] = [];
  for (const account of accounts) {
    const res = await loginFrom(g, ATTACKER_IP, account);
    outcomes.push(res.status === 200 ? 'ok' : String(res.body.error?.name));
  }
  assert.equal(outcomes, ['ok', 'ok', 'ok', ErrorName.RateLimited]);
  assert.is((await loginFrom(g, HONEST_IP, carol)).status, 200, 'another address is not affected');
});

test.run();
