import { performance } from 'node:perf_hooks';
import type { Gateway } from '../../server/gateway';
import { sleep } from './gateway';
import { postLogin, writeUsersFile, type TestUser } from './login';

/**
 * The "Login abuse" standing suite (SECURITY.md), shared by test/integration/login-abuse.test.ts (short) and
 * scripts/login-abuse.ts (long): wrong passwords across many usernames and client addresses, sent through a trusted
 * proxy's X-Forwarded-For, while an honest user logs in from an address of her own.
 */
export interface LoginAbuseOptions {
  /** Wrong-password attempts in all. */
  readonly attempts: number;
  /** Client addresses the attempts come from (203.0.113.0/24 and on, through the proxy). */
  readonly addresses: number;
  /** Usernames the attempts target: the first `realAccounts` exist in the users file, the rest do not. */
  readonly usernames: number;
  /** Attempts in flight at once. */
  readonly concurrency: number;
  /** How often the honest user logs in, ms (her own per-username rate is 10 a minute by default). */
  readonly honestEveryMs: number;
}

/** The real accounts the attack guesses at (besides made-up usernames). */
export const REAL_ACCOUNTS = 20;
export const HONEST: TestUser = { username: 'carol', password: 'carol-correct-horse', sub: 'user-carol' };
const HONEST_ADDRESS = '198.51.100.200';

export interface LoginAbuseReport {
  readonly attempts: number;
  readonly durationMs: number;
  /** What the attacker saw, by error name (or `ok`). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Most wrong passwords any one address / username got checked (answered LoginError). */
  readonly maxCheckedPerAddress: number;
  readonly maxCheckedPerUsername: number;
  /** Each of the honest user's logins: `ok` or the error name. */
  readonly honest: readonly string[];
  /** Logins the node checked against a password hash, and logins it refused unchecked (its own counters). */
  readonly hashed: number;
  readonly refusedUnhashed: number;
}

/** The users file the suite's gateway loads: the real accounts and the honest user. */
export function writeAbuseUsersFile(): Promise<string> {
  const accounts = Array.from({ length: REAL_ACCOUNTS }, (_, i) => ({ username: `acct-${i}`, password: `acct-${i}-secret`, sub: `user-acct-${i}` }));
  return writeUsersFile([...accounts, HONEST]);
}

export function usernameOf(i: number): string {
  return i < REAL_ACCOUNTS ? `acct-${i}` : `nobody-${i}`;
}

export function addressOf(i: number): string {
  return `203.0.${113 + Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** Runs the attack against a gateway that trusts 127.0.0.1 as its proxy and loads writeAbuseUsersFile(). */
export async function runLoginAbuse(gateway: Gateway, options: LoginAbuseOptions): Promise<LoginAbuseReport> {
  const before = await loginCounts(gateway);
  const outcomes: Record<string, number> = {};
  const checkedPerAddress = new Map<string, number>();
  const checkedPerUsername = new Map<string, number>();
  const honest: string[] = [];
  let next = 0;
  let attacking = true;

  const attacker = async () => {
    while (next < options.attempts) {
      const i = next++;
      const username = usernameOf(i % options.usernames);
      const address = addressOf(Math.floor(i / options.usernames + i) % options.addresses);
      const res = await postLogin(gateway, { username, password: `guess-${i}` }, { 'x-forwarded-for': address });
      const name = res.status === 200 ? 'ok' : String(res.body.error?.name);
      outcomes[name] = (outcomes[name] ?? 0) + 1;
      if (name === 'LoginError') {
        checkedPerAddress.set(address, (checkedPerAddress.get(address) ?? 0) + 1);
        checkedPerUsername.set(username, (checkedPerUsername.get(username) ?? 0) + 1);
      }
    }
  };
  const honestUser = async () => {
    const login = async () => {
      const res = await postLogin(gateway, { username: HONEST.username, password: HONEST.password }, { 'x-forwarded-for': HONEST_ADDRESS });
      honest.push(res.status === 200 ? 'ok' : String(res.body.error?.name));
    };
    while (attacking) {
      await login();
      const until = performance.now() + options.honestEveryMs;
      while (attacking && performance.now() < until) await sleep(50);
    }
    await login();
  };

  const started = performance.now();
  const honestDone = honestUser();
  await Promise.all(Array.from({ length: options.concurrency }, attacker));
  attacking = false;
  await honestDone;
  const after = await loginCounts(gateway);
  return {
    attempts: options.attempts,
    durationMs: Math.round(performance.now() - started),
    outcomes,
    maxCheckedPerAddress: Math.max(0, ...checkedPerAddress.values()),
    maxCheckedPerUsername: Math.max(0, ...checkedPerUsername.values()),
    honest,
    hashed: after.failure - before.failure + (after.success - before.success),
    refusedUnhashed: after.rate_limited - before.rate_limited,
  };
}

/** The node's own login counters (gatehouse_logins_total by outcome), read from /metrics. */
export async function loginCounts(gateway: Gateway): Promise<Record<'success' | 'failure' | 'rate_limited' | 'unavailable', number>> {
  const res = await fetch(`http://127.0.0.1:${gateway.address().port}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const read = (outcome: string) => Number(new RegExp(`^gatehouse_logins_total\\{outcome="${outcome}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { success: read('success'), failure: read('failure'), rate_limited: read('rate_limited'), unavailable: read('unavailable') };
}
