#!/usr/bin/env node
// Builds the client's type declarations (dist/types/client/*.d.ts and the shared/ ones they use), which the package
// exports as the types of "gatehouse/client". The client itself is an ES module (dist/client.node.mjs, dist/client.js),
// so its declarations are marked as ES modules too (dist/types/package.json) and their relative imports carry the
// `.js` that ESM resolution (TypeScript's node16 and nodenext) needs; bundler and node10 resolution accept that as well.
// Usage: node scripts/build-client-types.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'types');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// From scratch: a declaration left by a deleted source file must not ship.
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.client-types.json')], { cwd: root, stdio: 'inherit' });

/** Every .d.ts under dir. */
function declarations(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return declarations(path);
    return name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `./storage` → `./storage.js`, `../shared` → `../shared/index.js`; anything else as it is. */
function withExtension(file, specifier) {
  if (!specifier.startsWith('.')) return specifier;
  const target = resolve(dirname(file), specifier);
  if (existsSync(`${target}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(target, 'index.d.ts'))) return `${specifier}/index.js`;
  throw new Error(`${file}: cannot resolve ${specifier}`);
}

for (const file of declarations(out)) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(/(\bfrom\s+|\bimport\s*\(\s*)(['"])([^'"]+)\2/g, (_, lead, quote, spec) => `${lead}${quote}${withExtension(file, spec)}${quote}`);
  if (fixed !== text) writeFileSync(file, fixed);
}
writeFileSync(join(out, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
rmSync(join(out, '.tsbuildinfo'), { force: true });
process.stdout.write('built dist/types (the declarations of gatehouse/client)\n');
