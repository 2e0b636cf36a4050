import { request as httpRequestRaw } from 'node:http';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import * as socketClusterClient from 'socketcluster-client';
import type { AGClientSocket } from 'socketcluster-client';
import { ConfigError, loadConfig, type GatewayConfig } from '../../server/config';
import { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';

export const SECRET = 'test-secret-test-secret-test-secret-0123456789';

/** Settings every test gateway gets unless it overrides them: loopback, port 0, a known HS256 secret. */
export const BASE_ENV: Record<string, string> = {
  GATEHOUSE_HOST: '127.0.0.1',
  GATEHOUSE_PORT: '0',
  GATEHOUSE_AUTH_KEY: SECRET,
  GATEHOUSE_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  GATEHOUSE_SHUTDOWN_TIMEOUT: '2s',
  // Tests open many sockets from 127.0.0.1 at once; the connection-flood tests set their own limits.
  GATEHOUSE_MAX_CONNECTIONS_PER_IP: '100000',
  GATEHOUSE_HANDSHAKE_RATE_PER_IP: '100000',
  // Nor is a test connection shed for a loaded machine's slow event loop; the pacing tests set their own.
  GATEHOUSE_MAX_HANDSHAKE_RATE: '0',
  GATEHOUSE_MAX_LOOP_DELAY: '0',
};

export function testConfig(env: Record<string, string | undefined> = {}): GatewayConfig {
  return loadConfig({ env: { ...BASE_ENV, ...env } });
}

/** The problems `testConfig(env)` reports, each `VARIABLE: what is wrong`; empty when it accepts the settings. */
export function configProblems(env: Record<string, string | undefined>): string[] {
  try {
    testConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}

/** Starts a real gateway on 127.0.0.1:0. Close it with `await gw.close()`. */
export async function startGateway(env: Record<string, string | undefined> = {}): Promise<Gateway> {
  const config = testConfig(env);
  const gateway = new Gateway(config, { log: createLogger(config.logLevel) });
  await gateway.listen();
  return gateway;
}

/** Mints an HS256 token the way an app backend would. */
export function mintHs256(claims: Record<string, unknown>, opts: jwt.SignOptions = {}, secret: string = SECRET): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ iat: now, exp: now + 300, ...claims }, secret, { algorithm: 'HS256', ...opts });
}

export interface TestKeyPair {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function makeKeyPair(alg: 'RS256' | 'ES256', kid: string): TestKeyPair {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, ...pair };
}

export function mintWithKey(pair: TestKeyPair, claims: Record<string, unknown>, opts: jwt.SignOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ iat: now, exp: now + 300, ...claims }, pair.privateKey, { algorithm: pair.alg, keyid: pair.kid, ...opts });
}

/** A JWK Set document for some key pairs. */
export function jwksOf(...pairs: TestKeyPair[]): string {
  return JSON.stringify({
    keys: pairs.map((p) => ({ ...(p.publicKey.export({ format: 'jwk' }) as object), kid: p.kid, alg: p.alg, use: 'sig' })),
  });
}

/** Where a test client connects: an in-process gateway, or the port of one running elsewhere. */
export type ClientTarget = Gateway | number;

/** A real socketcluster-client for a test gateway; reconnection off so failures surface at once. */
export function connectClient(target: ClientTarget, opts: Partial<AGClientSocket.ClientOptions> = {}): AGClientSocket {
  return socketClusterClient.create({
    hostname: '127.0.0.1',
    port: typeof target === 'number' ? target : target.address().port,
    autoReconnect: false,
    ackTimeout: 2000,
    connectTimeout: 3000,
    ...opts,
  });
}

/** An auth engine for the client that starts with a given token already stored. */
export function storedToken(token: string | null) {
  let current = token;
  return {
    saveToken: async (_name: string, t: string) => {
      current = t;
      return t;
    },
    loadToken: async () => current,
    removeToken: async () => {
      const old = current;
      current = null;
      return old;
    },
    get current() {
      return current;
    },
  };
}

/** The client's connect status, including the authError the @types omit. */
export interface ConnectStatus {
  id: string;
  isAuthenticated: boolean;
  authError?: { name: string; message: string; isBadToken?: boolean };
}

/** Waits for the next event on a client listener, failing after `ms`. */
export async function nextEvent<T = unknown>(socket: AGClientSocket, name: string, ms = 3000): Promise<T> {
  const stream = (socket as unknown as { listener(n: string): { once(timeout?: number): Promise<T> } }).listener(name);
  return stream.once(ms);
}

/** A client with its connect status and its token storage (`auth.current`), as `connectWithToken` resolves. */
export interface Connected {
  client: AGClientSocket;
  status: ConnectStatus;
  auth: ReturnType<typeof storedToken>;
}

/**
 * Connects a client with a token and resolves its connect status, failing after `waitMs`. The one way tests connect:
 * `own`, when given, is handed the client as soon as it exists, so a handshake that fails still leaves it to be closed.
 */
export async function connectWithToken(
  target: ClientTarget,
  token: string | null,
  opts: Partial<AGClientSocket.ClientOptions> = {},
  waitMs = 3000,
  own: (client: AGClientSocket) => void = () => {},
): Promise<Connected> {
  const auth = storedToken(token);
  const client = connectClient(target, { authEngine: auth, ...opts });
  own(client);
  const status = await nextEvent<ConnectStatus>(client, 'connect', waitMs);
  return { client, status, auth };
}

/** Polls until `done()` is true; throws after `ms`. */
export async function waitFor(done: () => boolean | Promise<boolean>, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One HTTP request to a test gateway on a fresh connection (no keep-alive left behind): status and parsed JSON body. */
export function httpRequest(port: number, path: string, method = 'GET'): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw({ host: '127.0.0.1', port, path, method, agent: false, headers: { connection: 'close' }, timeout: 3000 }, (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (d: string) => {
          text += d;
        })
        .on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
