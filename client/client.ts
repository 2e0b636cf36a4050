import { create, type AGClientSocket } from 'socketcluster-client';
import { CloseCode, closeAction, type CloseAction } from '../shared/close-codes';
import { ErrorName, keepsToken, LogoutPendingError, removesToken } from '../shared/errors';
import { PRESENCE_EVENT, PRESENCE_PROCEDURE, type PresenceEvent, type PresenceRequest, type PresenceSnapshot } from '../shared/presence';
import { Procedure, ServerEvent, type DeauthenticationReason, type GrantsChanged, type TokenExpiry } from '../shared/protocol';
import type { GatehouseClaims } from '../shared/claims';
import { expiryWarningSeconds } from '../shared/expiry-warning';
import { closeName, reconnectDelay } from './close-policy';
import { rebuildError } from './errors';
import { Emitter } from './events';
import { PresenceList } from './presence';
import { defaultStorage, gatewayAddress, memoryStorage, type TokenStorage } from './storage';
import { wrapChannel, type ScChannel, type Subscription } from './subscription';
import { TabLink, type TabMessage } from './tabs';
import { claimsOf, GatewayClock } from './token';
import { watchWake } from './wake';

export interface ClientOptions {
  /**
   * The gateway: `https://host[:port]` (its WebSocket at the default /socketcluster/), or `wss://host[:port]/path`; in
   * a browser, default this page's origin.
   */
  readonly url?: string;
  /**
   * Your backend's token: called (once at a time, across tabs) at the start and when the token is about to expire or
   * has expired. `signal` aborts when `getTokenTimeout` passes.
   */
  readonly getToken?: (signal: AbortSignal) => Promise<string | null | undefined> | string | null | undefined;
  /**
   * Longest wait for getToken, and for another tab's getToken, ms (default 30000): then the call is abandoned, the
   * other tabs may fetch, and the refresh is tried again with backoff.
   */
  readonly getTokenTimeout?: number;
  /** Where the token is kept: default localStorage in browsers (shared by tabs), memory in Node. */
  readonly storage?: TokenStorage;
  /** Share the auth state with the other tabs of this origin; default true in browsers. */
  readonly tabs?: boolean;
  /** Longest wait for an answer from the gateway, ms (default 10000). */
  readonly ackTimeout?: number;
  /** Node only: options for the `ws` WebSocket (headers, origin, TLS). */
  readonly wsOptions?: object;
}

/** Why the client lost its authentication. `invalid`: the gateway refused the token as malformed or unknown. */
export type DeauthReason = 'logout' | 'revoked' | 'expired' | 'session-ended' | 'other-tab' | 'invalid';

export type ConnectionEvent =
  | { readonly state: 'connecting' }
  | { readonly state: 'open' }
  | { readonly state: 'closed'; readonly code: number; readonly name: string; readonly reason: string; readonly action: CloseAction };

export interface ClientEvents {
  [event: string]: unknown;
  authenticated: { readonly claims: GatehouseClaims };
  renewed: { readonly claims: GatehouseClaims };
  /** The token is close to expiry and the gateway will not renew it (or has not): `expiresIn` seconds are left. */
  expiring: { readonly expiresIn: number };
  deauthenticated: { readonly reason: DeauthReason };
  /**
   * Your backend changed this user's grants (PUT or DELETE /admin/grants/{sub}): subscriptions to channels no longer
   * granted have ended (their `ended` resolves an error with `reason: 'grants-changed'`), and channels newly granted
   * may be subscribed to now. `version` is the change's.
   */
  grantsChanged: GrantsChanged;
  connection: ConnectionEvent;
  /** Something the app may want to log: getToken failed, a re-authentication was refused. */
  error: Error;
}

export interface ClientState {
  readonly connection: 'connecting' | 'open' | 'closed';
  readonly authenticated: boolean;
  readonly claims: GatehouseClaims | null;
  /** Seconds the token has left by the gateway's clock, or null when not authenticated. */
  readonly expiresIn: number | null;
}

export interface LoginResult {
  readonly sub: string;
  readonly sid: string;
  readonly expiresIn: number;
}

type Sc = Omit<AGClientSocket, 'listener' | 'receiver' | 'authenticate' | 'state'> & {
  state: string;
  authenticate(token: string): Promise<unknown>;
  listener(event: string): AsyncIterable<Record<string, unknown>> & { once(ms?: number): Promise<Record<string, unknown>> };
  receiver(event: string): AsyncIterable<unknown>;
  killAllListeners(): void;
  killAllReceivers(): void;
};

/** What a logout leaves in storage for the other tabs: which sessions it ended, and when. */
interface LogoutMark {
  readonly at: number;
  readonly sub: string;
  readonly sid?: string;
  readonly everywhere: boolean;
}

/** A logout's revocation not yet recorded by the gateway (kept in storage, so any tab of the origin can make it). */
interface PendingRevocation {
  readonly token: string;
  readonly everywhere: boolean;
}

const browser = typeof window === 'object' && typeof document === 'object';

