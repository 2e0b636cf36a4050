// budget: 90s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { useScope } from '../helpers/scope';
import { runLoginAbuse, writeAbuseUsersFile } from '../helpers/login-abuse';

// Standing suite "Login abuse" (SECURITY.md), short version: 2,000 wrong passwords across 60 usernames and 12 client
// addresses, through a trusted proxy, with the default limits (5 failures per username and 20 per address per 15
// minutes; 10 and 60 attempts a minute), so both limits bind and at most 240 passwords are hashed. The long one,
// 10,000 and more across more addresses and usernames: `npx tsx scripts/login-abuse.ts`.
const ATTEMPTS = 2_000;
const ADDRESSES = 12;
const USERNAMES = 60;
let gw: Gateway;

const suiteScope = useScope(test, 'suite');

test.before(async () => {
  gw = await suiteScope.gateway({ GATEHOUSE_USERS_FILE: await writeAbuseUsersFile(), GATEHOUSE_TRUST_PROXY: '127.0.0.1' });
});

test('2,000 wrong passwords: the limiter holds, refused attempts cost no hashing, an honest user logs in throughout', async () => {
  const report = await runLoginAbuse(gw, { attempts: ATTEMPTS, addresses: ADDRESSES, usernames: USERNAMES, concurrency: 16, honestEveryMs: 7000 });
  const summary = JSON.stringify(report);
  assert.is(report.outcomes.ok, undefined, summary);
  assert.is((report.outcomes[ErrorName.Login] ?? 0) + (report.outcomes[ErrorName.RateLimited] ?? 0), ATTEMPTS, summary);
  // The limiter holds: no address got more than its 20 checked failures, no username more than its 5.
  assert.ok(report.maxCheckedPerAddress <= 20, summary);
  assert.ok(report.maxCheckedPerUsername <= 5, summary);
  assert.ok(report.outcomes[ErrorName.Login] <= Math.min(ADDRESSES * 20, USERNAMES * 5), summary);
  // Refused attempts cost no hashing: the node hashed exactly the attempts it answered LoginError, and the honest logins.
  assert.is(report.hashed, report.outcomes[ErrorName.Login] + report.honest.filter((h) => h === 'ok').length, summary);
  assert.is(report.refusedUnhashed, report.outcomes[ErrorName.RateLimited], summary);
  // The honest user, from an address of her own and a username nobody guessed at, logged in every time.
  assert.ok(report.honest.length >= 2, summary);
  assert.ok(
    report.honest.every((h) => h === 'ok'),
    summary,
  );
});

test.run();
