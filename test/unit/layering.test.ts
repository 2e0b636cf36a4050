// budget: 60s
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..', '..');
/** The module rules, and the folder rule (a run of its own: it leaves out the folders that are circles by design). */
const CONFIGS = ['.dependency-cruiser.cjs', '.dependency-cruiser.folders.cjs'].map((name) => join(ROOT, name));
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'layering');

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
  /** For a cycle: the modules around it, after `from`. */
  readonly cycle?: readonly ({ readonly name: string } | string)[];
}

/** Runs the layering rules of `config` over server/, shared/ and client/ below `cwd`; the violations found. */
async function violations(cwd: string, config: string): Promise<Violation[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--config', config, '--output-type', 'json', 'server', 'shared', 'client'], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' })); // exits non-zero when it finds violations
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const describe = (v: Violation) => `${v.rule.name}: ${[v.from, ...(v.cycle?.map((c) => (typeof c === 'string' ? c : c.name)) ?? [v.to])].join(' → ')}`;

test('the code keeps every layering rule in .dependency-cruiser.cjs and .dependency-cruiser.folders.cjs', async () => {
  const found = (await Promise.all(CONFIGS.map((config) => violations(ROOT, config)))).flat();
  assert.ok(found.length === 0, `layering rules broken:\n${found.map(describe).join('\n')}`);
});

test('every rule fires on the fixture tree that breaks it', async () => {
  for (const config of CONFIGS) {
    const rules = ((await import(config)) as { default: { forbidden: { name: string }[] } }).default.forbidden.map((r) => r.name);
    const fired = new Set((await violations(FIXTURE, config)).map((v) => v.rule.name));
    for (const rule of rules) assert.ok(fired.has(rule), `rule ${rule} did not fire on test/fixtures/layering`);
  }
});

test.run();