/**
 * How long a tab that waited for another tab's token fetch waits for its news before fetching itself (the other tab's
 * fetch may have failed, and then no news comes).
 */
const TAB_NEWS_WAIT_MS = 1000;
/** How long a connection must stay up before the reconnect backoff starts again from its first step. */
const STABLE_MS = 10_000;
/** Refusals that say nothing against the token (the catalogue keeps it): try it again later. */
const retryable = (err: unknown) => keepsToken((err as Error | undefined)?.name);

/** Creates a Gatehouse client and starts connecting. */
export function createClient(options: ClientOptions = {}): GatehouseClient {
  return new GatehouseClient(options);
}

/**
 * GatehouseClient keeps one socket to the gateway connected and authenticated: it reconnects by the close code's class,
 * schedules token refreshes from the gateway's relative expiry, fetches tokens one at a time across every trigger and
 * every tab, and shares logins and logouts with the other tabs of its origin.
 */
export class GatehouseClient extends Emitter<ClientEvents> {
  private readonly sc: Sc;
  private readonly socket: (loadToken: () => Promise<string | null>, connectTimeout?: number) => Sc;
  private readonly ackTimeout: number;
  private readonly getTokenTimeout: number;
  /** Refreshes abandoned in a row (getToken timed out): the backoff of the next try. */
  private refreshFailures = 0;
  private readonly storage: TokenStorage;
  private readonly key: string;
  private readonly tabs?: TabLink;
  private readonly clock = new GatewayClock();
  private readonly getToken?: ClientOptions['getToken'];
  /** Tokens the gateway revoked: never sent again, whoever offers them. */
  private readonly revoked = new Set<string>();
  private readonly cleanups: (() => void)[] = [];
  /** Per channel: the presence lists' handlers of its events, (re)subscriptions and losses of the subscription. */
  private readonly channelEvents = new ChannelEvents();
  /** Open presence lists: closed with the client. */
  private readonly presenceLists = new Set<PresenceList>();
  /** How many subscriptions of each channel are live: they share one socketcluster-client channel. */
  private readonly holders = new Map<string, number>();
  private connectionState: ClientState['connection'] = 'connecting';
  /** The token offered at the last handshake. */
  private offered: string | null = null;
  /** The last expiry notice (it may arrive before or after its token). */
  private notice?: TokenExpiry;
  /** The sub this socket is authenticated as: a new token for the same sub is a renewal. */
  private sub?: string;
  /** A refresh was wanted while offline: done when the browser is back online. */
  private wantToken = false;
  /** The gateway said it will not renew this exp: the session is ending. */
  private endingExp?: number;
  private pendingReason?: DeauthReason;
  /** Why the gateway said it is deauthenticating this socket (`gatehouse:deauthenticated`). */
  private serverReason?: DeauthenticationReason;
  /** Why this socket was last deauthenticated. */
  private lastReason?: DeauthReason;
  /** The token this socket last held (kept after a deauthentication, for the close that may follow). */
  private lastToken: string | null = null;
  /** A handshake is under way: the stock client's deauthentications now belong to it. */
  private reconnecting = false;
  /** The token the stock client dropped as a reconnect began ('' for none). */
  private droppedAtHandshake?: string;
  /** The handling of the last deauthentication (a close that follows it waits for its verdict). */
  private deauthenticating: Promise<void> = Promise.resolve();
  private refreshing?: Promise<string | null>;
  /** An authentication under way while the socket is anonymous: subscriptions made meanwhile wait for it. */
  private pendingAuth?: Promise<unknown>;
  /** Bumped by every login and logout: a token fetched before it is a late answer and is dropped. */
  private generation = 0;
  private attempt = 0;
  private stopped = false;
  /** The gateway refused this page's origin (4504). */
  private originRefused = false;
  private closed = false;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private stableTimer?: ReturnType<typeof setTimeout>;

