import type { AGServer } from 'socketcluster-server';
import { ProcedureNotFoundError } from '../../shared';
import type { ServerSocket } from '../sc/facade';

/**
 * What a rule returns for one action: undefined to let it through, an Error to block it with (the client sees that
 * error's name), or `{data}` to let it through with a rewritten payload.
 */
export type Decision = Error | undefined | { readonly data: unknown };

export type InboundActionType = 'publishIn' | 'subscribe' | 'invoke' | 'transmit' | 'authenticate' | 'message';

/** An inbound action as rules see it. */
export interface InboundAction {
  readonly type: InboundActionType;
  readonly socket: ServerSocket;
  readonly channel?: string;
  readonly procedure?: string;
  readonly receiver?: string;
  readonly data?: unknown;
}

/** A synchronous rule. SocketCluster runs inbound actions one at a time per socket: no I/O, no await. */
export type InboundRule = (action: InboundAction) => Decision;

/** Told of an action the rules let through. Synchronous like a rule, and like a rule's bug, a throw refuses it. */
export type AllowedListener = (action: InboundAction) => void;

/**
 * InboundDispatcher is the gateway's single inbound middleware (SocketCluster allows one per type). Rules register
 * per action type and run in order; the first that blocks or rewrites decides. INVOKE of a procedure nobody
 * registered is refused at once with ProcedureNotFoundError instead of leaving the caller to its ack timeout.
 */
export class InboundDispatcher {
  private readonly rules = new Map<InboundActionType, InboundRule[]>();
  private readonly allowedListeners = new Map<InboundActionType, AllowedListener[]>();
  private readonly procedures = new Set<string>();
  private readonly absentHints = new Map<string, string>();

  use(type: InboundActionType, rule: InboundRule): void {
    const list = this.rules.get(type) ?? [];
    list.push(rule);
    this.rules.set(type, list);
  }

  /**
   * Tells `listener` of every action of `type` the rules let through, once all of them have decided: it sees what
   * every rule allowed, whichever order features added their rules and listeners in (e.g. counting publishes).
   */
  onAllowed(type: InboundActionType, listener: AllowedListener): void {
    const list = this.allowedListeners.get(type) ?? [];
    list.push(listener);
    this.allowedListeners.set(type, list);
  }

  /** Names a procedure clients may invoke. */
  allowProcedure(name: string): void {
    this.procedures.add(name);
  }

  /** Says, in the ProcedureNotFoundError of a procedure this node does not have, what would give it one. */
  explainAbsentProcedure(name: string, hint: string): void {
    this.absentHints.set(name, hint);
  }

  decide(action: InboundAction): Decision {
    if (action.type === 'invoke' && !this.procedures.has(String(action.procedure))) {
      const name = String(action.procedure);
      return new ProcedureNotFoundError(name, this.absentHints.get(name));
    }
    for (const rule of this.rules.get(action.type) ?? []) {
      const decision = rule(action);
      if (decision !== undefined) {
        if (!(decision instanceof Error)) this.tellAllowed(action);
        return decision;
      }
    }
    this.tellAllowed(action);
    return undefined;
  }

  private tellAllowed(action: InboundAction): void {
    const listeners = this.allowedListeners.get(action.type);
    if (listeners) for (const listener of listeners) listener(action);
  }

  attach(server: AGServer): void {
    // SocketCluster starts this once per socket and drops what it returns; the loop refuses what it cannot decide,
    // so nothing is left to handle.
    server.setMiddleware(server.MIDDLEWARE_INBOUND, (stream) => void this.consume(stream));
  }

  private async consume(stream: Parameters<AGServer.inboundMiddlewareFunction>[0]): Promise<void> {
    for await (const action of stream) {
      let decision: Decision;
      try {
        decision = this.decide(action);
      } catch (err) {
        // A rule's bug must not take the socket's action queue down with it; refuse what we could not decide.
        decision = err instanceof Error ? err : new Error(String(err));
      }
      if (decision === undefined) action.allow(undefined);
      else if (decision instanceof Error) action.block(decision);
      else action.allow({ data: decision.data });
    }
  }
}
