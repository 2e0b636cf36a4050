/**
 * Compiles what the bench runs into plain CommonJS under .tmp/bench-build/ with esbuild: Gatehouse's CLI as an
 * operator deploys it (server/main.ts, run with `node`, not tsx), the peer servers, the memory probe and the load
 * generator. npm packages stay external and load from node_modules as in production.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

export const ROOT = join(__dirname, '..', '..');
export const BUILD_DIR = join(ROOT, '.tmp', 'bench-build');

export interface Built {
  readonly gatehouse: string;
  readonly stock: string;
  readonly socketio: string;
  readonly probe: string;
  readonly loadgen: string;
}

export async function buildBench(): Promise<Built> {
  mkdirSync(BUILD_DIR, { recursive: true });
  const entryPoints = {
    gatehouse: join(ROOT, 'server', 'main.ts'),
    stock: join(__dirname, 'servers', 'stock.ts'),
    socketio: join(__dirname, 'servers', 'socketio.ts'),
    probe: join(__dirname, 'servers', 'probe.ts'),
    loadgen: join(__dirname, 'load', 'loadgen.ts'),
  };
  await build({
    entryPoints,
    outdir: BUILD_DIR,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: false,
    logLevel: 'warning',
  });
  const out = (name: keyof typeof entryPoints) => join(BUILD_DIR, `${name}.cjs`);
  return { gatehouse: out('gatehouse'), stock: out('stock'), socketio: out('socketio'), probe: out('probe'), loadgen: out('loadgen') };
}