  constructor(options: ClientOptions) {
    super();
    if (options.url === undefined && typeof location === 'undefined') throw new TypeError('createClient needs a url outside a browser');
    const { hostname, port, secure, path, key } = gatewayAddress(options.url ?? location.origin);
    this.key = key;
    this.getToken = options.getToken;
    this.ackTimeout = options.ackTimeout ?? 10_000;
    this.getTokenTimeout = options.getTokenTimeout ?? 30_000;
    this.storage = options.storage ?? (browser ? defaultStorage() : memoryStorage());
    if (options.tabs ?? browser) this.tabs = new TabLink(this.key, (msg) => this.fromTab(msg));
    // Each socket gets its own token source: the client's one reads storage; a revocation's side socket offers its token.
    this.socket = (loadToken, connectTimeout) =>
      create({
        hostname,
        port,
        secure,
        path,
        // Reconnection is decided here, by the close code's class; the stock client waits 10-20 s after a restart.
        autoReconnect: false,
        ackTimeout: this.ackTimeout,
        // The stock default (20 s) unless given: an undefined would replace it with 0.
        connectTimeout: connectTimeout ?? 20_000,
        wsOptions: options.wsOptions,
        // Storage is kept by this class (on 'authenticate', 'deauthenticate' and refusals), not by the stock client,
        // which also saves tokens the gateway refused.
        authEngine: { saveToken: (_name: string, token: string) => Promise.resolve(token), removeToken: () => Promise.resolve(null), loadToken },
      });
    this.sc = this.socket(async () => {
      const token = await this.storage.get(this.key);
      this.offered = token && !this.revoked.has(token) ? token : null;
      return this.offered;
    });
    this.listen('connecting', () => {
      this.reconnecting = true;
      this.setConnection({ state: 'connecting' });
    });
    this.listen('connect', (status) => this.onConnect(status));
    this.listen('close', ({ code, reason }) => this.onClose(Number(code), typeof reason === 'string' ? reason : ''));
    this.listen('authenticate', ({ signedAuthToken }) => this.onAuthenticate(String(signedAuthToken)));
    this.listen('deauthenticate', ({ oldSignedAuthToken }) => {
      const token = oldSignedAuthToken as string | null;
      // At a reconnect the stock client drops the old state before it reports the handshake: the handshake's
      // authError says why (onConnect).
      if (this.reconnecting) this.droppedAtHandshake = token ?? '';
      else this.deauthenticating = this.onDeauthenticate(token);
    });
    this.listen('subscribe', ({ channel }) => this.channelEvents.run(`subscribe ${String(channel)}`, undefined));
    this.listen('subscribeStateChange', ({ channel, oldChannelState, newChannelState }) => {
      // Pending: the connection dropped and the channel is made again on reconnect; unsubscribed: it is gone.
      if (oldChannelState === 'subscribed') this.channelEvents.run(`unsubscribe ${String(channel)}`, newChannelState !== 'pending');
    });
    this.receive<PresenceEvent>(PRESENCE_EVENT, (event) => this.channelEvents.run(`presence ${String(event.channel)}`, event));
    this.receive<TokenExpiry>(ServerEvent.TokenExpiry, (n) => this.onNotice(n));
    this.receive<TokenExpiry>(ServerEvent.AuthExpiring, (n) => this.onExpiring(n));
    this.receive<{ reason: DeauthenticationReason }>(ServerEvent.Deauthenticated, ({ reason }) => {
      this.serverReason = reason;
    });
    this.receive<GrantsChanged>(ServerEvent.GrantsChanged, ({ version }) => this.emit('grantsChanged', { version }));
    // The first token comes from getToken unless a usable one is stored (as a stored one that is due is replaced).
    if (this.getToken) void this.refreshToken();
    // Wake from sleep: the refresh timer set before it fires late, so look again (as on `online`).
    this.cleanups.push(watchWake(() => this.recheck()));
    if (browser) {
      const recheck = () => {
        if (document.visibilityState !== 'hidden') this.recheck();
      };
      addEventListener('online', recheck);
      document.addEventListener('visibilitychange', recheck);
      this.cleanups.push(() => {
        removeEventListener('online', recheck);
        document.removeEventListener('visibilitychange', recheck);
      });
    }
  }

  get state(): ClientState {
    const claims = this.sc.authState === 'authenticated' ? (this.sc.authToken as GatehouseClaims | null) : null;
    return {
      connection: this.connectionState,
      authenticated: claims !== null,
      claims,
      expiresIn: claims ? Math.max(0, Math.round(this.clock.secondsLeft(claims) * 1000) / 1000) : null,
    };
  }

  /** Logs in with the gateway's users (the `login` procedure); resolves once this socket is authenticated. */
  async login(username: string, password: string): Promise<LoginResult> {
    await this.open();
    this.generation++;
    const answer = (await this.whileAuthenticating(this.call(Procedure.Login, { username, password }))) as LoginResult;
    this.share();
    return answer;
  }

  /** Authenticates with a token from your backend; every tab of this origin follows. */
  async authenticate(token: string): Promise<void> {
    this.generation++;
    await this.whileAuthenticating(this.useOrRetry(token));
    this.share();
  }

