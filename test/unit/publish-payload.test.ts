import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodePublishData, PublishPayloadError } from '../../server/cluster';

const accepted: [string, unknown][] = [
  ['null', null],
  ['a string', 'hé 💬'],
  ['a number', 42.5],
  ['negative and zero', [-1, 0]],
  ['booleans', [true, false]],
  ['an empty object', {}],
  ['nested plain data', { a: [1, { b: 'c', d: null }], e: { f: { g: [] } } }],
  ['an object without a prototype', Object.assign(Object.create(null), { x: 1 })],
  ['what a client sends (parsed JSON)', JSON.parse('{"__proto__":{"x":1},"n":1e308}')],
];

for (const [what, value] of accepted) {
  test(`accepts ${what}, unchanged by a JSON round trip`, () => {
    const json = encodePublishData(value);
    assert.equal(JSON.parse(json), JSON.parse(JSON.stringify(value)));
  });
}

class Point {
  constructor(readonly x: number) {}
}
const cyclic: Record<string, unknown> = { name: 'loop' };
cyclic.self = cyclic;
const deep: unknown[] = [];
let cursor = deep;
for (let i = 0; i < 100_000; i++) {
  const next: unknown[] = [];
  cursor.push(next);
  cursor = next;
}

const refused: [string, unknown, RegExp][] = [
  ['undefined', undefined, /itself is undefined/],
  ['an undefined property', { a: 1, b: undefined }, /key "b" is undefined/],
  ['an array hole', [1, , 3], /key "1" is undefined/], // eslint-disable-line no-sparse-arrays
  ['undefined in an array', [undefined], /undefined/],
  ['a function', { f() {} }, /a function/],
  ['a symbol', { s: Symbol('x') }, /a symbol/],
  ['a BigInt', { n: 1n }, /a bigint/],
  ['NaN', { n: NaN }, /NaN/],
  ['Infinity', [Infinity], /Infinity/],
  ['-Infinity', -Infinity, /-Infinity/],
  ['a Buffer', { b: Buffer.from('hi') }, /a Buffer/],
  ['a Uint8Array', new Uint8Array([1]), /a Uint8Array/],
  ['an ArrayBuffer', new ArrayBuffer(2), /an ArrayBuffer/],
  ['a Date', { at: new Date(0) }, /a Date/],
  ['a Map', new Map(), /a Map/],
  ['a Set', { s: new Set([1]) }, /a Set/],
  ['a class instance', new Point(1), /a Point/],
  ['a boxed string', { s: new String('x') }, /a String/],
  ['a plain object with toJSON', { toJSON: () => 'x' }, /an object with a toJSON method/],
  ['a cyclic object', cyclic, /cyclic/],
  ['absurd nesting', deep, /nested too deeply/],
];

for (const [what, value, message] of refused) {
  test(`refuses ${what} with PublishPayloadError`, () => {
    try {
      encodePublishData(value);
    } catch (err) {
      assert.instance(err, PublishPayloadError);
      assert.is((err as Error).name, 'PublishPayloadError');
      assert.match((err as Error).message, message);
      return;
    }
    assert.unreachable('should have thrown');
  });
}

test.run();
