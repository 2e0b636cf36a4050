// Protocol fuzzing over raw WebSockets, shared by the short run in npm test (test/integration/protocol-fuzz.test.ts)
// and the long one (scripts/fuzz-protocol.ts). fast-check generates scenarios: a few raw connections, each sent a
// sequence of frames, from well-formed SocketCluster packets with hostile fields to mutated and random text and binary
// frames. After each scenario the node is checked against the invariants (checkInvariants).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import WebSocket from 'ws';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { claimsOf, type ServerSocket } from '../../server/sc/facade';
import { connectWithToken, mintHs256, sleep } from './gateway';
import { subscribe, type Inbox } from './channels';
import { startLoginGateway, writeUsersFile } from './login';
import { textOf } from './raw-socket';

const MAX_PAYLOAD = 64 * 1024;
/** Grants from the operator's file, on top of what tokens grant. */
const CHANNEL_RULES = { anyone: ['public:*'], authenticated: ['lobby', 'user:{sub}'] };
const USER = { username: 'fuzzer', password: 'fuzz-password', sub: 'fuzz-user', channels: ['room:a'] };

/** The node under fuzz, its observers, and the tokens and names the generator draws from. */
export interface FuzzTarget {
  readonly gateway: Gateway;
  readonly tokens: readonly unknown[];
  readonly channels: readonly string[];
  /** A client that is never fuzzed: it must keep being served. */
  readonly bystander: AGClientSocket;
  readonly bystanderInbox: Inbox;
  /** Server errors (the server's 'error' stream; refusals are not errors). */
  readonly serverErrors: unknown[];
  close(): Promise<void>;
}

export async function startFuzzTarget(env: Record<string, string> = {}): Promise<FuzzTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fuzz-'));
  const channelsFile = join(dir, 'channels.json');
  writeFileSync(channelsFile, JSON.stringify(CHANNEL_RULES));
  const usersFile = await writeUsersFile([USER]);
  const gateway = await startLoginGateway({
    GATEHOUSE_CHANNELS_FILE: channelsFile,
    GATEHOUSE_USERS_FILE: usersFile,
    GATEHOUSE_MAX_PAYLOAD: String(MAX_PAYLOAD),
    GATEHOUSE_MAX_CHANNELS: '8',
    GATEHOUSE_PUBLISH_RATE: '1000',
    GATEHOUSE_PUBLISH_BURST: '1000',
    // Each raw connection comes from its own address through the trusted loopback proxy: the fuzz is about frames,
    // not about one address's connection rate.
    GATEHOUSE_TRUST_PROXY: '127.0.0.1',
    ...env,
  });
  gateway.procedures.register('echo', async (data) => data);
  const serverErrors: unknown[] = [];
  const server = gateway.agServer as unknown as { listener(n: string): AsyncIterable<{ error: unknown }> };
  void (async () => {
    for await (const { error } of server.listener('error')) serverErrors.push(error);
  })();

  const now = Math.floor(Date.now() / 1000);
  const exp = now + 3600;
  const revoked = mintHs256({ sub: 'revoked-user', sid: 'revoked-session', channels: ['*'], exp });
  await gateway.revocation.store.revoke({ kind: 'sid', id: 'revoked-session' });
  // Valid tokens are markers, minted afresh for each scenario under subs of its own (freshTokens): a scenario's
  // `logout {everywhere: true}` revokes its sub, which must not disarm every later scenario.
  const tokens: unknown[] = [
    ...VALID_TOKENS.map((_, i) => tokenMarker(i)),
    revoked,
    mintHs256({ sub: 'late', iat: now - 120, exp: now - 60 }),
    mintHs256({ sub: 'forged', channels: ['*'] }, {}, 'not-the-secret-not-the-secret-not-the-secret'),
    'not.a.token',
    '',
    null,
    42,
    { token: 'x' },
    ['a'],
    { toString: 'x' },
  ];
  const channels = [
    'public:news',
    'lobby',
    'room:a',
    'room:b',
    'secret:x',
    `user:room-a-${RUN_MARKER}`,
    `user:plain-${RUN_MARKER}`,
    'user:fuzz-user',
    'room:*',
    '*',
    '',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    'x'.repeat(300),
    'ünï\u0000cøde',
    ' lobby',
  ];

  const bystander = (await connectWithToken(gateway, mintHs256({ sub: 'bystander', channels: ['room:*'], exp }))).client;
  const bystanderInbox = await subscribe(bystander, 'room:bystander');
  return {
    gateway,
    tokens,
    channels,
    bystander,
    bystanderInbox,
    serverErrors,
    async close() {
      bystanderInbox.stop();
      bystander.disconnect();
      await gateway.close();
    },
  };
}

