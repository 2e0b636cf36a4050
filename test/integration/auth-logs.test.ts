// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../server/login/password-hash';
import { Procedure } from '../../shared';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { SECRET, mintHs256, waitFor } from '../helpers/gateway';
import { GatewayProcess } from '../helpers/gateway-process';

const PASSWORD = 'correct horse battery staple';

test('auth events are logged as JSON with the node id, and never a secret', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-logs-'));
  const usersFile = join(dir, 'users.json');
  writeFileSync(usersFile, JSON.stringify([{ username: 'alice', passwordHash: await hashPassword(PASSWORD, { ln: 12, r: 8, p: 1 }), sub: 'user-alice' }]));
  const node = await GatewayProcess.start({
    GATEHOUSE_LOG_LEVEL: 'info',
    GATEHOUSE_NODE_ID: 'log-node',
    GATEHOUSE_USERS_FILE: usersFile,
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
  });
  const token = mintHs256({ sub: 'bob' });
  try {
    const { client } = await node.connect(null);
    await client.invoke(Procedure.Login, { username: 'alice', password: 'wrong password!' }).catch(() => undefined);
    await client.invoke(Procedure.Login, { username: 'alice', password: PASSWORD });
    await client.invoke(Procedure.Logout, {});
    const { client: bob } = await node.connect(token);
    assert.is((await admin(node.port, 'POST', '/admin/disconnect', { sub: 'bob' })).status, 200);
    const { client: carol } = await node.connect(mintHs256({ sub: 'carol' }));
    assert.is((await admin(node.port, 'POST', '/admin/revoke', { sub: 'carol' })).status, 200);
    client.disconnect();
    bob.disconnect();
    carol.disconnect();
  } finally {
    await node.stop();
  }
  await waitFor(() => node.log.includes('shut down'), 3000, 'the shutdown log line');
  const lines = node.log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const messages = lines.map((l) => l.msg);
  for (const msg of ['login failed', 'login succeeded', 'admin disconnect applied', 'revoked', 'revocation applied', 'shutting down', 'shut down']) {
    assert.ok(messages.includes(msg), `logged: ${msg}`);
  }
  for (const line of lines) assert.is(line.nodeId, 'log-node', JSON.stringify(line));
  for (const secret of [PASSWORD, 'wrong password!', SECRET, ADMIN_KEY, token]) {
    assert.not.ok(node.log.includes(secret), 'a secret reached the log');
  }
});

test.run();
