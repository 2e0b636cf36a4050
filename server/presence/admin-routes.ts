import { AdminUnavailableError, PresenceUnavailableError } from '../../shared';
import type { FeatureAdminRoute } from '../admin/admin-routes';
import type { Presence } from './install';

/** The admin API answers an index that did not answer with 503, as it does for revocations and grants. */
async function unavailableAs503<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof PresenceUnavailableError) throw new AdminUnavailableError(`${err.message} (Redis did not answer)`);
    throw err;
  }
}

/**
 * Presence's admin routes (scope `read`): `GET /admin/presence?channel=C[&cursor=&limit=]`, the procedure's answer
 * without the capability check, and `GET /admin/presence/stats?channel=C`, `{members, connections, anonymous}`.
 */
export function presenceAdminRoutes(presence: Presence): Record<string, FeatureAdminRoute> {
  return {
    '/admin/presence': {
      method: 'GET',
      scope: 'read',
      run: (query) => {
        const limit = query.get('limit');
        return unavailableAs503(
          presence.page({
            channel: query.get('channel') ?? undefined,
            ...(query.has('cursor') ? { cursor: query.get('cursor') } : {}),
            ...(limit === null ? {} : { limit: /^\d{1,7}$/.test(limit) ? Number(limit) : limit }),
          }),
        );
      },
    },
    '/admin/presence/stats': {
      method: 'GET',
      scope: 'read',
      run: (query) => unavailableAs503(presence.stats(query.get('channel') ?? undefined)),
    },
  };
}