  /**
   * Logs out: this tab and every other tab of this origin drop the token at once, and the gateway revokes the session
   * (`everywhere`: every session of the user), through this socket, or through a short-lived one when this socket is
   * not open and authenticated. Resolves once the gateway recorded the revocation. Rejects with `LogoutPendingError`
   * when it could not be reached: the token is dropped here all the same, and the revocation is made when this client
   * or another tab of the origin is connected again.
   */
  async logout(options: { everywhere?: boolean } = {}): Promise<void> {
    this.generation++;
    const token = this.sc.signedAuthToken ?? (await this.storage.get(this.key));
    const revocation: PendingRevocation | undefined = token ? { token, everywhere: !!options.everywhere } : undefined;
    // Other tabs of this session are closed as revoked when the gateway records the logout, possibly before this
    // message reaches them: the mark tells them the revocation was a logout here.
    const claims = token ? claimsOf(token) : null;
    if (claims) {
      const mark: LogoutMark = { at: Date.now(), sub: claims.sub, sid: claims.sid, everywhere: !!options.everywhere };
      await this.storage.set(`${this.key}:logout`, JSON.stringify(mark));
    }
    if (revocation) await this.storage.set(this.revokeKey, JSON.stringify(revocation));
    this.tabs?.post({ type: 'logout', reason: 'logout' });
    if (this.sc.authState === 'authenticated') this.pendingReason = 'logout';
    let failure: unknown;
    if (revocation) {
      // Under the lock, so the other tabs (which take it to help) find the revocation done.
      failure = await this.exclusive(async () => {
        try {
          if (this.sc.state === this.sc.OPEN && this.sc.signedAuthToken === token) {
            await this.call(Procedure.Logout, revocation.everywhere ? { everywhere: true } : undefined);
          } else {
            await this.revokeAside(revocation);
          }
          await this.revocationDone(revocation);
          return undefined;
        } catch (err) {
          return err;
        }
      }, 'revoke');
    }
    if (this.sc.authState === 'authenticated') await this.sc.deauthenticate();
    await this.forget(token);
    if (failure) {
      // Said again with the token once the revocation is known to be pending: a connected tab makes it now.
      if (token) this.tabs?.post({ type: 'logout', reason: 'logout', token });
      throw Object.assign(new LogoutPendingError(), { cause: failure });
    }
  }

  /**
   * Subscribes to `channel`. While an authentication is under way (the first token from getToken, `authenticate()`),
   * the subscription waits for it, then is made as whoever the client turned out to be.
   */
  subscribe<T = unknown>(channel: string): Subscription<T> {
    const waiting = this.sc.authState === 'authenticated' ? undefined : this.pendingAuth;
    const sc = this.sc.subscribe(channel, { waitForAuth: !!waiting }) as unknown as ScChannel;
    void waiting?.finally(() => {
      // Still anonymous (no token came, or it was refused): subscribe anonymously, to succeed or be refused as such.
      if (this.closed || this.sc.authState === 'authenticated' || !this.sc.isSubscribed(channel, true)) return;
      this.sc.subscribe(channel);
      this.sc.processPendingSubscriptions();
    });
    this.holders.set(channel, (this.holders.get(channel) ?? 0) + 1);
    return wrapChannel<T>(channel, sc, () => this.release(channel));
  }

  /** One holder of `channel` lets go; true when it was the last, so the channel itself is unsubscribed. */
  private release(channel: string): boolean {
    const left = (this.holders.get(channel) ?? 1) - 1;
    if (left > 0) this.holders.set(channel, left);
    else this.holders.delete(channel);
    return left <= 0;
  }

  /**
   * Who is in `channel`, live: subscribes to it (which makes this user a member, when the channel has presence) and
   * keeps the member list from the gateway's snapshot and change batches, loading it again on its own after a missed
   * batch or a reconnect. Seeing the list needs the `presence` capability on the channel. `close()` unsubscribes.
   */
  presence(channel: string): PresenceList {
    const subscription = this.subscribe(channel);
    const events = this.channelEvents;
    const list = new PresenceList(channel, {
      subscription,
      onSubscribed: (handler) => {
        // Already subscribed (the app subscribed first): no subscribe event comes for this list.
        if (this.sc.isSubscribed(channel)) queueMicrotask(handler);
        return events.on(`subscribe ${channel}`, handler);
      },
      onSuspended: (handler) => events.on(`unsubscribe ${channel}`, handler as (gone: unknown) => void),
      onRenewed: (handler) => {
        const off = [this.on('renewed', handler), this.on('authenticated', handler)];
        return () => off.forEach((remove) => remove());
      },
      onEvent: (handler) => events.on(`presence ${channel}`, handler as (event: unknown) => void),
      fetch: async (request: PresenceRequest) => (await this.call(PRESENCE_PROCEDURE, request)) as PresenceSnapshot,
    });
    this.presenceLists.add(list);
    void list.ended.then(() => this.presenceLists.delete(list));
    return list;
  }

  async publish(channel: string, data: unknown): Promise<void> {
    try {
      await this.sc.invokePublish(channel, data);
    } catch (err) {
      throw rebuildError(err);
    }
  }

  /** Invokes one of the gateway's procedures; its errors come back as the shared classes. */
  async call(procedure: string, data?: unknown): Promise<unknown> {
    try {
      return await this.sc.invoke(procedure, data);
    } catch (err) {
      throw rebuildError(err);
    }
  }

