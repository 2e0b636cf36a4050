import { BadRequestError, MAX_SUB_LENGTH, type ChannelGrants } from '../../shared';
import type { Clock } from '../clock';
import { sendJson, type Route } from '../http/health';
import { readJson, sendError } from '../http/read-body';
import type { GrantsService } from './grants-service';

/** Where the demo's "make bob staff" button posts. */
export const DEMO_GRANTS_PATH = '/demo/grants';

/** What the demo grants a user it makes staff: the staff rooms, as alice's token does. */
const staffGrants = (): ChannelGrants => ({ 'staff:*': ['subscribe', 'publish'] });

/**
 * The demo's admin-free way to change a user's grants live, on a development node serving the demo only: `POST
 * /demo/grants {sub, staff}` makes that user staff (an override granting `staff:*`) or returns them to their token's
 * grants. Anywhere else it answers 404 and changes nothing. The JSON content type keeps other sites' pages out (a
 * cross-origin request with it needs a preflight, which this node does not grant).
 */
export function demoGrantsRoute(enabled: boolean, grants: GrantsService, clock: Clock): Route {
  // Versions only go up: the clock, or one above the last when two changes share a millisecond.
  let last = 0;
  return async (req, res) => {
    if ((req.url ?? '').split('?')[0] !== DEMO_GRANTS_PATH) return false;
    if (!enabled) {
      sendJson(res, 404, {
        error: { name: 'NotFoundError', message: 'The demo grants endpoint exists in development mode only (no key configured, demo on)' },
      });
      return true;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: { name: 'MethodNotAllowedError', message: 'Use POST' } }, { allow: 'POST' });
      return true;
    }
    try {
      const body = (await readJson(req, 1024)) as { sub?: unknown; staff?: unknown } | null;
      const sub = body?.sub;
      if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) throw new BadRequestError('sub: a user id is required');
      if (typeof body?.staff !== 'boolean') throw new BadRequestError('staff: true or false');
      last = Math.max(last + 1, clock.now());
      const { outcomes, applied } = await grants.change([{ sub, version: last, channels: body.staff ? staffGrants() : null }]);
      sendJson(res, 200, { sub, version: last, stored: outcomes[0].stored, ...applied });
    } catch (err) {
      if (err instanceof BadRequestError) sendError(res, 400, err);
      else throw err;
    }
    return true;
  };
}
