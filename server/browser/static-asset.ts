import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sendJson, type Route } from '../http/health';

export interface Asset {
  /** URL path it is served at. */
  readonly path: string;
  /** File it is read from (once, at its first request). */
  readonly file: string;
  readonly contentType: string;
  readonly cacheControl: string;
  /** Extra response headers (e.g. a Content-Security-Policy). */
  readonly headers?: Readonly<Record<string, string>>;
  /** What the 404 says while the file does not exist (e.g. how to build it). */
  readonly missing?: string;
}

interface Loaded {
  readonly body: Buffer;
  readonly etag: string;
}

/**
 * Serves files read from disk at fixed paths: GET and HEAD, a strong ETag (SHA-256 of the content) and 304 for a
 * matching If-None-Match. Each file is read at its first request and kept in memory; a file that does not exist yet
 * (a client not built) answers 404 until it does.
 */
export function assetRoute(assets: readonly Asset[]): Route {
  const byPath = new Map(assets.map((a) => [a.path, a]));
  const loaded = new Map<string, Loaded>();
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const asset = byPath.get(path);
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    let entry = loaded.get(path);
    if (!entry) {
      try {
        const body = readFileSync(asset.file);
        entry = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
        loaded.set(path, entry);
      } catch {
        sendJson(res, 404, { error: { name: 'NotFoundError', message: asset.missing ?? 'Not found' } });
        return true;
      }
    }
    const headers = { etag: entry.etag, 'cache-control': asset.cacheControl, 'x-content-type-options': 'nosniff', ...asset.headers };
    if (req.headers['if-none-match'] === entry.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    res.writeHead(200, { ...headers, 'content-type': asset.contentType, 'content-length': entry.body.length });
    res.end(req.method === 'HEAD' ? undefined : entry.body);
    return true;
  };
}
