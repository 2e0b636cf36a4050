// Measures how many revocation entries a login + logout leaves in Redis, how large each is, and how long each lives,
// for the three kinds of session a logout can end: one the gateway's login opened, a token from your backend with
// its own sid, and one with a jti but no sid. A gateway runs in this process against a private redis-server, with
// the defaults (GATEHOUSE_TOKEN_TTL 15m, GATEHOUSE_MAX_TOKEN_LIFETIME 24h, GATEHOUSE_CLOCK_TOLERANCE 5s).
//   npx tsx scripts/revocation-growth.ts [cycles=200]
import * as socketClusterClient from 'socketcluster-client';
import type { AGClientSocket } from 'socketcluster-client';
import { mintHs256, nextEvent } from '../test/helpers/gateway';
import { startLoginGateway, writeUsersFile } from '../test/helpers/login';
import { TestRedis } from '../test/helpers/redis-server';

const cycles = Number(process.argv[2] ?? 200);
const PASSWORD = 'correct horse battery staple';

async function main(): Promise<void> {
  const redis = await TestRedis.start();
  const admin = redis.client();
  const usersFile = await writeUsersFile([{ username: 'alice', password: PASSWORD, sub: 'user-alice' }]);
  // One user logs in once per cycle: lift the per-username attempt rate (10 a minute by default) out of the way.
  const gw = await startLoginGateway({
    GATEHOUSE_REDIS_URL: redis.url,
    GATEHOUSE_USERS_FILE: usersFile,
    GATEHOUSE_RENEW_INTERVAL: '0',
    GATEHOUSE_LOGIN_RATE_PER_USER: '100000',
    GATEHOUSE_LOGIN_RATE_PER_IP: '100000',
  });
  const client: AGClientSocket = socketClusterClient.create({ hostname: '127.0.0.1', port: gw.address().port, autoReconnect: false, ackTimeout: 5000 });
  await nextEvent(client, 'connect', 5000);
  try {
    const kinds: [string, () => Promise<void>][] = [
      [
        'login (RPC) + logout',
        async () => {
          await client.invoke('login', { username: 'alice', password: PASSWORD });
        },
      ],
      [
        'backend token with sid + logout',
        async () => {
          await client.authenticate(
            mintHs256({ sub: 'user-bob', sid: `sid-${Math.random().toString(36).slice(2)}`, jti: `jti-${Math.random().toString(36).slice(2)}` }),
          );
        },
      ],
      [
        'backend token with jti, no sid + logout',
        async () => {
          await client.authenticate(mintHs256({ sub: 'user-carol', jti: `jti-${Math.random().toString(36).slice(2)}` }));
        },
      ],
    ];
    console.log(`${cycles} cycles each, node ${process.version}, redis-server on 127.0.0.1`);
    for (const [label, login] of kinds) {
      await admin.flushall();
      for (let i = 0; i < cycles; i++) {
        await login();
        await client.invoke('logout', undefined);
      }
      const keys = await admin.keys('{gatehouse}:rv:*');
      const bytes: number[] = [];
      const ttls: number[] = [];
      for (const key of keys) {
        bytes.push(Number(await admin.memory('USAGE', key)));
        ttls.push(await admin.pttl(key));
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      const ttlS = mean(ttls) / 1000;
      console.log(
        `${label}: ${(keys.length / cycles).toFixed(2)} entries per logout, ${mean(bytes).toFixed(0)} bytes per entry `
          + `(MEMORY USAGE), living ${ttlS.toFixed(0)} s; at one logout a second that is ${Math.round(ttlS)} entries, `
          + `${((mean(bytes) * ttlS) / 1024 / 1024).toFixed(1)} MiB held; e.g. ${keys[0]}`,
      );
    }
  } finally {
    client.disconnect();
    await gw.close();
    admin.disconnect();
    await redis.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
