import type { ServerResponse } from 'node:http';
import { ErrorName, GatehouseError, RateLimitedError } from '../../shared';
import type { GatehouseAuthEngine } from '../auth/auth-engine';
import { tokenExpiry } from '../auth/token-expiry';
import type { Clock } from '../clock';
import { clientIp, type ProxyTrust } from '../http/client-ip';
import type { Cors } from '../http/cors';
import { sendJson, type Route } from '../http/health';
import { readJson, sendError } from '../http/read-body';
import { tokenPayloadOf } from './credential-verifier';
import type { LoginService } from './login-service';

/** Path of the HTTP login. */
export const LOGIN_PATH = '/auth/login';
/** Largest login request body, in bytes. */
export const MAX_LOGIN_BODY_BYTES = 8 * 1024;

/** What a node without login says about it: which settings turn it on, nothing more. */
export const LOGIN_OFF = 'login is not configured on this gateway (GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL turns it on)';

/** `POST /auth/login` on a node without login: a 404 that says which settings turn login on. */
export function loginOffRoute(): Route {
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] !== LOGIN_PATH) return false;
    sendJson(res, 404, { error: { name: 'NotFoundError', message: `No ${LOGIN_PATH}: ${LOGIN_OFF}` } });
    return true;
  };
}

/** HTTP status for each login failure the client can see. */
const STATUS: Partial<Record<string, number>> = {
  [ErrorName.BadRequest]: 400,
  [ErrorName.Login]: 401,
  [ErrorName.RateLimited]: 429,
  [ErrorName.LoginUnavailable]: 503,
};

/**
 * `POST /auth/login` for apps that log in before they connect: the same JSON `{username, password}` as the RPC.
 * 200 `{token, expiresAt, expiresIn}`; failures `{error: {name, message}}` with 400, 401, 429 (and Retry-After) or
 * 503. Only `application/json` is accepted, which also keeps plain cross-site HTML forms from posting here. Pages on
 * the origins in GATEHOUSE_ORIGINS may call it cross-origin (CORS, with its preflight); no other origin gets a CORS
 * header.
 */
export function loginRoute(service: LoginService, engine: Pick<GatehouseAuthEngine, 'issue'>, trust: ProxyTrust, cors: Cors, clock: Clock): Route {
  return async (req, res) => {
    if ((req.url ?? '').split('?')[0] !== LOGIN_PATH) return false;
    if (req.method === 'OPTIONS') {
      cors.preflight(req, res);
      return true;
    }
    const corsHeaders = cors.headers(req);
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: { name: 'MethodNotAllowedError', message: 'Use POST' } }, { allow: 'POST, OPTIONS', ...corsHeaders });
      return true;
    }
    try {
      const data = await readJson(req, MAX_LOGIN_BODY_BYTES);
      const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trust);
      const identity = await service.attempt(data, { ip, via: 'http' });
      const { token, claims } = engine.issue(tokenPayloadOf(identity));
      sendJson(res, 200, { token, expiresAt: claims.exp, expiresIn: tokenExpiry(claims, clock.now()).expiresIn }, corsHeaders);
    } catch (err) {
      // Anything unnamed is a bug: the router logs it and answers 500.
      if (!(err instanceof GatehouseError)) throw err;
      sendLoginError(res, err, corsHeaders);
    }
    return true;
  };
}

function sendLoginError(res: ServerResponse, err: GatehouseError, corsHeaders: Record<string, string>): void {
  const headers: Record<string, string> = { ...corsHeaders };
  if (err instanceof RateLimitedError) {
    headers['retry-after'] = String(err.retryAfter);
    // Without this a cross-origin page could not read how long to wait.
    if (corsHeaders['access-control-allow-origin']) headers['access-control-expose-headers'] = 'Retry-After';
  }
  sendError(res, STATUS[err.name] ?? 500, err, headers);
}
