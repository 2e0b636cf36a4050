import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError, type GatehouseError } from '../../shared';
import { sendJson } from './health';

/** Why a request body could not be read. */
export class BodyError extends Error {
  override readonly name = 'BodyError';
}

/**
 * Reads a request body of at most `maxBytes`, failing as soon as the declared or received size passes it (nothing
 * beyond the cap is buffered) or when it has not arrived within `timeoutMs`.
 */
export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs = 10_000): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) return Promise.reject(new BodyError(`body is over ${maxBytes} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const timer = setTimeout(() => finish(new BodyError('body did not arrive in time')), timeoutMs);
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) finish(new BodyError(`body is over ${maxBytes} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (err: Error) => finish(new BodyError(err.message));
    function finish(err?: Error) {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) {
        // Stop reading; the caller answers with `connection: close` so the rest is never accepted.
        req.pause();
        reject(err);
      } else {
        resolve(Buffer.concat(chunks));
      }
    }
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/**
 * Reads a JSON request body of at most `maxBytes`. Throws BadRequestError (answer 400) for a content type other than
 * application/json (which also keeps plain cross-site HTML forms out), a body too big or too slow, or bad JSON.
 */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new BadRequestError('Content-Type must be application/json');
  let body: Buffer;
  try {
    body = await readBody(req, maxBytes);
  } catch (err) {
    if (err instanceof BodyError) throw new BadRequestError(err.message);
    throw err;
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequestError('the body is not valid JSON');
  }
}

/** Answers `{error: {name, message}}` with a status; closes the connection when the body was not read to its end. */
export function sendError(res: ServerResponse, status: number, err: GatehouseError, headers: Record<string, string> = {}): void {
  // A body we stopped reading (too big, too slow) must not be taken as the next request on this connection.
  if (!res.req.complete) headers = { ...headers, connection: 'close' };
  sendJson(res, status, { error: { name: err.name, message: err.message } }, headers);
}
