import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build, type BuildOptions } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { CloseCode, closeAction, closeName } from '../../client';

/**
 * Our layer's budget on top of socketcluster-client, and the whole bundle's, in bytes min+gzip. The presence list
 * (snapshot paging, gap detection, reordering, resync) costs about 2 KB of the layer, the live grants' event and kick
 * reasons about 0.3 KB.
 */
const OUR_LAYER_MAX = 12 * 1024;
const BUNDLE_MAX = 37.5 * 1024;

async function bundle(extra: BuildOptions): Promise<string> {
  // The same options `npm run build:client` uses for dist/client.js.
  const { clientBuildOptions } = (await import(join(__dirname, '..', '..', 'scripts', 'build-client.mjs'))) as { clientBuildOptions: BuildOptions };
  const result = await build({ ...clientBuildOptions, ...extra, write: false, sourcemap: false });
  assert.is(result.errors.length, 0);
  return result.outputFiles[0].text;
}

const gzipped = (code: string) => gzipSync(code, { level: 9 }).length;

test('the browser bundle has no Node module in it', async () => {
  const code = await bundle({});
  assert.not.match(code, /require\(["']node:|from ["']node:/);
});

test(`size: our layer at most ${OUR_LAYER_MAX} B min+gzip over socketcluster-client; the whole bundle at most ${BUNDLE_MAX} B`, async () => {
  const whole = gzipped(await bundle({}));
  const base = gzipped(
    await bundle({
      entryPoints: undefined,
      stdin: { contents: "export { create } from 'socketcluster-client';", resolveDir: join(__dirname, '..', '..'), loader: 'js' },
    }),
  );
  const ours = whole - base;
  process.stdout.write(`    client bundle ${whole} B min+gzip = socketcluster-client ${base} B + ours ${ours} B\n`);
  assert.ok(ours <= OUR_LAYER_MAX, `our layer is ${ours} B`);
  assert.ok(whole <= BUNDLE_MAX, `the bundle is ${whole} B`);
});

test('the client reads the shared close codes', () => {
  assert.is(closeName(CloseCode.TokenRevoked), 'TokenRevoked');
  assert.is(closeName(1006), 'ConnectionLost');
  assert.is(closeAction(CloseCode.ShuttingDown), 'retry');
  assert.is(closeAction(CloseCode.TokenRevoked), 'stop');
});

test.run();
