// budget: 60s
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'layering');

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
  /** For a cycle: the modules around it, after `from`. */
  readonly cycle?: readonly ({ readonly name: string } | string)[];
}

/** Runs the layering rules over server/, shared/ and client/ below `cwd`; the violations found. */
async function violations(cwd: string): Promise<Violation[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--config', CONFIG, '--output-type', 'json', 'server', 'shared', 'client'], {
    cwd, maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' })); // exits non-zero when it finds violations
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const describe = (v: Violation) =>
  `${v.rule.name}: ${[v.from, ...(v.cycle?.map((c) => (typeof c === 'string' ? c : c.name)) ?? [v.to])].join(' → ')}`;

test('the code keeps every layering rule in .dependency-cruiser.cjs', async () => {
  const found = await violations(ROOT);
  assert.ok(found.length === 0, `layering rules broken:\n${found.map(describe).join('\n')}`);
});

test('every rule fires on the fixture tree that breaks it', async () => {
  const rules = (require(CONFIG) as { forbidden: { name: string }[] }).forbidden.map((r) => r.name);
  const fired = new Set((await violations(FIXTURE)).map((v) => v.rule.name));
  for (const rule of rules) assert.ok(fired.has(rule), `rule ${rule} did not fire on test/fixtures/layering`);
});

test.run();
