import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { BadRequestError, MAX_SUB_LENGTH, NotFoundError, VersionConflictError, type ChannelGrants } from '../../shared';
import { readGrants } from '../../shared/channel-pattern';
import { readJson } from '../http/read-body';
import type { ApplyOutcome, ChangeOutcome } from '../grants/grants-service';
import { MAX_GRANTS_VERSION, type GrantChange, type GrantRecord } from '../grants/record';

/** Largest grants request body, bytes: a batch of many users. */
export const MAX_GRANTS_BODY_BYTES = 1024 * 1024;
/** Most users one batch call may change. */
export const MAX_GRANTS_BATCH = 10_000;
/** Longest override, seconds (a year). */
export const MAX_GRANTS_TTL_S = 365 * 24 * 3600;

/** What the grants routes do; the admin install wires them to the grants service and the admin bus. */
export interface GrantsActions {
  change(changes: readonly GrantChange[]): Promise<{ outcomes: ChangeOutcome[]; applied: ApplyOutcome }>;
  get(sub: string): Promise<GrantRecord | undefined>;
}

const version = z.number().int().positive().max(MAX_GRANTS_VERSION);
const ttl = z.number().int().positive().max(MAX_GRANTS_TTL_S);
const putBody = z.object({ version, channels: z.unknown(), ttl: ttl.optional() }).strict();

/** Whether a path is one of the grants routes: `/admin/grants` or `/admin/grants/{sub}`. */
export function isGrantsPath(path: string): boolean {
  return path === '/admin/grants' || path.startsWith('/admin/grants/');
}

/** The methods a grants path takes. */
export function grantsMethods(path: string): readonly string[] {
  return path === '/admin/grants' ? ['POST'] : ['GET', 'PUT', 'DELETE'];
}

/**
 * Answers a grants route (the key's scope and the method already checked): `PUT /admin/grants/{sub}`
 * `{version, channels, ttl?}`, `DELETE /admin/grants/{sub}?version=N`, `GET /admin/grants/{sub}`, and
 * `POST /admin/grants` `[{sub, version, channels, ttl?}]`. Bad input is a BadRequestError naming the field; a version
 * not above the one in force is a VersionConflictError. Both change nothing.
 */
export async function runGrantsRoute(req: IncomingMessage, path: string, actions: GrantsActions): Promise<unknown> {
  const method = req.method ?? 'GET';
  if (path === '/admin/grants') return batch(await readJson(req, MAX_GRANTS_BODY_BYTES), actions);
  const sub = subOf(path);
  if (method === 'GET') {
    const record = await actions.get(sub);
    if (!record) throw new NotFoundError(`No grants change is in force for this sub: its tokens' channels apply`);
    return { sub, version: record.version, channels: record.channels, expiresAt: new Date(record.expiresAt).toISOString() };
  }
  let change: GrantChange;
  if (method === 'PUT') {
    const body = parse(putBody, await readJson(req, MAX_GRANTS_BODY_BYTES));
    change = { sub, version: body.version, channels: grantsOf(body.channels, 'channels'), ttlMs: body.ttl === undefined ? undefined : body.ttl * 1000 };
  } else {
    change = { sub, version: deleteVersion(req.url ?? ''), channels: null };
  }
  const { outcomes, applied } = await actions.change([change]);
  const outcome = outcomes[0];
  if (!outcome.stored) throw conflict(outcome.version, outcome.current);
  return { sub, version: change.version, applied: applied.applied, unanswered: applied.unanswered };
}

async function batch(raw: unknown, actions: GrantsActions): Promise<unknown> {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_GRANTS_BATCH) {
    throw new BadRequestError(`body: must be an array of 1 to ${MAX_GRANTS_BATCH} changes {sub, version, channels, ttl?}`);
  }
  const seen = new Set<string>();
  const changes = raw.map((entry: unknown, i): GrantChange => {
    const change = batchEntry(entry, i);
    if (seen.has(change.sub)) throw new BadRequestError(`[${i}].sub: ${JSON.stringify(change.sub.slice(0, 64))} appears twice in the batch`);
    seen.add(change.sub);
    return change;
  });
  const { outcomes, applied } = await actions.change(changes);
  return {
    results: outcomes.map((o) =>
      o.stored ? { sub: o.sub, version: o.version, stored: true } : { sub: o.sub, version: o.version, stored: false, current: o.current },
    ),
    applied: applied.applied,
    unanswered: applied.unanswered,
  };
}

const BATCH_FIELDS = new Set(['sub', 'version', 'channels', 'ttl']);

/**
 * One entry of a batch, checked by hand: a schema library's per-entry cost showed in the time of a 10,000-user
 * batch, which must answer within the nodes' acknowledgement wait.
 */
function batchEntry(entry: unknown, i: number): GrantChange {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    throw new BadRequestError(`[${i}]: must be an object {sub, version, channels, ttl?}`);
  const e = entry as Record<string, unknown>;
  for (const key of Object.keys(e)) if (!BATCH_FIELDS.has(key)) throw new BadRequestError(`[${i}]: unknown field ${JSON.stringify(key.slice(0, 64))}`);
  if (typeof e.sub !== 'string' || e.sub.length === 0 || e.sub.length > MAX_SUB_LENGTH) {
    throw new BadRequestError(`[${i}].sub: must be a string of 1 to ${MAX_SUB_LENGTH} characters`);
  }
  if (!Number.isSafeInteger(e.version) || (e.version as number) < 1) throw new BadRequestError(`[${i}].version: must be a positive integer`);
  if (e.ttl !== undefined && (!Number.isSafeInteger(e.ttl) || (e.ttl as number) < 1 || (e.ttl as number) > MAX_GRANTS_TTL_S)) {
    throw new BadRequestError(`[${i}].ttl: must be a whole number of seconds from 1 to ${MAX_GRANTS_TTL_S}`);
  }
  return {
    sub: e.sub,
    version: e.version as number,
    channels: grantsOf(e.channels, `[${i}].channels`),
    ttlMs: e.ttl === undefined ? undefined : (e.ttl as number) * 1000,
  };
}

function conflict(version: number, current: number): VersionConflictError {
  return new VersionConflictError(`version ${version} is not above the version in force for this sub (${current}); nothing was changed`, current);
}

function subOf(path: string): string {
  let sub: string;
  try {
    sub = decodeURIComponent(path.slice('/admin/grants/'.length));
  } catch {
    throw new BadRequestError('sub: not a valid percent-encoded path segment');
  }
  if (sub.length === 0 || sub.length > MAX_SUB_LENGTH) throw new BadRequestError(`sub: must be 1 to ${MAX_SUB_LENGTH} characters`);
  return sub;
}

function deleteVersion(url: string): number {
  const text = new URL(url, 'http://admin').searchParams.get('version');
  const parsed = text !== null && /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(parsed)) throw new BadRequestError('version: the query must carry ?version=N, a positive integer');
  return parsed;
}

/** The channels of a change, in the token grammar; every bad entry is a 400 naming it. */
function grantsOf(channels: unknown, field: string): ChannelGrants {
  if (channels === undefined) throw new BadRequestError(`${field}: required (an array of patterns or an object of pattern → capabilities)`);
  const read = readGrants(channels);
  const problem = read.problems[0];
  if (problem) throw new BadRequestError(`${field}${problem.label}: ${problem.problem}`);
  return channels as ChannelGrants;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.length > 0 ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.') : 'body';
  throw new BadRequestError(`${where}: ${issue.message}`);
}
