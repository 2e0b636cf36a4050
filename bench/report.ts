/**
 * Turns a bench run's per-pass figures into the printed table and the summary written to JSON: each figure as the
 * median with its range over the passes, and each target (TARGETS) as a ratio computed within each pass (so
 * both sides of a ratio always ran under the same machine load) with its median, range and verdict.
 */
import { spread, type Spread } from './stats';
import { ALL_SYSTEMS, type SystemName } from './systems';

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly n: number;
}

export interface SystemFigures {
  handshake?: { perSecond: number; serverCpuUsEach: number; latencyMs: Percentiles; failures: number };
  fanout1?: PublishFigures;
  fanout200?: PublishFigures;
  memory?: { connections: number; heapPerConn: number; rssPerConn: number; baseHeap: number; baseRss: number };
  expiry?: { n: number; enforced: number; lagMs: Percentiles };
  revocation?: { latencyMs: Percentiles; closeCodes: Record<string, number> };
  grants?: {
    propagationMs: Percentiles;
    answerMs: Percentiles;
    perSocket: { sockets: number; applied?: Record<string, number>; cpuUsPerSocket: number; allKickedMs: number };
  };
  login?: { perSecond: number; serverCpuMsEach: number; latencyMs: Percentiles; failures: number };
  presence?: PresenceFigures;
}

/** Presence beside the plain subscribe, on a node of two on one Redis. */
export interface PresenceFigures {
  readonly sockets: number;
  readonly plainCpuUsPerSubscribe: number;
  readonly presenceCpuUsPerSubscribe: number;
  /** presence ÷ plain. */
  readonly cpuRatio: number;
  /** Heap one more subscribe holds, to a plain channel and to a presence one (the member's own state included). */
  readonly heapBytesPerPlainSubscribe: number;
  readonly heapBytesPerPresenceSubscribe: number;
  /** Commands Redis ran per join, those inside the scripts included. */
  readonly redisCommandsPerJoin: number;
  /** Requests the nodes sent per join: scripts and publishes. */
  readonly redisRequestsPerJoin: number;
  readonly redisCommandsPerLeave: number;
  readonly redisRequestsPerLeave: number;
  /** A join on the other node to the event on this one, coalescing window included. */
  readonly joinToEventMs: Percentiles;
}

export interface PublishFigures {
  deliveriesPerSecond: number;
  serverCpuUsPerDelivery: number;
  latencyMs: Percentiles;
  deliveries: number;
  lost: number;
}

export interface PassResult {
  readonly pass: number;
  readonly system: SystemName;
  readonly figures: SystemFigures;
  readonly error?: string;
}

interface Row {
  readonly path: string;
  readonly label: string;
  readonly digits: number;
}