// ---- generation ----

/** The valid tokens' claims; each scenario's subs get its number appended. */
const VALID_TOKENS: readonly { sub: string; channels?: string[] }[] = [
  { sub: 'room-a', channels: ['room:a'] },
  { sub: 'rooms', channels: ['room:*', 'secret:x'] },
  { sub: 'plain' },
  { sub: 'everything', channels: ['*'] },
];
const RUN_MARKER = '@@run@@';
const tokenMarker = (i: number) => `@@token${i}@@`;
let scenariosRun = 0;

/** Replaces the markers in a scenario's text frames: its own valid tokens and subs. */
function freshTokens(): (text: string) => string {
  const run = String(++scenariosRun);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const minted = VALID_TOKENS.map((t) => mintHs256({ ...t, sub: `${t.sub}-${run}`, exp }));
  return (text) => text.replace(/@@token(\d)@@/g, (_, i: string) => minted[Number(i)]).replaceAll(RUN_MARKER, run);
}

/** One frame as sent: text or binary. */
export type Frame = { text: string } | { binary: Uint8Array };
export interface Scenario {
  /** Frames for each raw connection, sent interleaved in order of `order`. */
  readonly connections: readonly Frame[][];
  readonly order: readonly number[];
}

const EVENTS = [
  '#handshake',
  '#authenticate',
  '#subscribe',
  '#unsubscribe',
  '#removeAuthToken',
  '#publish',
  'login',
  'logout',
  'echo',
  '#setAuthToken',
  '#1',
  'nosuch',
  '__proto__',
];

function cidArb(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 1000 }) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 0, -1, -(2 ** 31), 2 ** 53, 2 ** 64, 1e308, 1.5, Number.MAX_SAFE_INTEGER) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.constant({}), fc.constant([1])) },
  );
}

