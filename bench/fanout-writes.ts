/**
 * The broker's two ways of writing a publish to a WebSocket, side by side in one process: a frame made once and shared
 * by every subscriber (server/sc/preframed-writes.ts), against ws' own `send` per socket, which the broker falls back
 * to for a socket that reports a negotiated extension (here every socket is made to report one). Server CPU per
 * delivery and the garbage collections of each, at fan-out 1 (one subscriber per channel) and fan-out 200 (one
 * channel), interleaved over the passes. The stock socketcluster-client subscribers run in a child process.
 *
 *   npx tsx bench/fanout-writes.ts [passes=5] [sockets=200]
 *
 * Much steadier than the system bench on a shared machine (one process, no load generator, no latency loop), but it
 * measures the fan-out alone: no inbound publish, no rules.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import * as socketClusterClient from 'socketcluster-client';
import * as socketClusterServer from 'socketcluster-server';
import { ClusterBroker } from '../server/cluster/broker';

const ROUNDS = 1000;
/** Deliveries that may be in flight before the publisher waits for the subscribers. */
const IN_FLIGHT = 2000;
const WAIT_LIMIT_MS = 30_000;

/** The child: `sockets` clients, client i subscribed to `c<i>` and to `all`; reports deliveries every 500. */
async function subscribers(port: number, sockets: number): Promise<void> {
  let got = 0;
  for (let i = 0; i < sockets; i++) {
    const client = socketClusterClient.create({ hostname: '127.0.0.1', port, autoReconnect: false });
    for (const name of [`c${i}`, 'all']) {
      const channel = client.subscribe(name);
      void (async () => {
        for await (const _ of channel) if (++got % 500 === 0) process.send?.(got);
      })();
      await channel.listener('subscribe').once(10_000);
    }
  }
  process.send?.('ready');
  process.on('disconnect', () => process.exit(0));
}

async function main(passes: number, sockets: number): Promise<void> {
  const http = createServer();
  const broker = new ClusterBroker();
  const server = socketClusterServer.attach(http, { brokerEngine: broker });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const child = fork(__filename, ['--subscribers', String((http.address() as AddressInfo).port), String(sockets)], { execArgv: process.execArgv });
  let gcCount = 0;
  const gc = new PerformanceObserver((list) => (gcCount += list.getEntries().length));
  gc.observe({ entryTypes: ['gc'] });
  try {
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the subscribers did not connect within 60 s')), 60_000);
      child.on('message', (m) => {
        if (m !== 'ready') got = m as number;
        else {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const wss = Object.values(server.clients).map((socket) => socket.socket as unknown as Record<string, unknown>);
    const useSend = (on: boolean) => {
      for (const ws of wss) {
        if (on) Object.defineProperty(ws, 'extensions', { value: 'forced', configurable: true });
        else delete ws.extensions;
      }
    };
    let sent = 0;
    const caughtUp = async (behind: number) => {
      const deadline = Date.now() + WAIT_LIMIT_MS;
      while (got < sent - behind) {
        if (Date.now() > deadline) throw new Error(`${sent - got} deliveries missing after ${WAIT_LIMIT_MS} ms`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const data = { text: 'x'.repeat(60), n: 0 };
    const run = async (fanout: 1 | 200, rounds: number) => {
      for (let r = 0; r < rounds; r++) {
        data.n++;
        if (fanout === 200) void broker.transmitPublish('all', data);
        else for (let i = 0; i < sockets; i++) void broker.transmitPublish(`c${i}`, data);
        sent += sockets;
        if (r % 10 === 9) await caughtUp(IN_FLIGHT);
      }
      await caughtUp(500);
    };
    for (const on of [false, true]) {
      useSend(on);
      await run(1, 100);
      await run(200, 100);
    }
    const results: Record<string, string[]> = {};
    for (let pass = 0; pass < passes; pass++) {
      for (const fanout of [1, 200] as const) {
        for (const mode of pass % 2 ? ['send', 'shared'] : ['shared', 'send']) {
          useSend(mode === 'send');
          const gcBefore = gcCount;
          const before = sent;
          const cpu = process.cpuUsage();
          await run(fanout, ROUNDS);
          const used = process.cpuUsage(cpu);
          (results[`fan-out ${fanout}, ${mode}`] ??= []).push(`${((used.user + used.system) / (sent - before)).toFixed(2)} µs, ${gcCount - gcBefore} GCs`);
        }
      }
    }
    for (const [name, figures] of Object.entries(results)) process.stdout.write(`${name.padEnd(22)} ${figures.join(' | ')}\n`);
  } finally {
    gc.disconnect();
    child.kill();
    await server.close();
    http.closeAllConnections();
    http.close();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--subscribers') void subscribers(Number(args[1]), Number(args[2]));
else void main(Number(args[0] ?? 5), Number(args[1] ?? 200));
