import { GatehouseError } from '../../shared';
import type { Logger } from '../log';
import { procedureStream, type ServerSocket } from '../sc/facade';
import type { InboundDispatcher } from '../middleware/inbound';

/** A procedure's implementation: resolves the answer, or throws a GatehouseError the client sees by name. */
export type ProcedureHandler = (data: unknown, socket: ServerSocket) => Promise<unknown>;

/**
 * ProcedureRegistry owns the gateway's RPC procedures: it tells the inbound middleware which names exist and serves
 * each socket's requests until the socket closes (SocketCluster kills a closed socket's procedure streams).
 *
 * A socket is served a procedure from its first call of it, not from its connection: most sockets never call one, and
 * a waiting `for await` consumer per socket and procedure cost every connection memory and handshake time (about a
 * fifth of each: BENCHMARKS.md, "Procedures served from a socket's first call").
 * The consumer starts in the INVOKE middleware (once every rule let the call through), which SocketCluster runs
 * before it writes the request to the socket's procedure stream, so the consumer is there to receive it.
 */
export class ProcedureRegistry {
  private readonly handlers = new Map<string, ProcedureHandler>();
  /** The procedures each socket is being served. */
  private readonly serving = new WeakMap<ServerSocket, Set<string>>();

  constructor(
    private readonly dispatcher: InboundDispatcher,
    private readonly log: Logger,
  ) {
    // A listener, not a rule: it serves only calls every rule let through, whatever was registered before it.
    dispatcher.onAllowed('invoke', ({ socket, procedure }) => {
      if (procedure !== undefined) this.serve(socket, procedure);
    });
  }

  register(name: string, handler: ProcedureHandler): void {
    this.handlers.set(name, handler);
    this.dispatcher.allowProcedure(name);
  }

  /** Records why a procedure is absent on this node (e.g. login is not configured): its ProcedureNotFoundError says so. */
  explainAbsent(name: string, hint: string): void {
    this.dispatcher.explainAbsentProcedure(name, hint);
  }

  /** Starts serving one procedure to one socket, once. */
  private serve(socket: ServerSocket, name: string): void {
    const handler = this.handlers.get(name);
    if (!handler) return;
    let names = this.serving.get(socket);
    if (!names) this.serving.set(socket, (names = new Set()));
    if (names.has(name)) return;
    names.add(name);
    void (async () => {
      for await (const request of procedureStream(socket, name)) {
        // One request at a time per socket and procedure: a client cannot run its logins in parallel.
        try {
          request.end(await handler(request.data, socket));
        } catch (err) {
          if (err instanceof GatehouseError) {
            request.error(err);
          } else {
            this.log.error({ err, procedure: name }, 'procedure failed');
            const internal = new Error('Internal error');
            internal.name = 'InternalError';
            request.error(internal);
          }
        }
      }
    })();
  }
}
