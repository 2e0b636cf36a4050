// Standing suite "Login abuse" (SECURITY.md), long version: wrong passwords across many usernames and client addresses
// through a trusted proxy's X-Forwarded-For, against a real gateway with the default login limits, while an honest
// user logs in from an address of her own every 7 s. Prints the report as JSON and exits 1 if the limiter let more
// through than its limits, hashed a refused attempt, or the honest user was ever refused.
//   npx tsx scripts/login-abuse.ts [attempts=10000] [addresses=200] [usernames=1000] [concurrency=32]
import { startGateway } from '../test/helpers/gateway';
import { runLoginAbuse, writeAbuseUsersFile } from '../test/helpers/login-abuse';

const attempts = Number(process.argv[2] ?? 10_000);
const addresses = Number(process.argv[3] ?? 200);
const usernames = Number(process.argv[4] ?? 1000);
const concurrency = Number(process.argv[5] ?? 32);

async function main(): Promise<void> {
  const gateway = await startGateway({ GATEHOUSE_USERS_FILE: await writeAbuseUsersFile(), GATEHOUSE_TRUST_PROXY: '127.0.0.1' });
  try {
    const report = await runLoginAbuse(gateway, { attempts, addresses, usernames, concurrency, honestEveryMs: 7000 });
    const checked = report.outcomes.LoginError ?? 0;
    const problems = [
      report.maxCheckedPerAddress > 20 && `an address had ${report.maxCheckedPerAddress} wrong passwords checked (limit 20)`,
      report.maxCheckedPerUsername > 5 && `a username had ${report.maxCheckedPerUsername} wrong passwords checked (limit 5)`,
      report.outcomes.ok && `${report.outcomes.ok} guesses succeeded`,
      report.hashed !== checked + report.honest.filter((h) => h === 'ok').length && 'a refused attempt was hashed',
      report.honest.some((h) => h !== 'ok') && `the honest user was refused: ${report.honest.join(', ')}`,
    ].filter(Boolean);
    console.log(JSON.stringify({ ...report, attemptsPerSecond: Math.round(attempts / (report.durationMs / 1000)), problems }, null, 2));
    process.exitCode = problems.length > 0 ? 1 : 0;
  } finally {
    await gateway.close();
  }
}

void main();
