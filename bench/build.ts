/**
 * Compiles what the bench runs into plain CommonJS under bench/.tmp/bench-build/ with esbuild: Gatehouse's CLI
 * (server/main.ts, run with `node`, not tsx), the peer servers, the memory probe and the load generator. npm packages
 * stay external and load from node_modules as in production: from inside bench/, a peer finds this package's own
 * dependencies (Socket.IO) and everything else, stock SocketCluster included, resolves to the gateway's node_modules,
 * so the stock servers run exactly the versions Gatehouse runs on. A normal run measures Gatehouse from dist/ instead
 * (`buildDeployed`); a `--baseline` run measures both commits from esbuild bundles, so the two differ only in code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The gateway's checkout, which the bench measures. */
export const ROOT = join(__dirname, '..');
export const BUILD_DIR = join(__dirname, '.tmp', 'bench-build');

export interface Built {
  readonly gatehouse: string;
  readonly stock: string;
  readonly socketio: string;
  readonly probe: string;
  readonly loadgen: string;
  /** Gatehouse at the `--baseline` commit, when asked for. */
  readonly baseline?: string;
}

/** The paths of an existing build (`--no-build`). */
export function builtBench(): Built {
  const out = (name: string) => join(BUILD_DIR, `${name}.cjs`);
  const baseline = out('gatehouse-baseline');
  return {
    gatehouse: out('gatehouse'),
    stock: out('stock'),
    socketio: out('socketio'),
    probe: out('probe'),
    loadgen: out('loadgen'),
    ...(existsSync(baseline) ? { baseline } : {}),
  };
}

/**
 * Compiles Gatehouse as it was at a git commit (its server/ and shared/, taken with `git archive`) to
 * gatehouse-baseline.cjs, beside today's build, so one run can interleave a change's before and after. Its npm
 * packages load from today's node_modules.
 */
export async function buildBaseline(ref: string): Promise<string> {
  const src = join(ROOT, '.tmp', 'bench-baseline');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', ref, 'server', 'shared'], { cwd: ROOT, maxBuffer: 256 * 2 ** 20 });
  execFileSync('tar', ['-x', '-C', src], { input: archive });
  const outfile = join(BUILD_DIR, 'gatehouse-baseline.cjs');
  await build({
    entryPoints: [join(src, 'server', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: false,
    logLevel: 'warning',
  });
  return outfile;
}

/** The newest modification time of a file under `dir` (recursively), ms. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Gatehouse as an operator deploys it: `npm run build:server` (tsc, which `npm ci` and `npm test` also run) and then
 * dist/server/main.js under plain node. Built here so the bench never measures a stale dist/; tsc is skipped when its
 * last build (dist/.tsbuildinfo) is newer than every file of server/, shared/ and the tsconfigs, since it would emit
 * nothing then and still take seconds to find that out.
 */
export function buildDeployed(): string {
  const main = join(ROOT, 'dist', 'server', 'main.js');
  const info = join(ROOT, 'dist', '.tsbuildinfo');
  const sources = [
    newestUnder(join(ROOT, 'server')),
    newestUnder(join(ROOT, 'shared')),
    ...['tsconfig.json', 'tsconfig.base.json', 'tsconfig.server.json', 'tsconfig.build.json'].map((f) => statSync(join(ROOT, f)).mtimeMs),
  ];
  if (existsSync(main) && existsSync(info) && statSync(info).mtimeMs > Math.max(...sources)) return main;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  // tsc leaves its build info alone when a touched file compiled to the same output: mark dist/ current by hand.
  const now = new Date();
  if (existsSync(info)) utimesSync(info, now, now);
  return main;
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
  rmSync(join(BUILD_DIR, 'gatehouse-baseline.cjs'), { force: true });
  return builtBench();
}
