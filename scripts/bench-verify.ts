/**
 * `npm run bench`: what token verification costs, and what it does to handshake throughput.
 *
 * 1. µs per sign and per verify: jsonwebtoken 9 with a string secret against a KeyObject, and Gatehouse's own
 *    verifyToken / signClaims for HS256, RS256 and ES256.
 * 2. Handshakes: N sequential and M concurrent socketcluster-client handshakes carrying a valid token, against a
 *    Gatehouse gateway and against a stock AGServer (`attach(http, {authKey: <string>, authAlgorithm: 'HS256'})`),
 *    each server in its own child process so the clients' cost stays out of its CPU figure. Reports wall-clock
 *    throughput, the server's CPU per handshake, and the ratios.
 *
 * Everything runs on 127.0.0.1, bounded in count and in time (the whole run is killed after 90 s). Figures from a
 * shared machine: compare ratios, not absolutes. Options: --quick (fewer iterations), --json (machine-readable line).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import jwt from 'jsonwebtoken';
import * as socketClusterClient from 'socketcluster-client';
import * as socketClusterServer from 'socketcluster-server';
import { KeyRing } from '../server/auth/keyring';
import { signClaims, stampClaims } from '../server/auth/sign';
import { verifyToken } from '../server/auth/verify';
import { loadConfig } from '../server/config';
import { Gateway } from '../server/gateway';
import { createLogger } from '../server/log';

const SECRET = randomBytes(32).toString('base64url');
const RUN_LIMIT_MS = 90_000;
const QUICK = process.argv.includes('--quick');

// ---------------------------------------------------------------------------------------------------------------
// Servers (child processes)

type ServerKind = 'gatehouse' | 'stock';

/** Runs one server in this (child) process: prints its port, answers "cpu" on stdin with its CPU time in µs. */
async function serve(kind: ServerKind, secret: string): Promise<void> {
  let port: number;
  if (kind === 'gatehouse') {
    const config = loadConfig({
      env: { GATEHOUSE_AUTH_KEY: secret, GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_PORT: '0', GATEHOUSE_LOG_LEVEL: 'silent' },
    });
    const gateway = new Gateway(config, { log: createLogger('silent') });
    port = (await gateway.listen()).port;
  } else {
    const http = createServer();
    socketClusterServer.attach(http, { authKey: secret, authAlgorithm: 'HS256' });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  }
  process.stdout.write(`port ${port}\n`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.stdout.write(`cpu ${user + system}\n`);
    }
  }).on('close', () => process.exit(0));
}

/** A server child and a way to read its CPU clock. */
class ServerChild {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private wake?: () => void;