  /**
   * Gets a fresh token from `getToken` and authenticates with it. Every trigger shares one call: the refresh timer,
   * `gatehouse:authExpiring`, an expired token, `online`, a tab made visible, and other tabs (which wait on a Web Lock
   * and take the token the first one stored). Resolves the token used, or null.
   */
  refreshToken(): Promise<string | null> {
    if (!this.getToken || this.closed) return Promise.resolve(null);
    if (browser && !navigator.onLine) {
      // A fetch now would fail: the 'online' event brings the refresh.
      this.wantToken = true;
      return Promise.resolve(null);
    }
    this.wantToken = false;
    this.refreshing ??= this.whileAuthenticating(this.fetchToken()).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Closes the connection and releases every timer, listener and channel. */
  close(): void {
    this.closed = true;
    for (const list of [...this.presenceLists]) list.close();
    this.clearTimers();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.tabs?.close();
    this.sc.disconnect(1000, 'Client closed');
    this.sc.killAllListeners();
    this.sc.killAllReceivers();
    this.sc.killAllChannels();
    this.removeAllListeners();
  }

  // --- connection ---

  private setConnection(event: ConnectionEvent): void {
    this.connectionState = event.state;
    this.emit('connection', event);
  }

  private onConnect(status: Record<string, unknown>): void {
    // Not at once: a gateway that closes every socket right after its handshake must not keep the backoff at its start.
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => {
      this.attempt = 0;
    }, STABLE_MS);
    this.setConnection({ state: 'open' });
    const error = status.authError as { name?: string } | undefined;
    const token = this.offered;
    const dropped = this.droppedAtHandshake;
    this.reconnecting = false;
    this.droppedAtHandshake = undefined;
    void this.retryRevocation();
    if (dropped !== undefined) {
      this.sub = undefined;
      // No token to offer any more: another tab logged out (or the storage was cleared) while this one was away.
      if (!error && !status.isAuthenticated) this.emit('deauthenticated', { reason: 'other-tab' });
    }
    if (!error || !token) return;
    if (keepsToken(error.name)) {
      // The token may be fine: keep it and try again with backoff.
      this.retryAuthenticate(token, this.generation);
      return;
    }
    if (!removesToken(error.name)) return;
    void this.refused(token, String(error.name));
  }

  private onClose(code: number, reason: string): void {
    const action = closeAction(code);
    // The app's developer needs what to change: this page's origin, and the gateway's setting that lists origins.
    if (code === CloseCode.OriginNotAllowed) reason = this.originMessage();
    this.setConnection({ state: 'closed', code, name: closeName(code), reason, action });
    if (code === CloseCode.OriginNotAllowed && !this.originRefused) this.emit('error', this.originError());
    this.clearTimers();
    if (this.closed || action === 'closed') return;
    if (code === CloseCode.TokenRevoked) {
      void this.onRevokedClose();
    } else if (action === 'stop') {
      this.stopped = true;
      this.originRefused ||= code === CloseCode.OriginNotAllowed;
    } else if (action === 'reauthenticate') {
      void this.onReauthenticateClose(code);
    } else {
      this.backOff(code);
    }
  }

  /** Closed as revoked: by a logout in another tab (come back anonymous), or by a revocation (stop). */
  private async onRevokedClose(): Promise<void> {
    await this.deauthenticating;
    let reason = this.lastReason;
    if (this.sc.authState === 'authenticated') {
      reason = this.pendingReason = await this.revokedBy(this.sc.signedAuthToken);
      await this.sc.deauthenticate();
      await this.deauthenticating;
    } else if (!this.lastToken && this.offered) {
      // Refused at the handshake, never authenticated here.
      await this.refused(this.offered, ErrorName.AuthTokenRevoked);
      reason = 'revoked';
    }
    if (reason === 'other-tab') this.backOff(CloseCode.TokenRevoked);
    else this.stopped = true;
  }

  /**
   * The session cannot go on with its token (TokenExpired, KeyRetired): it ends here once (a refresh starts when there
   * is a getToken), and the client comes back with whatever token it then has, or anonymous.
   */
  private async onReauthenticateClose(code: number): Promise<void> {
    await this.deauthenticating;
    if (this.sc.authState === 'authenticated') {
      this.pendingReason = 'session-ended';
      await this.sc.deauthenticate();
      await this.deauthenticating;
    }
    this.backOff(code);
  }

  /**
   * A revocation that a logout in another tab of this origin caused is that tab's logout, not a revocation: only when
   * that logout (in the last 10 s) named this token's session, or all of its user's sessions. Anything else (an admin's
   * revoke moments after a logout of an older session) is a revocation.
   */
  private async revokedBy(token: string | null): Promise<'revoked' | 'other-tab'> {
    let mark: Partial<LogoutMark> | null = null;
    try {
      mark = JSON.parse((await this.storage.get(`${this.key}:logout`)) ?? 'null') as Partial<LogoutMark> | null;
    } catch {
      // A mark that is not ours names no session.
    }
    const claims = token ? claimsOf(token) : null;
    const ours =
      !!mark && !!claims && Date.now() - Number(mark.at) < 10_000 && mark.sub === claims.sub && (mark.everywhere === true || mark.sid === claims.sid);
    return ours ? 'other-tab' : 'revoked';
  }

  /** Every reconnect after a close goes through here: no close code, however it recurs, skips the backoff. */
  private backOff(code: number): void {
    this.reconnect(reconnectDelay(code, this.attempt++));
  }

