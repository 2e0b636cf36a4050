#!/usr/bin/env node
// Runs every test file under test/ and bench/test/ in its own process (uvu through tsx), with a time budget per file,
// and prints one closing line "N passed, N failed". Usage: node scripts/run-tests.mjs [--jobs=N] [filter-substring ...]
// Files run two at a time (one per core of the machines it is made for; TEST_JOBS or --jobs changes it); a file that
// says `// alone` in its first lines (timing under load: a soak, a fault run, a thousand sockets) runs with no other.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const DEFAULT_BUDGET_MS = 120_000;
// Slow suites declare their own budget in their first lines: `// budget: 240s`.
const args = process.argv.slice(2);
const jobsArg = args.find((a) => a.startsWith('--jobs='));
const JOBS = Math.max(1, Number(jobsArg?.slice('--jobs='.length) ?? process.env.TEST_JOBS ?? 2) || 1);
const filters = args.filter((a) => !a.startsWith('--'));

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** What a file's first lines say of how it runs: its time budget, and whether it must run with no other file. */
function headerOf(file) {
  const head = readFileSync(file, 'utf8').slice(0, 400);
  const m = /\/\/\s*budget:\s*(\d+)s/.exec(head);
  return { budgetMs: m ? Number(m[1]) * 1000 : DEFAULT_BUDGET_MS, alone: /^\/\/\s*alone\b/m.test(head) };
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
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
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

function report(result) {
  const name = relative(ROOT, result.file);
  passed += result.passed;
  // A file that crashed or timed out counts its unfinished tests (at least one) as failed.
  failed += result.ok ? 0 : Math.max(1, result.total - result.passed);
  process.stdout.write(`${result.ok ? 'ok  ' : 'FAIL'} ${name} (${result.passed}/${result.total}, ${(result.ms / 1000).toFixed(1)}s)\n`);
  if (!result.ok || process.env.TEST_VERBOSE) process.stdout.write(result.output.replace(/^/gm, '    ') + '\n');
}

// A pool of JOBS runners; an `alone` file waits until the pool is empty and holds it whole while it runs.
const queue = files.map((file) => ({ file, ...headerOf(file) }));
const running = new Set();
let aloneRunning = false;
await new Promise((resolve) => {
  const next = () => {
    if (queue.length === 0 && running.size === 0) return resolve();
    while (queue.length > 0 && !aloneRunning && running.size < JOBS) {
      if (queue[0].alone && running.size > 0) break;
      const job = queue.shift();
      aloneRunning = job.alone;
      const run = runFile(job.file, job.budgetMs).then((result) => {
        running.delete(run);
        if (job.alone) aloneRunning = false;
        report(result);
        next();
      });
      running.add(run);
    }
  };
  next();
});
process.stdout.write(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && files.length > 0 ? 0 : 1);