/** The figures of the table, in order. */
export const ROWS: readonly Row[] = [
  { path: 'handshake.perSecond', label: 'handshakes/s (wall clock)', digits: 0 },
  { path: 'handshake.serverCpuUsEach', label: 'server CPU µs per handshake', digits: 0 },
  { path: 'handshake.latencyMs.p50', label: 'handshake latency p50 ms', digits: 2 },
  { path: 'handshake.latencyMs.p99', label: 'handshake latency p99 ms', digits: 2 },
  { path: 'fanout1.deliveriesPerSecond', label: 'fan-out 1: deliveries/s', digits: 0 },
  { path: 'fanout1.serverCpuUsPerDelivery', label: 'fan-out 1: server CPU µs per delivery', digits: 1 },
  { path: 'fanout1.latencyMs.p50', label: 'fan-out 1: publish→receive p50 ms', digits: 2 },
  { path: 'fanout1.latencyMs.p99', label: 'fan-out 1: publish→receive p99 ms', digits: 2 },
  { path: 'fanout200.deliveriesPerSecond', label: 'fan-out 200: deliveries/s', digits: 0 },
  { path: 'fanout200.serverCpuUsPerDelivery', label: 'fan-out 200: server CPU µs per delivery', digits: 1 },
  { path: 'fanout200.latencyMs.p50', label: 'fan-out 200: publish→receive p50 ms', digits: 2 },
  { path: 'fanout200.latencyMs.p99', label: 'fan-out 200: publish→receive p99 ms', digits: 2 },
  { path: 'memory.heapPerConn', label: 'heap bytes per idle auth. connection', digits: 0 },
  { path: 'memory.rssPerConn', label: 'RSS bytes per idle auth. connection', digits: 0 },
  { path: 'expiry.lagMs.p50', label: 'expiry enforcement lag p50 ms', digits: 0 },
  { path: 'expiry.lagMs.p99', label: 'expiry enforcement lag p99 ms', digits: 0 },
  { path: 'revocation.latencyMs.p50', label: 'revocation node→node p50 ms', digits: 2 },
  { path: 'revocation.latencyMs.p99', label: 'revocation node→node p99 ms', digits: 2 },
  { path: 'grants.propagationMs.p50', label: 'grants change PUT→kick-out on another node (3 nodes) p50 ms', digits: 2 },
  { path: 'grants.propagationMs.p99', label: 'grants change PUT→kick-out on another node (3 nodes) p99 ms', digits: 2 },
  { path: 'grants.perSocket.cpuUsPerSocket', label: 'server CPU µs per socket a grants change kicks out', digits: 1 },
  { path: 'login.perSecond', label: 'login RPC/s (scrypt)', digits: 2 },
  { path: 'login.serverCpuMsEach', label: 'server CPU ms per login', digits: 1 },
  { path: 'presence.plainCpuUsPerSubscribe', label: 'server CPU µs per plain subscribe', digits: 1 },
  { path: 'presence.presenceCpuUsPerSubscribe', label: 'server CPU µs per presence subscribe', digits: 1 },
  { path: 'presence.cpuRatio', label: 'presence ÷ plain subscribe CPU', digits: 2 },
  { path: 'presence.heapBytesPerPlainSubscribe', label: 'heap bytes per plain subscribe', digits: 0 },
  { path: 'presence.heapBytesPerPresenceSubscribe', label: 'heap bytes per presence subscribe (member incl.)', digits: 0 },
  { path: 'presence.redisCommandsPerJoin', label: 'Redis commands per join (in scripts too)', digits: 2 },
  { path: 'presence.redisRequestsPerJoin', label: 'Redis requests per join (scripts, publishes)', digits: 3 },
  { path: 'presence.redisCommandsPerLeave', label: 'Redis commands per leave (in scripts too)', digits: 2 },
  { path: 'presence.redisRequestsPerLeave', label: 'Redis requests per leave (scripts, publishes)', digits: 3 },
  { path: 'presence.joinToEventMs.p50', label: 'presence join→event node→node p50 ms', digits: 1 },
  { path: 'presence.joinToEventMs.p99', label: 'presence join→event node→node p99 ms', digits: 1 },
];

export interface Target {
  readonly label: string;
  readonly path: string;
  readonly system: SystemName;
  readonly base: SystemName;
  readonly max: number;
}

