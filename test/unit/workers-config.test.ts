import { availableParallelism } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_WORKERS } from '../../server/workers/settings';
import { configProblems, testConfig } from '../helpers/gateway';

const REDIS = { GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:1' };

test('GATEHOUSE_WORKERS defaults to 1: one process, no Redis needed', () => {
  assert.is(testConfig().workers, 1);
  assert.is(testConfig({ GATEHOUSE_WORKERS: '1' }).workers, 1);
});

test('GATEHOUSE_WORKERS takes a number, or auto for one per core', () => {
  assert.is(testConfig({ ...REDIS, GATEHOUSE_WORKERS: '3' }).workers, 3);
  assert.is(testConfig({ ...REDIS, GATEHOUSE_WORKERS: 'auto' }).workers, Math.min(availableParallelism(), MAX_WORKERS));
  assert.is(testConfig({ GATEHOUSE_REDIS_CLUSTER: '127.0.0.1:7000', GATEHOUSE_WORKERS: '2' }).workers, 2);
});

test('GATEHOUSE_WORKERS above 1 without Redis is a start-up error naming both Redis settings', () => {
  const problems = configProblems({ GATEHOUSE_WORKERS: '2' });
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /^GATEHOUSE_WORKERS: 2 needs Redis/);
  assert.match(problems[0], /GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER/);
});

test('bad GATEHOUSE_WORKERS values are refused, each named: 0, -1, many, 1.5, too many', () => {
  for (const value of ['0', '-1', 'many', '1.5', ' 2', String(MAX_WORKERS + 1), 'AUTO']) {
    const problems = configProblems({ ...REDIS, GATEHOUSE_WORKERS: value });
    assert.equal(problems.length, 1, `${value}: ${problems.join('\n')}`);
    assert.match(problems[0], `GATEHOUSE_WORKERS: ${JSON.stringify(value)} is not a whole number from 1 to ${MAX_WORKERS}, or auto`);
  }
});

test('several workers need a configured key: in development mode each would make its own', () => {
  const problems = configProblems({ ...REDIS, GATEHOUSE_AUTH_KEY: undefined, GATEHOUSE_WORKERS: '2' });
  assert.ok(
    problems.some((p) => p.startsWith('GATEHOUSE_WORKERS: 2 needs a configured key')),
    problems.join('\n'),
  );
});

test('a node id too long to take the worker suffix is refused', () => {
  assert.is(configProblems({ ...REDIS, GATEHOUSE_WORKERS: '2', GATEHOUSE_NODE_ID: 'n'.repeat(62) }).length, 0);
  const problems = configProblems({ ...REDIS, GATEHOUSE_WORKERS: '10', GATEHOUSE_NODE_ID: 'n'.repeat(62) });
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /^GATEHOUSE_NODE_ID: is 62 characters; with GATEHOUSE_WORKERS=10/);
});

test.run();
