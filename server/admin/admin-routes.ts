import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { channelNameProblem } from '../../shared/channel-pattern';
import { AdminUnavailableError, BadRequestError, GatehouseError, MAX_SUB_LENGTH, MAX_TOKEN_ID_LENGTH, NotFoundError, VersionConflictError } from '../../shared';
import { PublishPayloadError } from '../cluster/payload';
import { sendJson, type Route } from '../http/health';
import { readJson, sendError } from '../http/read-body';
import type { RevocationTarget } from '../revocation/store';
import type { ControlOutcome } from './control-bus';
import { grantsMethods, isGrantsPath, runGrantsRoute, type GrantsActions } from './grants-routes';
import type { NodeInfo } from './node-registry';
import type { AdminScope } from './settings';

/** Largest admin request body, bytes (a publish carries data). */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

const id = (max: number) => z.string().min(1).max(max);
const revokeBody = z.union([
  z.object({ jti: id(MAX_TOKEN_ID_LENGTH) }).strict(),
  z.object({ sid: id(MAX_TOKEN_ID_LENGTH) }).strict(),
  z.object({ sub: id(MAX_SUB_LENGTH) }).strict(),
]);
const disconnectBody = z.object({ sub: id(MAX_SUB_LENGTH) }).strict();
const publishBody = z
  .object({ channel: z.string(), data: z.unknown() })
  .strict()
  .refine((b) => b.data !== undefined, { message: 'data is required (any JSON value)', path: ['data'] });

/** What the admin routes do; the install wires them to revocation, the control bus and the registry. */
export interface AdminActions {
  revoke(target: RevocationTarget): Promise<{ revoked: { kind: string; id: string; at: number } } & ControlOutcome>;
  disconnect(sub: string): Promise<ControlOutcome>;
  publish(channel: string, data: unknown): Promise<void>;
  nodes(): Promise<NodeInfo[]>;
  /** The live-grants routes. */
  readonly grants: GrantsActions;
}

export { AdminUnavailableError };

/**
 * An admin route a feature adds (installOperations' `adminRoutes`), keyed by its path: like the built-in ones, one
 * method and one scope; `run` gets the query string and, for POST, the parsed body. A GatehouseError it throws
 * answers 400 (BadRequestError) or 503 (AdminUnavailableError) as the built-in routes do; others, 404 by name.
 */
export interface FeatureAdminRoute {
  readonly method: 'GET' | 'POST';
  readonly scope: AdminScope;
  run(query: URLSearchParams, body: unknown): Promise<unknown>;
}

/** Whether a request path is under /admin. */
function isAdminPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/');
}

/**
 * adminOffRoute answers every /admin path of a node without an admin key: a 404 that names the setting which
 * turns the admin API on, and says nothing else about the node.
 */
export function adminOffRoute(): Route {
  return (req, res) => {
    if (!isAdminPath((req.url ?? '').split('?')[0])) return false;
    sendJson(res, 404, { error: { name: 'NotFoundError', message: 'The admin API is off; GATEHOUSE_ADMIN_KEY or GATEHOUSE_ADMIN_KEYS turns it on' } });
    return true;
  };
}

/**
 * The admin API under /admin/*. Only present when an admin key is set (otherwise every admin path is a 404, like any
 * unknown path); every request needs `Authorization: Bearer KEY` (else 401 UnauthorizedError), and a key holding the
 * route's scope (else 403 ForbiddenError naming it). Bodies are strict: unknown fields, wrong types, bad JSON and
 * oversized bodies get 400 BadRequestError and change nothing.
 */
export function adminRoutes(
  scopesOf: (req: IncomingMessage) => ReadonlySet<AdminScope> | undefined,
  actions: AdminActions,
  features: Readonly<Record<string, FeatureAdminRoute>> = {},
): Route {
  return async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (!isAdminPath(path)) return false;
    const scopes = scopesOf(req);
    if (!scopes) {
      sendJson(res, 401, { error: { name: 'UnauthorizedError', message: 'Authorization: Bearer <admin key> required' } }, { 'www-authenticate': 'Bearer' });
      return true;
    }
    try {
      await dispatch(path, req, res, scopes, actions, features);
    } catch (err) {
      if (err instanceof BadRequestError) sendError(res, 400, err);
      else if (err instanceof VersionConflictError) sendJson(res, 409, { error: { name: err.name, message: err.message, current: err.current } });
      else if (err instanceof NotFoundError) sendJson(res, 404, { error: { name: err.name, message: err.message } });
      else if (err instanceof AdminUnavailableError) sendJson(res, 503, { error: { name: err.name, message: err.message } });
      else if (err instanceof GatehouseError) sendJson(res, 404, { error: { ...err, name: err.name, message: err.message } });
      else throw err;
    }
    return true;
  };
}