/** What Gatehouse may cost beside stock SocketCluster and Socket.IO (BENCHMARKS.md, "Against the targets"). */
export const TARGETS: readonly Target[] = [
  {
    label: 'server CPU per authenticated handshake, with the revocation check',
    path: 'handshake.serverCpuUsEach',
    system: 'gatehouse-redis',
    base: 'stock-keyobject',
    max: 1.1,
  },
  {
    label: 'server CPU per authenticated handshake, one node',
    path: 'handshake.serverCpuUsEach',
    system: 'gatehouse-local',
    base: 'stock-keyobject',
    max: 1.1,
  },
  {
    label: 'server CPU per delivery, fan-out 1, one node',
    path: 'fanout1.serverCpuUsPerDelivery',
    system: 'gatehouse-local',
    base: 'stock-keyobject',
    max: 1.05,
  },
  {
    label: 'server CPU per delivery, fan-out 1, with the Redis bridge',
    path: 'fanout1.serverCpuUsPerDelivery',
    system: 'gatehouse-redis',
    base: 'stock-keyobject',
    max: 1.4,
  },
  { label: 'server CPU per delivery, fan-out 200', path: 'fanout200.serverCpuUsPerDelivery', system: 'gatehouse-redis', base: 'stock-keyobject', max: 1.05 },
  {
    label: 'server CPU per delivery, fan-out 200, against Socket.IO rooms',
    path: 'fanout200.serverCpuUsPerDelivery',
    system: 'gatehouse-redis',
    base: 'socketio',
    max: 1.0,
  },
  { label: 'heap per idle authenticated connection', path: 'memory.heapPerConn', system: 'gatehouse-redis', base: 'stock-keyobject', max: 1.1 },
  { label: 'RSS per idle authenticated connection', path: 'memory.rssPerConn', system: 'gatehouse-redis', base: 'stock-keyobject', max: 1.1 },
  { label: 'heap per idle authenticated connection, one node', path: 'memory.heapPerConn', system: 'gatehouse-local', base: 'stock-keyobject', max: 1.1 },
  // A change against the --baseline commit: "met" means no worse.
  ...(['redis', 'local'] as const).flatMap((kind) =>
    (
      [
        ['handshake.serverCpuUsEach', 'server CPU per handshake'],
        ['fanout1.serverCpuUsPerDelivery', 'server CPU per delivery, fan-out 1'],
        ['fanout200.serverCpuUsPerDelivery', 'server CPU per delivery, fan-out 200'],
        ['memory.heapPerConn', 'heap per idle connection'],
        ['memory.rssPerConn', 'RSS per idle connection'],
      ] as const
    ).map(([path, what]) => ({
      label: `${what}: now against the baseline (${kind})`,
      path,
      system: `gatehouse-${kind}` as SystemName,
      base: `baseline-${kind}` as SystemName,
      max: 1,
    })),
  ),
];

export function valueAt(figures: SystemFigures, path: string): number {
  let v: unknown = figures;
  for (const part of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
  return typeof v === 'number' ? v : NaN;
}

export interface Summary {
  readonly figures: Record<string, Partial<Record<SystemName, Spread>>>;
  readonly targets: (Target & { ratio: Spread; met: boolean | undefined })[];
}

export function summarize(passes: readonly PassResult[]): Summary {
  const figures: Summary['figures'] = {};
  for (const row of ROWS) {
    const bySystem: Partial<Record<SystemName, Spread>> = {};
    for (const system of ALL_SYSTEMS) {
      const s = spread(passes.filter((p) => p.system === system).map((p) => valueAt(p.figures, row.path)));
      if (s.n > 0) bySystem[system] = s;
    }
    figures[row.path] = bySystem;
  }
  const passNumbers = [...new Set(passes.map((p) => p.pass))];
  const targets = TARGETS.map((t) => {
    const ratios = passNumbers.map((n) => {
      const mine = passes.find((p) => p.pass === n && p.system === t.system);
      const base = passes.find((p) => p.pass === n && p.system === t.base);
      return mine && base ? valueAt(mine.figures, t.path) / valueAt(base.figures, t.path) : NaN;
    });
    const ratio = spread(ratios);
    return { ...t, ratio, met: ratio.n === 0 ? undefined : ratio.median <= t.max };
  });
  return { figures, targets };
}

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(s: Spread | undefined, digits: number): string {
  if (!s || s.n === 0) return '—';
  return s.n === 1 ? fmt(s.median, digits) : `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

/** The summary as text tables (also used, as markdown, in BENCHMARKS.md). */
export function formatSummary(summary: Summary, systems: readonly SystemName[], markdown = false): string {
  const out: string[] = [];
  const header = ['figure', ...systems];
  const rows: string[][] = [];
  for (const row of ROWS) {
    const bySystem = summary.figures[row.path];
    if (!systems.some((s) => bySystem[s])) continue;
    rows.push([row.label, ...systems.map((s) => cell(bySystem[s], row.digits))]);
  }
  out.push(table(header, rows, markdown));
  out.push('');
  const targetRows = summary.targets
    .filter((t) => systems.includes(t.system) && systems.includes(t.base))
    .map((t) => [t.label, `${t.system} ÷ ${t.base}`, cell(t.ratio, 2), `≤ ${t.max}`, t.met === undefined ? '—' : t.met ? 'met' : 'NOT met']);
  out.push(table(['target', 'ratio of', 'ratio', 'target', 'verdict'], targetRows, markdown));
  return out.join('\n');
}

export function table(header: string[], rows: string[][], markdown: boolean): string {
  if (markdown) {
    return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
