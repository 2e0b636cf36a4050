import type { IncomingMessage } from 'node:http';

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
