#!/usr/bin/env node
// Runs every test file under test/ and bench/test/ in its own process (uvu through tsx), with a time budget per file,
// and prints one closing line "N passed, N failed". Usage: node scripts/run-tests.mjs [filter-substring ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const DEFAULT_BUDGET_MS = 120_000;
// Slow suites declare their own budget in their first lines: `// budget: 240s`.
const filters = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

async function budgetOf(file) {
  const { readFileSync } = await import('node:fs');
  const m = /\/\/\s*budget:\s*(\d+)s/.exec(readFileSync(file, 'utf8').slice(0, 400));
  return m ? Number(m[1]) * 1000 : DEFAULT_BUDGET_MS;
}

function runFile(file, budgetMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--unhandled-rejections=strict', file], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => {
      output += `\n[run-tests] time budget of ${budgetMs / 1000}s exceeded; killed\n`;
      child.kill('SIGKILL');
    }, budgetMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const ok = code === 0 && signal === null && total > 0 && passed === total;
      resolve({ file, ok, total, passed, output, ms: Date.now() - started });
    });
  });
}

// The bench package's own tests run with the gateway's: its smoke test keeps `npm run bench` working.
const TEST_DIRS = [join(ROOT, 'test'), join(ROOT, 'bench', 'test')];
const files = TEST_DIRS.flatMap((dir) => findTests(dir)).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
let passed = 0;
let failed = 0;
const started = Date.now();
for (const file of files) {
  const result = await runFile(file, await budgetOf(file));
  const name = relative(ROOT, file);
  passed += result.passed;
  // A file that crashed or timed out counts its unfinished tests (at least one) as failed.
  failed += result.ok ? 0 : Math.max(1, result.total - result.passed);
  process.stdout.write(`${result.ok ? 'ok  ' : 'FAIL'} ${name} (${result.passed}/${result.total}, ${(result.ms / 1000).toFixed(1)}s)\n`);
  if (!result.ok || process.env.TEST_VERBOSE) process.stdout.write(result.output.replace(/^/gm, '    ') + '\n');
}
process.stdout.write(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && files.length > 0 ? 0 : 1);
