#!/usr/bin/env node
// Builds the client library: dist/client.js, one minified ES module for browsers with socketcluster-client inside
// (served by the gateway at /client.js), and dist/client.node.mjs for Node, which imports socketcluster-client (and
// its ws) from node_modules. The package exports both as "gatehouse/client". Usage: node scripts/build-client.mjs
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** esbuild options for the browser bundle; the size test builds with the same ones. */
export const clientBuildOptions = {
  entryPoints: [`${root}client/index.ts`],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  // socketcluster-client's dependencies reach for Node's `global`.
  define: { global: 'globalThis' },
  legalComments: 'none',
  logLevel: 'warning',
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build({ ...clientBuildOptions, outfile: `${root}dist/client.js`, sourcemap: 'linked' });
  await build({
    ...clientBuildOptions,
    platform: 'node',
    target: ['node20'],
    minify: false,
    packages: 'external',
    define: {},
    outfile: `${root}dist/client.node.mjs`,
  });
  process.stdout.write('built dist/client.js and dist/client.node.mjs\n');
}
