import type { IncomingMessage } from 'node:http';
import type WebSocket from 'ws';
import { CloseCode } from '../../shared';
import { normalizeOrigin } from '../node/settings';
import type { Logger } from '../log';
import { ThrottledWarning } from '../observability/throttled-warning';
import type { UpgradePolicy, UpgradeVerdict } from '../sc/upgrade-hook';
import { normalizeIp, type ProxyTrust } from './client-ip';

const ORIGIN_REFUSAL: UpgradeRefusal = Object.freeze({ code: CloseCode.OriginNotAllowed, reason: 'Origin not allowed' });

/** Why a WebSocket upgrade was refused: the `reason` label of `gatehouse_upgrades_refused_total`. */
export const UPGRADE_REFUSAL_REASONS = ['origin', 'not_ready', 'node_full', 'node_rate', 'loop_delay'] as const;
export type UpgradeRefusalReason = (typeof UPGRADE_REFUSAL_REASONS)[number];

/** How long a refused socket has to answer our close frame before it is cut off, ms. */
const CLOSE_GRACE_MS = 1000;

/** Why an upgrade is refused: the close code (and reason text) its socket is closed with. */
export interface UpgradeRefusal {
  readonly code: number;
  readonly reason: string;
}

/**
 * An admission rule another feature adds (the per-address connection limits): consulted for each upgrade the node is
 * ready for, before the Origin check; returns a refusal, or undefined to admit. It does its own counting and logging.
 */
export type AdmissionRule = (request: IncomingMessage) => UpgradeRefusal | undefined;

/** Why the node sheds an upgrade for its own load (a reason of `gatehouse_upgrades_refused_total`). */
export type LoadRefusalReason = Extract<UpgradeRefusalReason, 'node_full' | 'node_rate' | 'loop_delay'>;

/**
 * A check of the node's own load, consulted first for every upgrade the node is ready for: why to shed it, or
 * undefined to go on. A shed upgrade is refused with HTTP 503 before any work is spent on it (no WebSocket, no close
 * frame): the point is to spend nothing, and a client backs off after it as after any failed connect.
 */
export type LoadCheck = () => LoadRefusalReason | undefined;

/** The Retry-After of a shed upgrade, seconds: about the client library's first reconnect delay. */
const SHED_RETRY_AFTER_S = '1';

/**
 * UpgradeGate decides who may open a WebSocket. While the node is not ready the upgrade is refused outright (HTTP 401).
 * A browser Origin outside GATEHOUSE_ORIGINS is different: a refused upgrade reaches a page only as a bare 1006, which
 * a client cannot tell from a network failure and retries forever. So the upgrade is accepted and closed at once with
 * the final code OriginNotAllowed (4504). While the gateway serves its demo, its own origin (see `ownOrigin`) is
 * allowed too: the list defends against other sites' pages, and the page the gateway serves itself must keep working.
 * Only then: the own origin comes from the Host header, so a name an attacker points at the node (DNS rebinding) would
 * pass as same-origin, and a node without a page of its own has nothing to gain from that risk. The socket never
 * reaches SocketCluster, so nothing it sends is read. Each refusal is counted by reason, and logged at most once a
 * minute with the count since the last line. Other features refuse the same way through `admit(rule)` (their own
 * code, counts and log). Their rules run first, so a socket held open only to be refused for its Origin still counts
 * against its address's connection limits.
 */
export class UpgradeGate implements UpgradePolicy<UpgradeRefusal> {
  readonly refusals: Record<UpgradeRefusalReason, number> = { origin: 0, not_ready: 0, node_full: 0, node_rate: 0, loop_delay: 0 };
  private readonly allowed?: ReadonlySet<string>;
  private readonly closing = new Map<WebSocket, () => void>();
  private readonly rules: AdmissionRule[] = [];
  private readonly loadChecks: LoadCheck[] = [];
  private readonly originWarning = new ThrottledWarning();

  /** `trust` tells the own origin's scheme; without it (the demo off) the own origin is not allowed. */
  constructor(
    origins: readonly string[] | undefined,
    private readonly notReady: () => string | undefined,
    private readonly log: Logger,
    private readonly trust?: ProxyTrust,
  ) {
    this.allowed = origins ? new Set(origins) : undefined;
  }

  /** Adds a load check consulted, in order, before the rules: a shed upgrade counts against no address. */
  shedWhen(check: LoadCheck): void {
    this.loadChecks.push(check);
  }

  /** Adds a rule consulted, in order, for every upgrade the gate itself admits. */
  admit(rule: AdmissionRule): void {
    this.rules.push(rule);
  }

