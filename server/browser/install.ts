import { join } from 'node:path';
import type { Route } from '../http/health';
import { packageRoot } from '../paths';
import { assetRoute, type Asset } from './static-asset';

/** Path of the browser client. */
export const CLIENT_PATH = '/client.js';
/**
 * Cache lifetime of /client.js: a day, then revalidated by ETag (a 304 costs no body). The URL carries no version,
 * so a longer lifetime would keep an old client in browsers well after an upgrade.
 */
export const CLIENT_CACHE_CONTROL = 'public, max-age=86400';

/** What `installBrowserAssets` needs from the gateway. */
export interface BrowserAssetsHost {
  readonly config: { readonly demo: boolean };
  addRoute(route: Route): void;
}

/**
 * Serves the browser side: the client library at /client.js (built into dist/ by `npm run build:client`; the server
 * only reads the file, it never imports client/), and, with GATEHOUSE_DEMO or in development mode, the demo page at
 * `/` from demo/.
 */
export function installBrowserAssets(host: BrowserAssetsHost): void {
  const root = packageRoot();
  const assets: Asset[] = [
    {
      path: CLIENT_PATH,
      file: join(root, 'dist', 'client.js'),
      contentType: 'text/javascript; charset=utf-8',
      cacheControl: CLIENT_CACHE_CONTROL,
      missing: 'The browser client is not built: run npm run build:client',
      // A public script: pages on any origin may import it as a module (which needs CORS).
      headers: { 'access-control-allow-origin': '*' },
    },
    {
      path: `${CLIENT_PATH}.map`,
      file: join(root, 'dist', 'client.js.map'),
      contentType: 'application/json; charset=utf-8',
      cacheControl: CLIENT_CACHE_CONTROL,
      headers: { 'access-control-allow-origin': '*' },
    },
  ];
  if (host.config.demo) {
    const page = { cacheControl: 'no-cache' };
    assets.push(
      {
        ...page,
        path: '/',
        file: join(root, 'demo', 'index.html'),
        contentType: 'text/html; charset=utf-8',
        headers: { 'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'" },
      },
      { ...page, path: '/demo.css', file: join(root, 'demo', 'demo.css'), contentType: 'text/css; charset=utf-8' },
      { ...page, path: '/demo.js', file: join(root, 'demo', 'demo.js'), contentType: 'text/javascript; charset=utf-8' },
    );
  }
  host.addRoute(assetRoute(assets));
}
