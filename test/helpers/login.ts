import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AGClientSocket } from 'socketcluster-client';
import type { GatewayConfig } from '../../server/config';
import { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';
import { hashPassword, type ScryptParams } from '../../server/login/password-hash';
import { testConfig } from './gateway';

/** Cheap scrypt parameters for test users (the file accepts any in range; production uses the defaults). */
export const FAST_SCRYPT: ScryptParams = { ln: 10, r: 8, p: 1 };

export interface TestUser {
  readonly username: string;
  readonly password: string;
  readonly sub: string;
  readonly channels?: unknown;
  readonly claims?: Record<string, unknown>;
}

/** Writes a users file for some users (hashed with FAST_SCRYPT) into a fresh temp dir; returns its path. */
export async function writeUsersFile(users: readonly TestUser[], path = join(mkdtempSync(join(tmpdir(), 'gatehouse-users-')), 'users.json')): Promise<string> {
  const entries = await Promise.all(users.map(async ({ password, ...rest }) => ({ ...rest, passwordHash: await hashPassword(password, FAST_SCRYPT) })));
  writeFileSync(path, JSON.stringify(entries));
  return path;
}

/** Starts a gateway with env settings and, optionally, internal config fields no setting reaches (e.g. loginTimeoutMs). */
export async function startLoginGateway(env: Record<string, string | undefined>, overrides: Partial<GatewayConfig> = {}): Promise<Gateway> {
  const config = { ...testConfig(env), ...overrides };
  const gateway = new Gateway(config, { log: createLogger(config.logLevel) });
  await gateway.listen();
  return gateway;
}

/** The outcome of an RPC login: the answer, or the error name the client saw. */
export interface InvokeOutcome {
  readonly answer?: { sub: string; sid: string; expiresAt: number; expiresIn: number };
  readonly error?: { name: string; message: string; retryAfter?: number };
}

export async function invokeLogin(client: AGClientSocket, data: unknown): Promise<InvokeOutcome> {
  try {
    return { answer: (await client.invoke('login', data)) as InvokeOutcome['answer'] };
  } catch (err) {
    return { error: err as InvokeOutcome['error'] };
  }
}

/** The outcome of POST /auth/login. */
export interface HttpOutcome {
  readonly status: number;
  readonly body: { token?: string; expiresAt?: number; expiresIn?: number; error?: { name: string; message: string } };
  readonly headers: Headers;
}

export async function postLogin(gateway: Gateway, body: unknown, headers: Record<string, string> = {}): Promise<HttpOutcome> {
  const res = await fetch(`http://127.0.0.1:${gateway.address().port}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as HttpOutcome['body']) : {}, headers: res.headers };
}

/** What a test login backend does with one request. */
export type BackendHandler = (body: { username?: string; password?: string }, res: ServerResponse, req: IncomingMessage) => void;

/**
 * A login backend on 127.0.0.1 for tests: counts requests, answers with the current handler, and can be stopped and
 * started again on the same port.
 */
export class TestBackend {
  calls = 0;
  handler: BackendHandler = (_b, res) => res.writeHead(500).end();
  private server?: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/login`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (d) => {
        text += d;
      });
      req.on('end', () => {
        this.calls++;
        let body = {};
        try {
          body = JSON.parse(text) as object;
        } catch {
          /* the handler sees {} */
        }
        this.handler(body, res, req);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Answers after `ms` (the timer is cleared at stop). */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

/** Answers JSON. */
export function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** The decoded payload of a JWT (no verification: tests check claims the gateway already verified). */
export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}
