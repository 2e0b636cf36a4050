/** How much each mode measures. `quick` (the default) fits in 8 minutes; `full` interleaves 3 passes; `smoke` checks the harness in seconds. */
export type Mode = 'smoke' | 'quick' | 'full';

export interface Plan {
  readonly passes: number;
  /**
   * Run every system of a pass, and the scale run, at the same time (smoke: it checks that each works, and its CPU
   * figures mean nothing); otherwise one server at a time, alone on its core.
   */
  readonly overlap: boolean;
  /** Handshakes before anything is measured (JIT warm-up), per server. */
  readonly warmHandshakes: number;
  /** Idle authenticated connections for the memory figure. */
  readonly memoryConnections: number;
  readonly handshakes: { readonly n: number; readonly concurrency: number };
  readonly fanout1: PublishPlan;
  readonly fanout200: PublishPlan;
  readonly expiry: { readonly n: number; readonly inSeconds: number; readonly waitMs: number; readonly stock: boolean };
  readonly revocations: number;
  /** Presence: sockets subscribed to a plain, then a presence channel; joins timed node to node, one at a time. */
  readonly presence: { readonly n: number; readonly latency: number };
  /** Live grants: changes measured PUT → kick-out on another node, and the sockets of one user one change kicks. */
  readonly grants: { readonly n: number; readonly perSocket: number };
  readonly logins: { readonly n: number; readonly concurrency: number; readonly scryptLn: number };
  readonly scale: { readonly sockets: number; readonly renewIntervalS: number; readonly stockIdleWindowMs: number };
  /** Pause between phases, so closes and GC of one phase do not land in the next, ms. */
  readonly settleMs: number;
  /** Micro-benchmarks (µs per sign/verify): iteration scale, 0 to skip. */
  readonly micro: number;
}

export interface PublishPlan {
  readonly fanout: number;
  readonly channels: number;
  readonly publishers: number;
  /** Deliveries allowed in flight. */
  readonly window: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

const QUICK: Plan = {
  passes: 1,
  overlap: false,
  warmHandshakes: 300,
  memoryConnections: 5000,
  handshakes: { n: 1500, concurrency: 32 },
  fanout1: { fanout: 1, channels: 50, publishers: 10, window: 200, warmupMs: 1000, durationMs: 3000 },
  fanout200: { fanout: 200, channels: 1, publishers: 1, window: 800, warmupMs: 1000, durationMs: 3000 },
  expiry: { n: 20, inSeconds: 2, waitMs: 10_000, stock: true },
  revocations: 200,
  presence: { n: 2000, latency: 100 },
  grants: { n: 200, perSocket: 1000 },
  logins: { n: 6, concurrency: 4, scryptLn: 17 },
  scale: { sockets: 5000, renewIntervalS: 60, stockIdleWindowMs: 10_000 },
  micro: 0.2,
  settleMs: 500,
};

const SMOKE_WINDOW = { warmupMs: 50, durationMs: 200 };

export const PLANS: Record<Mode, Plan> = {
  // Every phase once at a tiny scale, windows of a fraction of a second.
  smoke: {
    ...QUICK,
    overlap: true,
    micro: 0,
    settleMs: 50,
    warmHandshakes: 5,
    memoryConnections: 40,
    handshakes: { n: 40, concurrency: 8 },
    fanout1: { ...QUICK.fanout1, channels: 4, publishers: 2, window: 16, ...SMOKE_WINDOW },
    fanout200: { ...QUICK.fanout200, fanout: 20, window: 40, ...SMOKE_WINDOW },
    expiry: { n: 3, inSeconds: 2, waitMs: 2000, stock: false },
    revocations: 5,
    presence: { n: 20, latency: 3 },
    grants: { n: 5, perSocket: 20 },
    logins: { n: 2, concurrency: 2, scryptLn: 12 },
    scale: { sockets: 100, renewIntervalS: 1, stockIdleWindowMs: 0 },
  },
  quick: QUICK,
  // Longer windows and more of everything: the same phases, three passes.
  full: {
    ...QUICK,
    passes: 3,
    warmHandshakes: 500,
    handshakes: { n: 3000, concurrency: 32 },
    fanout1: { ...QUICK.fanout1, warmupMs: 1500, durationMs: 8000 },
    fanout200: { ...QUICK.fanout200, warmupMs: 1500, durationMs: 8000 },
    expiry: { ...QUICK.expiry, n: 50 },
    logins: { ...QUICK.logins, n: 20 },
    scale: { sockets: 19_000, renewIntervalS: 60, stockIdleWindowMs: 30_000 },
    micro: 1,
  },
};
