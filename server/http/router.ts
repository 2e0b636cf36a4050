import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorName } from '../../shared';
import type { Logger } from '../log';
import { sendJson, type Route } from './health';

/**
 * Tries routes in order, then the fallbacks (routes that answer only what no feature claimed, such as the 404 at `/`
 * that a demo page replaces); anything unclaimed is a JSON 404. A route that throws answers 500 and is logged.
 */
export function createRequestHandler(
  routes: readonly Route[],
  log: Logger,
  fallbacks: readonly Route[] = [],
): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      for (const route of routes) {
        if (await route(req, res)) return;
      }
      for (const route of fallbacks) {
        if (await route(req, res)) return;
      }
      sendJson(res, 404, { error: { name: ErrorName.NotFound, message: 'Not found' } });
    } catch (err) {
      log.error({ err, url: req.url }, 'http route failed');
      if (!res.headersSent) sendJson(res, 500, { error: { name: ErrorName.Internal, message: 'Internal error' } });
      else res.destroy();
    }
  };
  // node:http ignores what a listener returns; handle answers its own failures (500, or a destroyed response).
  return (req, res) => void handle(req, res);
}