function frameArbs(target: FuzzTarget) {
  const token = fc.constantFrom(...target.tokens);
  const channel = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...target.channels) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) });
  const smallJson = fc.jsonValue({ maxDepth: 3 });
  const data = fc.oneof(
    { weight: 3, arbitrary: fc.record({ channel, data: fc.option(smallJson) }) },
    { weight: 2, arbitrary: fc.record({ authToken: token }) },
    { weight: 1, arbitrary: token },
    { weight: 1, arbitrary: fc.record({ username: fc.constantFrom(USER.username, 'nobody', ''), password: fc.constantFrom(USER.password, 'wrong', '') }) },
    { weight: 1, arbitrary: fc.record({ everywhere: fc.oneof(fc.boolean(), smallJson) }) },
    { weight: 1, arbitrary: smallJson },
    { weight: 1, arbitrary: fc.record({ channel: smallJson }) },
  );
  const event = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...EVENTS) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null), fc.constant({})) },
  );
  const packet = fc.record({ event, data, cid: cidArb() }, { requiredKeys: ['event'] });
  /** The protocol's own events, well formed, in any order: one frame may batch them all. */
  const protocolPacket = fc.oneof(
    fc.record({ event: fc.constant('#authenticate'), data: token, cid: fc.integer({ min: 1, max: 1000 }) }),
    fc.record({ event: fc.constant('#subscribe'), data: fc.record({ channel }), cid: fc.integer({ min: 1, max: 1000 }) }),
    fc.record({ event: fc.constant('#unsubscribe'), data: channel, cid: fc.integer({ min: 1, max: 1000 }) }),
    fc.record({ event: fc.constant('#removeAuthToken') }),
    fc.record({
      event: fc.constant('#publish'),
      data: fc.record({ channel, data: smallJson }),
      cid: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
    }),
    fc.record({
      event: fc.constant('login'),
      data: fc.record({ username: fc.constantFrom(USER.username, 'nobody'), password: fc.constantFrom(USER.password, 'wrong') }),
      cid: fc.integer({ min: 1, max: 1000 }),
    }),
    fc.record({ event: fc.constant('logout'), cid: fc.integer({ min: 1, max: 1000 }) }),
  );
  const handshake = fc.record({ event: fc.constant('#handshake'), data: fc.record({ authToken: token }), cid: fc.constant(1) });

  const text = (value: unknown) => ({ text: JSON.stringify(value) ?? 'null' });
  const mutate = (s: string, at: number, cut: number, insert: string) => {
    const i = Math.min(at, s.length);
    return s.slice(0, i) + insert + s.slice(i + cut);
  };
  const frame: fc.Arbitrary<Frame> = fc.oneof(
    { weight: 8, arbitrary: packet.map(text) },
    { weight: 4, arbitrary: fc.array(protocolPacket, { minLength: 2, maxLength: 8 }).map(text) },
    { weight: 2, arbitrary: handshake.map(text) },
    { weight: 2, arbitrary: fc.array(packet, { minLength: 1, maxLength: 5 }).map(text) },
    // Mutated packets: bytes cut or inserted anywhere (bad JSON, half frames).
    {
      weight: 2,
      arbitrary: fc
        .tuple(packet, fc.nat(200), fc.nat(6), fc.string({ maxLength: 4 }))
        .map(([p, at, cut, ins]) => ({ text: mutate(JSON.stringify(p), at, cut, ins) })),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((t) => ({ text: t })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '',
          '#1',
          '#2',
          'null',
          '[]',
          '{}',
          '[[[[[]]]]]',
          '"#handshake"',
          '1e999',
          '{"event":"#subscribe","data":{"channel":"lobby"},"cid":1}'.repeat(2),
        )
        .map((t) => ({ text: t })),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ binary: b })) },
    // A subscribe flood in one frame.
    {
      weight: 1,
      arbitrary: fc
        .tuple(channel, fc.integer({ min: 10, max: 200 }))
        .map(([ch, n]) => text(Array.from({ length: n }, (_, i) => ({ event: '#subscribe', data: { channel: i % 2 ? ch : `room:${i}` }, cid: i + 1 })))),
    },
    // Deep nesting and big-but-legal payloads.
    {
      weight: 1,
      arbitrary: fc.integer({ min: 100, max: 5000 }).map((depth) => ({ text: `{"event":"echo","data":${'['.repeat(depth)}${']'.repeat(depth)},"cid":7}` })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1000, max: 60000 }).map((n) => text({ event: '#publish', data: { channel: 'public:big', data: 'b'.repeat(n) }, cid: 9 })),
    },
  );
  return { frame, handshake };
}

/** Scenarios of 1-3 connections with up to `maxFrames` frames each; most connections start with a handshake. */
export function scenarioArb(target: FuzzTarget, maxFrames = 12): fc.Arbitrary<Scenario> {
  const { frame, handshake } = frameArbs(target);
  const connection = fc
    .tuple(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: maxFrames }), handshake)
    .map(([shake, frames, hs]) => (shake ? [{ text: JSON.stringify(hs) }, ...frames] : frames));
  return fc.array(connection, { minLength: 1, maxLength: 3 }).chain((connections) => {
    const slots = connections.flatMap((frames, i) => frames.map(() => i));
    // A shuffle of connection indexes: each index takes that connection's next frame, so its own order is kept.
    return fc.shuffledSubarray(slots, { minLength: slots.length, maxLength: slots.length }).map((order) => ({ connections, order }));
  });
}

// ---- running ----

/** Sends a scenario over fresh raw connections; resolves the number of frames sent once the node is quiet. */
export async function runScenario(target: FuzzTarget, scenario: Scenario): Promise<number> {
  const { port } = target.gateway.address();
  const path = target.gateway.agServer.getPath();
  const sockets = await Promise.all(scenario.connections.map(() => openRaw(`ws://127.0.0.1:${port}${path}`)));
  const next = scenario.connections.map(() => 0);
  const fill = freshTokens();
  let sent = 0;
  try {
    for (const c of scenario.order) {
      const frame = scenario.connections[c][next[c]++];
      const ws = sockets[c];
      if (!frame || ws.readyState !== WebSocket.OPEN) continue;
      if ('text' in frame) ws.send(fill(frame.text));
      else ws.send(frame.binary);
      sent++;
      if (sent % 4 === 0) await new Promise((r) => setImmediate(r));
    }
    await quiet(target.gateway);
  } finally {
    for (const ws of sockets) ws.terminate();
  }
  return sent;
}

let connectionsOpened = 0;

