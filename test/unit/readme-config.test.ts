import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const table = /<!-- config-table -->([\s\S]*?)<!-- \/config-table -->/.exec(readme)?.[1] ?? '';

test('every setting the configuration reads is in the README table, and nothing else is', () => {
  // Config reads the core settings; each feature reads its own in a settings.ts beside it.
  const features = readdirSync(join(root, 'server'))
    .map((dir) => join(root, 'server', dir, 'settings.ts'))
    .filter(existsSync);
  const source = [join(root, 'server', 'config', 'index.ts'), ...features].map((f) => readFileSync(f, 'utf8')).join('\n');
  const read = new Set([...source.matchAll(/'(GATEHOUSE_[A-Z_]+)'/g)].map((m) => m[1]));
  // Secrets are read as NAME and NAME_FILE.
  for (const name of [...source.matchAll(/r\.secret\('(GATEHOUSE_[A-Z_]+)'\)/g)].map((m) => m[1])) read.add(`${name}_FILE`);
  const documented = new Set([...table.matchAll(/`(GATEHOUSE_[A-Z_]+)`/g)].map((m) => m[1]));
  assert.equal([...read].filter((n) => !documented.has(n)).sort(), [], 'read but not documented');
  assert.equal([...documented].filter((n) => !read.has(n)).sort(), [], 'documented but not read');
});

test.run();