  private reconnect(delayMs: number): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.closed && this.sc.state === this.sc.CLOSED) this.sc.connect();
    }, delayMs);
  }

  /** Connects now if closed (a new token or an explicit call lifts a stop) and waits for the handshake. */
  private async open(): Promise<void> {
    if (this.sc.state === this.sc.OPEN) return;
    // No token changes the page's origin: connecting again would only be refused again.
    if (this.originRefused) throw this.originError();
    this.stopped = false;
    if (this.sc.state === this.sc.CLOSED) this.sc.connect();
    const result = await Promise.race([this.sc.listener('connect').once(), this.sc.listener('close').once()]);
    if (this.sc.state !== this.sc.OPEN) {
      const code = Number(result.code);
      throw rebuildError({ name: 'ConnectionError', message: `Could not connect: ${closeName(code)} (${code})`, code });
    }
  }

  private originMessage(): string {
    const origin = typeof location === 'object' ? location.origin : "this client's Origin header";
    return `The gateway refused the origin ${origin} (OriginNotAllowed, 4504): add it to the gateway's GATEHOUSE_ORIGINS`;
  }

  private originError(): Error {
    return rebuildError({ name: 'ConnectionError', message: this.originMessage(), code: CloseCode.OriginNotAllowed });
  }

  /** After sleep, offline or a hidden tab: reconnect at once if down, refresh the token if it is due. */
  private recheck(): void {
    if (this.closed) return;
    if (this.sc.state === this.sc.CLOSED && !this.stopped) {
      this.reconnect(0);
      return;
    }
    const claims = this.state.claims;
    if (this.wantToken || (claims && this.clock.secondsLeft(claims) <= expiryWarningSeconds(claims))) void this.refreshToken();
  }

  // --- authentication ---

  private onAuthenticate(token: string): void {
    const claims = claimsOf(token);
    if (!claims) return;
    const renewed = this.sub === claims.sub;
    this.sub = claims.sub;
    this.lastToken = token;
    void this.storage.set(this.key, token);
    this.stopped = false;
    this.emit(renewed ? 'renewed' : 'authenticated', { claims });
    this.plan();
  }

  private async onDeauthenticate(token: string | null): Promise<void> {
    this.sub = undefined;
    clearTimeout(this.refreshTimer);
    const exp = token ? claimsOf(token)?.exp : undefined;
    let reason: DeauthReason = this.pendingReason ?? this.serverReason ?? (exp !== undefined && exp === this.endingExp ? 'session-ended' : 'expired');
    this.pendingReason = this.serverReason = undefined;
    if (reason === 'revoked') reason = await this.revokedBy(token);
    this.lastReason = reason;
    if (token && (reason === 'revoked' || reason === 'other-tab' || reason === 'logout')) this.revoked.add(token);
    if (reason === 'revoked') {
      this.stopped = true;
      this.tabs?.post({ type: 'logout', reason, token: token ?? undefined });
    }
    await this.removeStored(token);
    this.emit('deauthenticated', { reason });
    // An expired token (the gateway deauthenticated it, or a renewal never came) gets one fetch.
    if (reason === 'expired' || reason === 'session-ended') void this.refreshToken();
  }

  /** The gateway refused a token at the handshake or on authenticate. */
  private async refused(token: string | null, name: string): Promise<void> {
    const reason: DeauthReason = name === ErrorName.AuthTokenExpired ? 'expired' : name === ErrorName.AuthTokenRevoked ? 'revoked' : 'invalid';
    await this.forget(token, reason);
    if (reason === 'revoked') this.tabs?.post({ type: 'logout', reason, token: token ?? undefined });
    if (reason === 'expired') void this.refreshToken();
  }

  /** Drops a token that is not live on this socket: from storage, and (revoked) for good. */
  private async forget(token: string | null, reason?: DeauthReason): Promise<void> {
    if (token && reason === 'revoked') this.revoked.add(token);
    await this.removeStored(token);
    if (reason && token) this.emit('deauthenticated', { reason });
  }

  private async removeStored(token: string | null): Promise<void> {
    // Only that very token: another tab may have stored a newer one meanwhile.
    if (token && (await this.storage.get(this.key)) === token) await this.storage.remove(this.key);
  }

  private onNotice(notice: TokenExpiry): void {
    this.clock.learn(notice);
    this.notice = notice;
    this.plan();
  }

  /** Sets the refresh timer from the gateway's relative expiry, once the token and its notice have both arrived. */
  private plan(): void {
    const claims = this.state.claims;
    if (!claims || this.notice?.exp !== claims.exp) return;
    clearTimeout(this.refreshTimer);
    const dueIn = Math.max(0, this.clock.secondsLeft(claims) - expiryWarningSeconds(claims)) * 1000;
    this.refreshTimer = setTimeout(() => {
      const left = this.state.expiresIn;
      if (left === null) return;
      this.emit('expiring', { expiresIn: left });
      void this.refreshToken();
    }, dueIn);
  }

  private onExpiring(notice: TokenExpiry): void {
    const claims = this.state.claims;
    if (!claims || claims.exp !== notice.exp) return;
    this.endingExp = notice.exp;
    this.clock.learn(notice);
    clearTimeout(this.refreshTimer);
    this.emit('expiring', { expiresIn: notice.expiresIn });
    void this.refreshToken();
  }

  private async fetchToken(): Promise<string | null> {
    const generation = this.generation;
    const since = this.tabs?.lastAnnounced ?? null;
    let token: string | null;
    try {
      token = await this.exclusive(
        async (waited) => {
          // Another tab may have fetched while this one waited for the lock (and this one may already have taken that
          // token from its message): a token not due yet, stored or announced, is the answer.
          const stored = await this.storage.get(this.key);
          if (this.usable(stored)) return stored;
          if (waited && this.tabs) {
            const announced = await this.tabs.announcedAfter(since, TAB_NEWS_WAIT_MS);
            if (this.usable(announced)) return announced;
          }
          const fetched = await this.callGetToken();
          if (fetched && generation === this.generation) {
            await this.storage.set(this.key, fetched);
            this.tabs?.post({ type: 'token', token: fetched });
          }
          return fetched;
        },
        'token',
        this.getTokenTimeout,
      );
    } catch (err) {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
      if ((err as Error)?.name === 'TimeoutError') {
        // The refresh timer's slot: a token that arrives meanwhile (plan()) replaces the retry.
        clearTimeout(this.refreshTimer);
        this.refreshTimer = setTimeout(() => void this.refreshToken(), reconnectDelay(0, this.refreshFailures++));
      }
      return null;
    }
    this.refreshFailures = 0;
    // A login or logout happened meanwhile: this answer is late and is dropped.
    if (!token || generation !== this.generation || this.revoked.has(token)) return null;
    if (token === this.sc.signedAuthToken) return token;
    await this.useOrRetry(token).catch((err: Error) => this.emit('error', err));
    return token;
  }

  /** getToken, abandoned (its signal aborted, a TimeoutError thrown) when it has not settled in getTokenTimeout. */
  private async callGetToken(): Promise<string | null> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = Object.assign(new Error(`getToken did not settle in ${this.getTokenTimeout} ms`), { name: 'TimeoutError' });
        controller.abort(err);
        reject(err);
      }, this.getTokenTimeout);
    });
    try {
      return (await Promise.race([this.getToken!(controller.signal), timeout])) ?? null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Marks `auth` as the authentication subscriptions wait for, while it runs (it may reject; the waiters do not care). */
  private whileAuthenticating<T>(auth: Promise<T>): Promise<T> {
    const pending = auth.catch(() => undefined);
    this.pendingAuth = pending;
    void pending.then(() => {
      if (this.pendingAuth === pending) this.pendingAuth = undefined;
    });
    return auth;
  }

  private exclusive<T>(fn: (waited: boolean) => Promise<T>, lock = 'token', waitMs?: number): Promise<T> {
    return this.tabs ? this.tabs.exclusive(fn, lock, waitMs) : fn(false);
  }

  /** A token this tab may use instead of fetching one: not revoked, and not due for a refresh yet. */
  private usable(token: string | null): token is string {
    const claims = token && !this.revoked.has(token) ? claimsOf(token) : null;
    return claims !== null && this.clock.secondsLeft(claims) > expiryWarningSeconds(claims);
  }

  /** Authenticates the open socket with `token`, or stores it and connects with it. */
  private async use(token: string): Promise<void> {
    if (this.revoked.has(token)) throw rebuildError({ name: ErrorName.AuthTokenRevoked, message: 'This token was revoked' });
    if (this.sc.state !== this.sc.OPEN) {
      await this.storage.set(this.key, token);
      await this.open();
      // A handshake already under way offered the token stored before this one (or none): authenticate now.
      if (this.sc.signedAuthToken === token) return;
      if (this.revoked.has(token)) throw rebuildError({ name: ErrorName.AuthTokenRevoked, message: 'This token was revoked' });
    }
    let status: { isAuthenticated?: boolean; authError?: { name?: string } } | undefined;
    try {
      status = (await this.sc.authenticate(token)) as typeof status;
    } catch (err) {
      status = { isAuthenticated: false, authError: err as { name?: string } };
    }
    const error = status?.authError;
    if (status?.isAuthenticated || !error) return;
    if (keepsToken(error.name)) {
      // The token may be fine: keep it (a reload offers it again) and let the caller retry.
      await this.storage.set(this.key, token);
    } else if (removesToken(error.name)) await this.forget(token, error.name === ErrorName.AuthTokenRevoked ? 'revoked' : undefined);
    throw rebuildError(error);
  }

  /** `use`, and when the gateway could not check the token now (AuthUnavailableError), keep retrying it with backoff. */
  private async useOrRetry(token: string): Promise<void> {
    const generation = this.generation;
    try {
      await this.use(token);
    } catch (err) {
      if (retryable(err)) this.retryAuthenticate(token, generation, 1);
      throw err;
    }
  }

  /** The token is kept and offered again with backoff (0.5 s up to 20 s), until a login or logout intervenes. */
  private retryAuthenticate(token: string, generation: number, attempt = 0): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        if (this.closed || generation !== this.generation || this.sc.state !== this.sc.OPEN || this.sc.signedAuthToken === token) return;
        this.use(token).catch((err: unknown) => {
          if (retryable(err)) this.retryAuthenticate(token, generation, attempt + 1);
        });
      },
      reconnectDelay(0, attempt),
    );
  }

  // --- revocation at logout ---

  private get revokeKey(): string {
    return `${this.key}:revoke`;
  }

  /**
   * Has the gateway revoke a token through a socket of its own (this one may be down, or authenticated as someone
   * else). A token the gateway refuses as revoked, expired or invalid has nothing left to revoke.
   */
  private async revokeAside({ token, everywhere }: PendingRevocation): Promise<void> {
    if (browser && !navigator.onLine) throw new Error('offline');
    const side = this.socket(() => Promise.resolve(token), this.ackTimeout);
    try {
      const status = await Promise.race([side.listener('connect').once(), side.listener('close').once()]);
      const error = status.authError as { name?: string } | undefined;
      if (side.state !== side.OPEN) throw rebuildError({ name: 'ConnectionError', message: `Could not connect: ${closeName(Number(status.code))}` });
      if (error && removesToken(error.name)) return;
      if (!status.isAuthenticated) throw rebuildError(error ?? { name: 'ConnectionError', message: 'Not authenticated' });
      await side.invoke(Procedure.Logout, everywhere ? { everywhere: true } : undefined);
    } finally {
      side.disconnect(1000, 'Revoked');
      side.killAllListeners();
    }
  }

  /** Clears the pending revocation, unless a newer logout replaced it. */
  private async revocationDone(revocation: PendingRevocation): Promise<void> {
    if ((await this.pendingRevocation())?.token === revocation.token) await this.storage.remove(this.revokeKey);
  }

  private async pendingRevocation(): Promise<PendingRevocation | undefined> {
    try {
      const value = JSON.parse((await this.storage.get(this.revokeKey)) ?? 'null') as Partial<PendingRevocation> | null;
      return typeof value?.token === 'string' ? { token: value.token, everywhere: value.everywhere === true } : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A logout here or in another tab could not reach the gateway: made now that this tab is connected, by one tab at a
   * time (the lock), until it succeeds.
   */
  private async retryRevocation(): Promise<void> {
    if (this.closed || !(await this.pendingRevocation())) return;
    await this.exclusive(async () => {
      const revocation = await this.pendingRevocation();
      if (!revocation || this.closed) return;
      await this.revokeAside(revocation);
      await this.revocationDone(revocation);
    }, 'revoke').catch(() => undefined);
  }

  // --- tabs ---

  /** Tells the other tabs about this tab's new token (a login or authenticate). */
  private share(): void {
    const token = this.sc.signedAuthToken;
    if (token) this.tabs?.post({ type: 'token', token });
  }

  private fromTab(msg: TabMessage): void {
    if (this.closed) return;
    if (msg.type === 'token') {
      if (msg.token === this.sc.signedAuthToken || this.revoked.has(msg.token)) return;
      const theirs = claimsOf(msg.token);
      const ours = this.state.claims;
      if (!theirs || (ours && ours.sub === theirs.sub && ours.exp > theirs.exp)) return;
      // Another account's token switches this tab only when it is asking for one itself.
      if (ours && ours.sub !== theirs.sub && !this.pendingAuth) return;
      this.generation++;
      void this.useOrRetry(msg.token).catch((err: Error) => this.emit('error', err));
      return;
    }
    this.generation++;
    if (msg.token) this.revoked.add(msg.token);
    if (msg.token && this.sc.state === this.sc.OPEN) void this.retryRevocation();
    if (this.sc.authState === 'authenticated') {
      const token = this.sc.signedAuthToken;
      if (token) this.revoked.add(token);
      this.pendingReason = msg.reason === 'revoked' ? 'revoked' : 'other-tab';
      void this.sc.deauthenticate();
    }
  }

  // --- plumbing ---

  private listen(event: string, handler: (data: Record<string, unknown>) => void): void {
    void (async () => {
      for await (const data of this.sc.listener(event)) handler(data ?? {});
    })();
  }

  private receive<T>(event: string, handler: (data: T) => void): void {
    void (async () => {
      for await (const data of this.sc.receiver(event)) if (data && typeof data === 'object') handler(data as T);
    })();
  }

  private clearTimers(): void {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.stableTimer);
  }
}

/** Per-channel events (`presence room:1`, `subscribe room:1`), so one socket listener serves every presence list. */
class ChannelEvents extends Emitter<Record<string, unknown>> {
  run(key: string, data: unknown): void {
    this.emit(key, data);
  }
}