async function openRaw(url: string): Promise<WebSocket> {
  const n = connectionsOpened++;
  const ws = new WebSocket(url, { headers: { 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` } });
  ws.on('error', () => undefined);
  ws.on('message', (message) => {
    if (textOf(message) === '#1' && ws.readyState === WebSocket.OPEN) ws.send('#2');
  });
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
  });
  return ws;
}

/** Waits (at most 3 s) until no socket has inbound packets or procedure calls left to process. */
async function quiet(gateway: Gateway): Promise<void> {
  const deadline = Date.now() + 3000;
  let calm = 0;
  while (Date.now() < deadline && calm < 2) {
    await sleep(5);
    const busy = Object.values(gateway.agServer.clients).some((s) => s.getInboundBackpressure() > 0 || s.getAllProceduresBackpressure() > 0);
    calm = busy ? 0 : calm + 1;
  }
}

// ---- invariants ----

/** A broken invariant, by name, with the socket and detail. */
export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

/**
 * Whether the channel-count invariant only reports instead of failing. It was pending while SocketCluster's
 * `channelSubscriptionsCount` dropped twice when a kick-out (after `#removeAuthToken`) and the client's own
 * `#unsubscribe` of the same channel were in flight together (found by this fuzz: `[#subscribe e, #removeAuthToken,
 * #unsubscribe e]` in one frame left -1); commit 12d7c5a (server/sc/unsubscribe-guard.ts) fixed it, so it now fails
 * a run.
 */
export const CHANNEL_COUNT_PENDING = false;

/**
 * Checks the node after a scenario: it is ready; no socket holds a channel its grants refuse; each socket's channel
 * count equals the channels it holds; the bystander still authenticated and served. Returns every violation (empty
 * when all hold).
 */
export async function checkInvariants(target: FuzzTarget): Promise<Violation[]> {
  const { gateway } = target;
  const out: Violation[] = [];
  if (gateway.state !== 'ready') out.push({ invariant: 'node up', detail: `state ${gateway.state}` });
  const policy = gateway.channels.policy;
  for (const socket of Object.values<ServerSocket>(gateway.agServer.clients)) {
    const matcher = policy.matcherFor(claimsOf(socket));
    const held = Object.keys((socket as unknown as { channelSubscriptions: object }).channelSubscriptions);
    for (const channel of held) {
      if (!matcher.allows('subscribe', channel)) {
        out.push({
          invariant: 'grants',
          detail: `${socket.id} (${String(claimsOf(socket)?.sub ?? 'anonymous')}) holds ${JSON.stringify(channel.slice(0, 40))}`,
        });
      }
    }
    const count = (socket as unknown as { channelSubscriptionsCount: number }).channelSubscriptionsCount;
    if (count !== held.length) {
      out.push({ invariant: 'channel count', detail: `${socket.id} counts ${count} but holds ${held.length}` });
    }
  }
  const { bystander, bystanderInbox } = target;
  if (bystander.authState !== 'authenticated') out.push({ invariant: 'bystander', detail: `authState ${bystander.authState}` });
  try {
    const marker = `m${Math.random()}`;
    await gateway.agServer.exchange.invokePublish('room:bystander', marker);
    const echoed: unknown = await bystander.invoke('echo', marker);
    if (echoed !== marker) out.push({ invariant: 'bystander', detail: 'echo answered wrong' });
    const deadline = Date.now() + 2000;
    while (!bystanderInbox.messages.includes(marker) && Date.now() < deadline) await sleep(5);
    if (!bystanderInbox.messages.includes(marker)) out.push({ invariant: 'bystander', detail: 'publish not delivered' });
    bystanderInbox.messages.length = 0;
  } catch (err) {
    out.push({ invariant: 'bystander', detail: String(err) });
  }
  return out;
}

/** Splits violations into those that fail a run and those of a pending invariant (CHANNEL_COUNT_PENDING). */
export function splitPending(violations: readonly Violation[]): { failing: Violation[]; pending: Violation[] } {
  const isPending = (v: Violation) => CHANNEL_COUNT_PENDING && v.invariant === 'channel count';
  return { failing: violations.filter((v) => !isPending(v)), pending: violations.filter(isPending) };
}

/** Frames in a scenario. */
export function frameCount(scenario: Scenario): number {
  return scenario.connections.reduce((n, frames) => n + frames.length, 0);
}