async function dispatch(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  scopes: ReadonlySet<AdminScope>,
  actions: AdminActions,
  features: Readonly<Record<string, FeatureAdminRoute>>,
): Promise<void> {
  if (isGrantsPath(path)) {
    if (!scopes.has('grants')) {
      sendJson(res, 403, { error: { name: 'ForbiddenError', message: `This key lacks the "grants" scope ${path} needs`, scope: 'grants' } });
      return;
    }
    const methods = grantsMethods(path);
    if (!methods.includes(req.method ?? '')) {
      sendJson(res, 405, { error: { name: 'MethodNotAllowedError', message: `Use ${methods.join(', ')}` } }, { allow: methods.join(', ') });
      return;
    }
    sendJson(res, 200, await runGrantsRoute(req, path, actions.grants));
    return;
  }
  const feature = Object.prototype.hasOwnProperty.call(features, path) ? features[path] : undefined;
  const route = ROUTES[path] ?? (feature && { method: feature.method, scope: feature.scope, run: (body: unknown) => feature.run(queryOf(req), body) });
  if (!route) {
    sendJson(res, 404, { error: { name: 'NotFoundError', message: 'Not found' } });
    return;
  }
  if (!scopes.has(route.scope)) {
    sendJson(res, 403, { error: { name: 'ForbiddenError', message: `This key lacks the "${route.scope}" scope ${path} needs`, scope: route.scope } });
    return;
  }
  if (req.method !== route.method) {
    sendJson(res, 405, { error: { name: 'MethodNotAllowedError', message: `Use ${route.method}` } }, { allow: route.method });
    return;
  }
  const body = route.method === 'POST' ? await readJson(req, MAX_ADMIN_BODY_BYTES) : undefined;
  sendJson(res, 200, await route.run(body, actions));
}

/** Every admin route with the one scope a key needs for it. */
const ROUTES: Record<string, { method: 'GET' | 'POST'; scope: AdminScope; run(body: unknown, actions: AdminActions): Promise<unknown> }> = {
  '/admin/revoke': {
    method: 'POST',
    scope: 'revoke',
    async run(body, actions) {
      const b = parse(revokeBody, body);
      const [kind, value] = Object.entries(b)[0] as [RevocationTarget['kind'], string];
      const outcome = await actions.revoke({ kind, id: value });
      return { revoked: outcome.revoked, disconnected: outcome.closed, unanswered: outcome.unanswered };
    },
  },
  '/admin/disconnect': {
    method: 'POST',
    scope: 'disconnect',
    async run(body, actions) {
      const outcome = await actions.disconnect(parse(disconnectBody, body).sub);
      return { disconnected: outcome.closed, unanswered: outcome.unanswered };
    },
  },
  '/admin/publish': {
    method: 'POST',
    scope: 'publish',
    async run(body, actions) {
      const { channel, data } = parse(publishBody, body);
      const problem = channelNameProblem(channel);
      if (problem) throw new BadRequestError(`channel: ${problem}`);
      try {
        await actions.publish(channel, data);
      } catch (err) {
        // Parsed JSON can still be refused: nested deeper than the encoder goes. Nothing was delivered.
        if (err instanceof PublishPayloadError) throw new BadRequestError(`data: ${err.message}`);
        throw err;
      }
      return { published: true };
    },
  },
  '/admin/nodes': {
    method: 'GET',
    scope: 'read',
    async run(_body, actions) {
      return { nodes: await actions.nodes() };
    },
  },
};

function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === 'invalid_union') {
    throw new BadRequestError('body must be exactly one of {"jti": …}, {"sid": …} or {"sub": …}');
  }
  const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw new BadRequestError(`${where}: ${issue.message}`);
}
