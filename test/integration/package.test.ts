// budget: 150s
// What `npm pack` would publish: the gateway's build, the client with its declarations, and nothing of the tests; and
// whether an app that installs the package type-checks against gatehouse/client under every module resolution.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildClient } from '../helpers/browser';
import { cleanEnv } from '../helpers/process';

const ROOT = join(__dirname, '..', '..');
const TSC = require.resolve('typescript/bin/tsc');
// Inside the checkout (git ignores .tmp/), so the consumer finds @types/node the way an app's own node_modules would.
const consumer = join(ROOT, '.tmp', `package-${process.pid}`);
const run = promisify(execFile);

interface PackageJson {
  private?: boolean;
  files?: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  exports: Record<string, Record<string, string> | string>;
  bin: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

let packed: string[] = [];

test.before(async () => {
  // The bundles as npm ci builds them, and the declarations from the current source.
  buildClient();
  await run(process.execPath, [join(ROOT, 'scripts', 'build-client-types.mjs')], { cwd: ROOT, timeout: 60_000 });
  // --ignore-scripts: npm pack would run `prepare` (the whole build) under the other tests' feet.
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: cleanEnv(), timeout: 60_000 });
  packed = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
});
test.after(() => rmSync(consumer, { recursive: true, force: true }));

test('the package is publishable: not private, and it lists what it ships', () => {
  assert.is(pkg.private, undefined);
  assert.ok(pkg.files && pkg.files.length > 0);
});

test('npm pack lists the client, its declarations, the server build, the CLI and the demo', () => {
  const client = pkg.exports['./client'] as Record<string, string>;
  for (const target of [client.types, client.node, client.default, ...Object.values(pkg.bin)]) {
    assert.ok(packed.includes(target.replace(/^\.\//, '')), `${target} is packed`);
  }
  for (const file of [
    'dist/types/client/index.d.ts',
    'dist/types/client/client.d.ts',
    'dist/types/shared/errors.d.ts',
    'dist/types/package.json',
    'dist/server/main.js',
    'demo/index.html',
    'README.md',
    'package.json',
  ]) {
    assert.ok(packed.includes(file), `${file} is packed`);
  }
});

test('npm pack lists no tests, no TypeScript sources, no build state, no scripts or benchmarks', () => {
  const stray = packed.filter((p) => /(^|\/)test\/|\.test\.|(?<!\.d)\.ts$|\.tsbuildinfo$|^scripts\/|^\.ci\/|^bench|^client\/|^server\/|^shared\//.test(p));
  assert.equal(stray, []);
});

test('the server build requires only dependencies and Node built-ins (tsx and the other dev tools are not needed to run)', () => {
  assert.not.ok('tsx' in pkg.dependencies, 'tsx is a devDependency');
  const needed = new Set<string>();
  const scan = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) scan(path);
      else if (name.endsWith('.js')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/\brequire\("([^".][^"]*)"\)/g)) needed.add(m[1]);
      }
    }
  };
  scan(join(ROOT, 'dist', 'server'));
  scan(join(ROOT, 'dist', 'shared'));
  for (const m of readFileSync(join(ROOT, 'dist', 'client.node.mjs'), 'utf8').matchAll(/\bfrom\s+"([^".][^"]*)"/g)) needed.add(m[1]);
  const outside = [...needed].filter((spec) => {
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    return !spec.startsWith('node:') && !builtinModules.includes(name) && !(name in pkg.dependencies);
  });
  assert.equal(outside, [], 'every module the build requires is a runtime dependency');
  assert.ok(needed.has('socketcluster-server'), 'the scan sees the requires');
});

test('an app that installed the package type-checks against gatehouse/client (nodenext, bundler and node10 resolution)', async () => {
  const installed = join(consumer, 'node_modules', 'gatehouse');
  for (const file of packed) {
    mkdirSync(join(installed, file, '..'), { recursive: true });
    cpSync(join(ROOT, file), join(installed, file));
  }
  const app = [
    "import { createClient, CloseCode, PublishForbiddenError, type ClientOptions } from 'gatehouse/client';",
    "const options: ClientOptions = { url: 'https://gateway.example.com', getToken: async () => 'token' };",
    'const client = createClient(options);',
    "client.on('deauthenticated', ({ reason }) => { const r: string = reason; void r; });",
    'const code: number = CloseCode.TokenRevoked;',
    "const named: string = new PublishForbiddenError('no grant').name;",
    // Declarations that were `any` would accept this line, and the directive would then fail the check.
    '// @ts-expect-error: url is a string',
    'createClient({ url: 42 });',
    'void code; void named;',
    'export {};',
  ].join('\n');
  writeFileSync(join(consumer, 'app.mts'), app);
  writeFileSync(join(consumer, 'app-node10.ts'), app);
  const check = (args: string[]) =>
    run(process.execPath, [TSC, '--noEmit', '--strict', '--skipLibCheck', 'false', '--types', 'node', ...args], {
      cwd: consumer,
      timeout: 90_000,
    }).then(
      () => '',
      (err: { stdout?: string; message: string }) => `${args.join(' ')}:\n${err.stdout || err.message}`,
    );
  const problems = await Promise.all([
    check(['--module', 'nodenext', '--moduleResolution', 'nodenext', 'app.mts']),
    check(['--module', 'esnext', '--moduleResolution', 'bundler', 'app.mts']),
    check(['--module', 'commonjs', '--moduleResolution', 'node10', '--esModuleInterop', 'app-node10.ts']),
  ]);
  assert.equal(problems.filter(Boolean), []);
});

test.run();
