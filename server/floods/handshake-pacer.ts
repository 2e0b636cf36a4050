import { performance } from 'node:perf_hooks';

/** The slice of time the handshake budget is counted over, and how often the loop's lateness is sampled, ms. */
export const SLICE_MS = 20;
/**
 * How long upgrades stay paced down to one a slice after the loop was found late: long enough for the backlog that
 * made it late to clear, short next to the client's reconnect delays (0.5 s and up), so a shed client finds the node
 * ready again.
 */
export const HOLD_MS = 250;
/**
 * The share of the late period the loop must have spent running callbacks for the lateness to count: below it, the
 * loop was idle and waited for a core other processes held (more workers than cores, a neighbour), which turning
 * upgrades away would not cure, only starve.
 */
export const BUSY_SHARE = 0.5;
/**
 * While the loop stays late, the upgrades a slice admits double every this long (1, 2, 4, … up to the rate's share):
 * shedding that has not brought the loop back on time in seconds is not curing it (the load is elsewhere: sockets
 * already held, other processes), and shedding on would only keep the crowd out longer.
 */
export const RELAX_STEP_MS = 5000;
/**
 * A run of lateness ends only after this long with none: a loaded loop is on time now and then, and each such sample
 * must not send the allowance back to one.
 */
export const LATE_RUN_GAP_MS = 2000;
/** The sampling timer stops after this long without an upgrade, so an idle node pays nothing. */
const IDLE_STOP_MS = 2000;

/** Why the pacer turns an upgrade away: the node's handshake rate is spent, or its event loop is running late. */
export type PacerRefusal = 'node_rate' | 'loop_delay';

export interface PacerSettings {
  /** Handshakes a second the node starts at most, counted per SLICE_MS slice; 0 = no limit. */
  readonly maxHandshakeRate: number;
  /** While the event loop runs later than this, one upgrade a slice is admitted and the rest refused, ms; 0 = never. */
  readonly maxLoopDelayMs: number;
}

/**
 * HandshakePacer keeps a node answering the sockets it already holds while a crowd reconnects (a node died and its
 * clients came here). A handshake costs far more CPU than a publish delivery, and an event loop that takes every
 * upgrade as it arrives falls behind by seconds: every live socket's messages wait behind the queue, and clients whose
 * connect timed out come back while the node still works through their first attempt. The pacer turns upgrades away
 * before any work is spent on them when the node's slice of handshakes is used up or its event loop is late; the
 * client backs off and retries, so the crowd comes back at the rate the node sustains.
 *
 * Lateness is read from a timer due every SLICE_MS: when it fires late, or is overdue when an upgrade is asked about
 * (a long batch of I/O runs before timers get their turn), and the loop spent most of that time running callbacks
 * (its own work, not a wait for a core), the node admits one upgrade a slice for HOLD_MS, and twice as many for each
 * further RELAX_STEP_MS the lateness lasts. The slice budget is
 * counted between two firings of that timer, so on a loop slowed by work the budget is spent less often: the rate
 * follows what the node can do. The timer runs only while upgrades come in.
 */
export class HandshakePacer {
  private readonly perSlice: number;
  private timer?: NodeJS.Timeout;
  /** When the sampling timer should next fire (performance.now()). */
  private due = 0;
  private admitted = 0;
  private shedUntil = -Infinity;
  /** When the loop was first found late in the current run of lateness, and last found late. */
  private lateSince = 0;
  private lastLate = -Infinity;
  private lastUpgrade = -Infinity;
  /** The loop's utilization counters at the last sample. */
  private eluMark = performance.eventLoopUtilization();

  constructor(private readonly settings: PacerSettings) {
    this.perSlice = settings.maxHandshakeRate > 0 ? Math.max(1, Math.round((settings.maxHandshakeRate * SLICE_MS) / 1000)) : 0;
  }

  /** Whether the pacer can ever refuse: with both limits off it is not consulted. */
  get enabled(): boolean {
    return this.perSlice > 0 || this.settings.maxLoopDelayMs > 0;
  }

  /** Decides one upgrade: undefined admits it (and counts it against the slice), else why it is refused. */
  refusal(): PacerRefusal | undefined {
    const now = performance.now();
    this.lastUpgrade = now;
    if (this.timer === undefined) this.start(now);
    else if (this.isLate(now - this.due)) this.markLate(now);
    if (now < this.shedUntil && this.admitted >= this.lateAllowance(now)) return 'loop_delay';
    if (this.perSlice > 0 && this.admitted >= this.perSlice) return 'node_rate';
    this.admitted++;
    return undefined;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private start(now: number): void {
    this.admitted = 0;
    this.due = now + SLICE_MS;
    this.eluMark = performance.eventLoopUtilization();
    this.timer = setInterval(() => this.sample(), SLICE_MS);
    this.timer.unref();
  }

  private sample(): void {
    const now = performance.now();
    if (this.isLate(now - this.due)) this.markLate(now);
    this.due = now + SLICE_MS;
    this.admitted = 0;
    this.eluMark = performance.eventLoopUtilization();
    if (now - this.lastUpgrade > IDLE_STOP_MS) this.close();
  }

  private markLate(now: number): void {
    if (now - this.lastLate > LATE_RUN_GAP_MS) this.lateSince = now;
    this.lastLate = now;
    this.shedUntil = now + HOLD_MS;
  }

  /**
   * Upgrades a slice admits while late: at first one, so a lone client is not turned away for a hiccup (a GC, one big
   * broadcast) and a crowd is slowed down; then doubling each RELAX_STEP_MS the lateness lasts.
   */
  private lateAllowance(now: number): number {
    const allowance = 2 ** Math.min(16, Math.floor((now - this.lateSince) / RELAX_STEP_MS));
    return this.perSlice > 0 ? Math.min(allowance, this.perSlice) : allowance;
  }

  /** Whether the loop is late by its own work: past the limit, and busy for most of the time since the last sample. */
  private isLate(lateByMs: number): boolean {
    if (this.settings.maxLoopDelayMs <= 0 || lateByMs <= this.settings.maxLoopDelayMs) return false;
    return performance.eventLoopUtilization(this.eluMark).utilization >= BUSY_SHARE;
  }
}