  constructor(readonly kind: ServerKind) {
    this.child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve', kind], {
      env: { PATH: process.env.PATH ?? '', BENCH_SECRET: SECRET },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      this.wake?.();
    });
  }

  private async next(prefix: string): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const i = this.lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return this.lines.splice(i, 1)[0].slice(prefix.length);
      if (Date.now() > deadline) throw new Error(`${this.kind} server did not answer "${prefix}"`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  async port(): Promise<number> {
    return Number(await this.next('port '));
  }

  /** The server's CPU time so far, µs. */
  async cpu(): Promise<number> {
    this.child.stdin!.write('cpu\n');
    return Number(await this.next('cpu '));
  }

  stop(): void {
    this.child.stdin!.end();
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Micro-benchmarks

interface MicroResult {
  readonly name: string;
  readonly usPerOp: number;
  readonly ops: number;
}

/** Runs `fn` after a warm-up until `iterations` or `maxMs`, whichever first; µs per call. */
function measure(name: string, fn: () => unknown, iterations: number, maxMs: number): MicroResult {
  const warm = Math.max(10, Math.floor(iterations / 10));
  for (let i = 0; i < warm; i++) fn();
  const start = process.hrtime.bigint();
  const limit = start + BigInt(maxMs) * 1_000_000n;
  let ops = 0;
  while (ops < iterations) {
    fn();
    ops++;
    if ((ops & 63) === 0 && process.hrtime.bigint() > limit) break;
  }
  const us = Number(process.hrtime.bigint() - start) / 1000 / ops;
  return { name, usPerOp: us, ops };
}

function micro(): MicroResult[] {
  const scale = QUICK ? 0.2 : 1;
  const slow = Math.round(2000 * scale);
  const fast = Math.round(20_000 * scale);
  const asym = Math.round(3000 * scale);
  const maxMs = QUICK ? 400 : 1500;

  const now = () => Math.floor(Date.now() / 1000);
  const claims = () => ({ sub: 'user-1234', channels: ['chat:*'], iat: now(), exp: now() + 600 });
  const secretKey = createSecretKey(Buffer.from(SECRET));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ring = new KeyRing({
    secret: Buffer.from(SECRET),
    jwks: [{ kid: 'rsa', alg: 'RS256', key: rsa.publicKey }, { kid: 'ec', alg: 'ES256', key: ec.publicKey }],
  });
  const policy = { clockToleranceMs: 5000, maxTokenLifetimeMs: 86_400_000, tokenTtlMs: 600_000 };

  const hsToken = jwt.sign(claims(), SECRET, { algorithm: 'HS256' });
  const rsToken = jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256', keyid: 'rsa' });
  const esToken = jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256', keyid: 'ec' });
  const signers = {
    HS256: { key: secretKey, alg: 'HS256' as const },
    RS256: { key: rsa.privateKey, alg: 'RS256' as const, kid: 'rsa' },
    ES256: { key: ec.privateKey, alg: 'ES256' as const, kid: 'ec' },
  };

  return [
    measure('jsonwebtoken sign HS256, string secret', () => jwt.sign(claims(), SECRET, { algorithm: 'HS256' }), slow, maxMs),
    measure('jsonwebtoken sign HS256, KeyObject', () => jwt.sign(claims(), secretKey, { algorithm: 'HS256' }), fast, maxMs),
    measure('jsonwebtoken verify HS256, string secret', () => jwt.verify(hsToken, SECRET, { algorithms: ['HS256'] }), slow, maxMs),
    measure('jsonwebtoken verify HS256, KeyObject', () => jwt.verify(hsToken, secretKey, { algorithms: ['HS256'] }), fast, maxMs),
    measure('gatehouse verifyToken HS256', () => verifyToken(hsToken, ring, policy, Date.now()), fast, maxMs),
    measure('gatehouse verifyToken RS256 (2048)', () => verifyToken(rsToken, ring, policy, Date.now()), fast, maxMs),
    measure('gatehouse verifyToken ES256', () => verifyToken(esToken, ring, policy, Date.now()), asym, maxMs),
    measure('gatehouse sign HS256', () => signClaims(stampClaims({ sub: 'u' }, policy, Date.now()), signers.HS256), fast, maxMs),
    measure('gatehouse sign RS256 (2048)', () => signClaims(stampClaims({ sub: 'u' }, policy, Date.now()), signers.RS256), Math.round(asym / 3), maxMs),
    measure('gatehouse sign ES256', () => signClaims(stampClaims({ sub: 'u' }, policy, Date.now()), signers.ES256), asym, maxMs),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Handshakes

interface HandshakeResult {
  readonly server: ServerKind;
  readonly mode: 'sequential' | 'concurrent';
  readonly count: number;
  readonly ms: number;
  readonly perSecond: number;
  readonly serverCpuUsPerHandshake: number;
  readonly failures: number;
}

/** Opens one client with the token and resolves whether the handshake authenticated it. */
async function handshake(port: number, token: string): Promise<{ ok: boolean; client: socketClusterClient.AGClientSocket }> {
  let stored: string | null = token;
  const client = socketClusterClient.create({
    hostname: '127.0.0.1', port, autoReconnect: false, connectTimeout: 10_000,
    authEngine: {
      saveToken: async (_n: string, t: string) => { stored = t; return t; },
      loadToken: async () => stored,
      removeToken: async () => { const old = stored; stored = null; return old; },
    } as never,
  });
  const events = client as unknown as { listener(n: string): { once(ms?: number): Promise<{ isAuthenticated?: boolean }> } };
  try {
    const status = await events.listener('connect').once(10_000);
    return { ok: status.isAuthenticated === true, client };
  } catch {
    return { ok: false, client };
  }
}

async function sequential(server: ServerChild, port: number, token: string, n: number): Promise<HandshakeResult> {
  const cpu0 = await server.cpu();
  const start = performance.now();
  let failures = 0;
  for (let i = 0; i < n; i++) {
    const { ok, client } = await handshake(port, token);
    if (!ok) failures++;
    client.disconnect();
  }
  const ms = performance.now() - start;
  const cpu = (await server.cpu()) - cpu0;
  return { server: server.kind, mode: 'sequential', count: n, ms, perSecond: (n / ms) * 1000, serverCpuUsPerHandshake: cpu / n, failures };
}

async function concurrent(server: ServerChild, port: number, token: string, m: number): Promise<HandshakeResult> {
  const cpu0 = await server.cpu();
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: m }, () => handshake(port, token)));
  const ms = performance.now() - start;
  const cpu = (await server.cpu()) - cpu0;
  for (const { client } of results) client.disconnect();
  await new Promise((r) => setTimeout(r, 200)); // let the closes land before the next round
  const failures = results.filter((r) => !r.ok).length;
  return { server: server.kind, mode: 'concurrent', count: m, ms, perSecond: (m / ms) * 1000, serverCpuUsPerHandshake: cpu / m, failures };
}

async function handshakes(): Promise<HandshakeResult[]> {
  const n = QUICK ? 100 : 400;
  const m = QUICK ? 100 : 300;
  const rounds = QUICK ? 1 : 2;
  const servers = [new ServerChild('gatehouse'), new ServerChild('stock')];
  try {
    const ports = await Promise.all(servers.map((s) => s.port()));
    const now = Math.floor(Date.now() / 1000);
    const token = jwt.sign({ sub: 'bench-user', channels: ['chat:*'], iat: now, exp: now + 3600 }, SECRET, { algorithm: 'HS256' });
    // Warm both up, then alternate so neither always runs on a cold or a hot machine.
    for (let i = 0; i < 2; i++) await Promise.all(servers.map(async (s, j) => (await sequential(s, ports[j], token, 30)).failures));
    const out: HandshakeResult[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const j of order) out.push(await sequential(servers[j], ports[j], token, n));
      for (const j of order) out.push(await concurrent(servers[j], ports[j], token, m));
    }
    return out;
  } finally {
    for (const s of servers) s.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

/** Sums the rounds of one server and mode into one figure. */
function combine(results: HandshakeResult[], server: ServerKind, mode: HandshakeResult['mode']) {
  const rs = results.filter((r) => r.server === server && r.mode === mode);
  const count = rs.reduce((a, r) => a + r.count, 0);
  const ms = rs.reduce((a, r) => a + r.ms, 0);
  const cpu = rs.reduce((a, r) => a + r.serverCpuUsPerHandshake * r.count, 0);
  return { count, perSecond: (count / ms) * 1000, cpuUs: cpu / count, failures: rs.reduce((a, r) => a + r.failures, 0) };
}

async function main(): Promise<void> {
  const killer = setTimeout(() => {
    process.stderr.write(`bench: over ${RUN_LIMIT_MS / 1000}s, giving up\n`);
    process.exit(1);
  }, RUN_LIMIT_MS);
  killer.unref();
  const started = Date.now();
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (x: number, d = 1) => x.toFixed(d).padStart(9);

  process.stdout.write(`Gatehouse bench (node ${process.version}, ${(await import('node:os')).cpus().length} CPUs${QUICK ? ', quick' : ''})\n\n`);
  const micros = micro();
  process.stdout.write(`${pad('operation', 44)}    µs/op      ops\n`);
  for (const r of micros) process.stdout.write(`${pad(r.name, 44)}${num(r.usPerOp, 2)}${String(r.ops).padStart(9)}\n`);
  const us = (name: string) => micros.find((r) => r.name === name)!.usPerOp;
  process.stdout.write(`\nstring secret ÷ KeyObject: sign ×${(us('jsonwebtoken sign HS256, string secret') / us('jsonwebtoken sign HS256, KeyObject')).toFixed(1)}, `
    + `verify ×${(us('jsonwebtoken verify HS256, string secret') / us('jsonwebtoken verify HS256, KeyObject')).toFixed(1)}\n\n`);

  const hs = await handshakes();
  process.stdout.write(`${pad('handshakes with a token', 46)}  count  handshakes/s  server CPU µs/handshake  failures\n`);
  const summary: Record<string, ReturnType<typeof combine>> = {};
  for (const mode of ['sequential', 'concurrent'] as const) {
    for (const server of ['gatehouse', 'stock'] as const) {
      const c = combine(hs, server, mode);
      summary[`${server}-${mode}`] = c;
      const label = server === 'gatehouse' ? 'Gatehouse gateway' : 'stock AGServer (string authKey)';
      process.stdout.write(`${pad(`${label}, ${mode}`, 46)}${String(c.count).padStart(7)}${num(c.perSecond, 0)}     ${num(c.cpuUs, 0)}              ${c.failures}\n`);
    }
  }
  const ratios: Record<string, number> = {};
  for (const mode of ['sequential', 'concurrent'] as const) {
    const g = summary[`gatehouse-${mode}`];
    const s = summary[`stock-${mode}`];
    ratios[`${mode}Throughput`] = g.perSecond / s.perSecond;
    ratios[`${mode}ServerCpu`] = g.cpuUs / s.cpuUs;
    process.stdout.write(`${mode}: Gatehouse ÷ stock throughput ×${ratios[`${mode}Throughput`].toFixed(2)}, server CPU per handshake ×${ratios[`${mode}ServerCpu`].toFixed(2)}\n`);
  }
  process.stdout.write(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ micro: micros, handshakes: summary, ratios })}\n`);
  }
  const failures = hs.reduce((a, r) => a + r.failures, 0);
  process.exit(failures === 0 ? 0 : 1);
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  void serve(process.argv[serveAt + 1] as ServerKind, process.env.BENCH_SECRET ?? '');
} else {
  main().catch((err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
