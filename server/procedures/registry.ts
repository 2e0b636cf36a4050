import { GatehouseError } from '../../shared';
import type { Logger } from '../log';
import { procedureStream, type ServerSocket } from '../sc/facade';
import type { InboundDispatcher } from '../middleware/inbound';

/** A procedure's implementation: resolves the answer, or throws a GatehouseError the client sees by name. */
export type ProcedureHandler = (data: unknown, socket: ServerSocket) => Promise<unknown>;

/**
 * ProcedureRegistry owns the gateway's RPC procedures: it tells the inbound middleware which names exist and serves
 * each socket's requests until the socket closes (SocketCluster kills a closed socket's procedure streams).
 */
export class ProcedureRegistry {
  private readonly handlers = new Map<string, ProcedureHandler>();

  constructor(private readonly dispatcher: InboundDispatcher, private readonly log: Logger) {}

  register(name: string, handler: ProcedureHandler): void {
    this.handlers.set(name, handler);
    this.dispatcher.allowProcedure(name);
  }

  /** Records why a procedure is absent on this node (e.g. login is not configured): its ProcedureNotFoundError says so. */
  explainAbsent(name: string, hint: string): void {
    this.dispatcher.explainAbsentProcedure(name, hint);
  }

  /** Starts serving a newly connected socket. */
  serve(socket: ServerSocket): void {
    for (const [name, handler] of this.handlers) {
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
}
