import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseBytes, parseDuration, parseInteger, parseList } from '../../server/config/units';

const durations: [string, number][] = [
  ['0', 0],
  ['30', 30_000],
  ['500ms', 500],
  ['30s', 30_000],
  ['15m', 900_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
  [' 5s ', 5000],
  ['5 s', 5000],
];
for (const [text, ms] of durations) {
  test(`duration ${JSON.stringify(text)} is ${ms} ms`, () => {
    assert.is(parseDuration(text), ms);
  });
}

for (const text of ['', 's', '-1s', '1.5s', '1w', '10 minutes', '1e3', '0x10', '1h30m', 'Infinity', '999999999999d']) {
  test(`duration ${JSON.stringify(text)} is refused`, () => {
    assert.is(parseDuration(text), undefined);
  });
}

const sizes: [string, number][] = [
  ['65536', 65_536],
  ['64KiB', 65_536],
  ['64kib', 65_536],
  ['64k', 65_536],
  ['64kb', 64_000],
  ['1MiB', 1_048_576],
  ['1m', 1_048_576],
  ['2MB', 2_000_000],
  ['100b', 100],
  [' 1 KiB ', 1024],
];
for (const [text, bytes] of sizes) {
  test(`size ${JSON.stringify(text)} is ${bytes} bytes`, () => {
    assert.is(parseBytes(text), bytes);
  });
}

for (const text of ['', 'KiB', '-1', '1.5MiB', '1GiB', '1 TB', '64 kilobytes', '999999999999MiB']) {
  test(`size ${JSON.stringify(text)} is refused`, () => {
    assert.is(parseBytes(text), undefined);
  });
}

test('integers within bounds only', () => {
  assert.is(parseInteger('8000', 0, 65535), 8000);
  assert.is(parseInteger('0', 0, 65535), 0);
  assert.is(parseInteger('65535', 0, 65535), 65535);
  assert.is(parseInteger('65536', 0, 65535), undefined);
  assert.is(parseInteger('-1', 0, 65535), undefined);
  assert.is(parseInteger('80.5', 0, 65535), undefined);
  assert.is(parseInteger('80a', 0, 65535), undefined);
  assert.is(parseInteger('', 0, 65535), undefined);
});

test('lists split on commas and drop empty entries', () => {
  assert.equal(parseList('a, b,,c ,'), ['a', 'b', 'c']);
  assert.equal(parseList(' , '), []);
});

test.run();
