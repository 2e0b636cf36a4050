import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..', '..');
const CAST = 'as unknown as';

/** Every .ts file below `dir` (relative to the repository), as paths relative to the repository with `/` separators. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return entry.isFile() && entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `file:line` of each double cast in `files`. */
function casts(files: readonly string[]): string[] {
  return files.flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.includes(CAST) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
}

test(`no "${CAST}" in server/ or shared/ outside server/sc/, where SocketCluster's missing types are met`, () => {
  const files = [...sources('server'), ...sources('shared')].filter((file) => !file.startsWith('server/sc/'));
  assert.ok(files.length > 50, `found only ${files.length} source files: the walk is wrong`);
  const found = casts(files);
  assert.ok(found.length === 0, `narrow with a type guard or zod, or add a typed wrapper in server/sc/, instead of:\n${found.join('\n')}`);
});

test.run();