  /**
   * Decides one upgrade before SocketCluster's own check (server/sc/upgrade-hook.ts): while the node is not ready, an
   * HTTP 401 with the reason (what a blocked HANDSHAKE_WS action answered); while a load check sheds, an HTTP 503 with
   * Retry-After; a refusal by a rule or the Origin check,
   * an accepted WebSocket that `diverted` closes with the refusal's code.
   */
  check(request: IncomingMessage, secure: boolean): UpgradeVerdict<UpgradeRefusal> {
    const notReady = this.notReady();
    if (notReady) {
      this.refusals.not_ready++;
      return { reject: { status: 401, message: `node is ${notReady}` } };
    }
    const shed = this.loadRefusal();
    if (shed) {
      this.refusals[shed]++;
      return { reject: { status: 503, message: 'node is busy', headers: { 'Retry-After': SHED_RETRY_AFTER_S } } };
    }
    const refusal = this.ruleRefusal(request) ?? (this.originAllowed(request, secure) ? undefined : ORIGIN_REFUSAL);
    return refusal && { divert: refusal };
  }

  /** Cuts off every refused socket still closing. */
  close(): void {
    for (const cutOff of this.closing.values()) cutOff();
    this.closing.clear();
  }

  private originAllowed(request: IncomingMessage, secure: boolean): boolean {
    const { origin } = request.headers;
    // No Origin header: not a browser, so the origin rule (a browser protection) does not apply.
    if (!this.allowed || origin === undefined) return true;
    let normalized: string;
    try {
      normalized = normalizeOrigin(origin);
    } catch {
      return false;
    }
    return this.allowed.has(normalized) || (this.trust !== undefined && normalized === ownOrigin(request, secure, this.trust));
  }

  private loadRefusal(): LoadRefusalReason | undefined {
    for (const check of this.loadChecks) {
      const reason = check();
      if (reason) return reason;
    }
    return undefined;
  }

  private ruleRefusal(request: IncomingMessage): UpgradeRefusal | undefined {
    for (const rule of this.rules) {
      const refusal = rule(request);
      if (refusal) return refusal;
    }
    return undefined;
  }

  /** Closes a WebSocket `check` refused with `refusal`, counting and logging the refusal. */
  diverted(ws: WebSocket, req: IncomingMessage, refusal: UpgradeRefusal): void {
    if (refusal === ORIGIN_REFUSAL) {
      this.refusals.origin++;
      const count = this.originWarning.due();
      if (count !== undefined)
        this.log.warn({ origin: String(req.headers.origin).slice(0, 200), ip: req.socket.remoteAddress, count }, 'WebSocket refused: origin not allowed');
    }
    ws.on('error', () => undefined);
    // Closing on the spot would race the client's #handshake: the stock client then sends on a closing socket and
    // reports 1005 instead of our code. So the close waits for its first frame (never read) or the grace period.
    let timer = setTimeout(close, CLOSE_GRACE_MS);
    const cutOff = () => {
      clearTimeout(timer);
      ws.terminate();
    };
    this.closing.set(ws, cutOff);
    ws.once('message', close);
    ws.once('close', () => {
      clearTimeout(timer);
      this.closing.delete(ws);
    });
    function close(): void {
      if (ws.readyState !== ws.OPEN) return;
      ws.close(refusal.code, refusal.reason);
      clearTimeout(timer);
      timer = setTimeout(cutOff, CLOSE_GRACE_MS);
    }
  }
}

/**
 * A Host header as browsers send it: a DNS name or IPv4 address, or a bracketed IPv6 address, and an optional port.
 * Names may hold underscores (container names) and end in a dot (fully qualified): browsers send both, and the Origin
 * of such a page keeps them, so refusing them would refuse the gateway's own pages there.
 */
const HOST_HEADER = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The origin a request was made to, normalized: the scheme it arrived by and its Host header, exactly; undefined
 * without a well-formed Host. The scheme is `https` when the connection is TLS, or when the peer is a trusted proxy
 * (GATEHOUSE_TRUST_PROXY) whose X-Forwarded-Proto (its last entry, the one it wrote) says so; else `http`. A page
 * from another host never matches: the comparison is of whole origins, so a name that merely contains ours does not.
 */
export function ownOrigin(request: IncomingMessage, secure: boolean, trust: ProxyTrust): string | undefined {
  const { host } = request.headers;
  if (host === undefined || !HOST_HEADER.test(host)) return undefined;
  const forwarded = request.headers['x-forwarded-proto'];
  const peer = normalizeIp(request.socket.remoteAddress ?? '');
  const proto = typeof forwarded === 'string' && peer !== undefined && trust.isTrusted(peer) ? forwarded.split(',').pop()?.trim().toLowerCase() : undefined;
  try {
    return normalizeOrigin(`${secure || proto === 'https' ? 'https' : 'http'}://${host}`);
  } catch {
    return undefined;
  }
}
