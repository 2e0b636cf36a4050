/**
 * The rule for what a publish may carry: JSON, exactly. Subscribers on this node receive the value itself, those on
 * other nodes receive it after a JSON round trip through Redis, and browsers receive it JSON-encoded by SocketCluster's
 * codec. Only a value that JSON carries unchanged reaches all three alike, so anything else is refused, with or
 * without Redis: a program that works on one node must not change behaviour when a second node joins.
 *
 * Accepted: null, booleans, strings, finite numbers, arrays and plain objects of these. Refused: undefined (anywhere,
 * including array holes and object properties), functions, symbols, BigInt, NaN and ±Infinity, cyclic structures,
 * and every object that is not plain: Buffer, typed arrays, ArrayBuffer, Date, Map, Set, class instances, boxed
 * primitives, or anything with a toJSON method. Convert such values first (`buf.toString('base64')`,
 * `date.toISOString()`, `String(big)`).
 *
 * A client's publish always passes: it was parsed from JSON on the wire.
 */

/** A server-side publish whose data cannot travel as JSON. Thrown to the caller of transmitPublish/invokePublish. */
export class PublishPayloadError extends TypeError {
  override readonly name = 'PublishPayloadError';
  constructor(
    readonly where: string,
    readonly found: string,
  ) {
    super(`Publish data ${where} is ${found}, which cannot travel as JSON; convert it first (see server/cluster/payload.ts)`);
  }
}

/** Encodes publish data as JSON, or throws PublishPayloadError naming the first value JSON would alter or drop. */
export function encodePublishData(data: unknown): string {
  try {
    return JSON.stringify(data, strictReplacer);
  } catch (err) {
    if (err instanceof PublishPayloadError) throw err;
    // JSON.stringify's own refusals: a cycle (TypeError) or a stack overflow on absurd nesting (RangeError).
    throw new PublishPayloadError('', err instanceof RangeError ? 'nested too deeply' : 'cyclic');
  }
}

/**
 * Called by JSON.stringify for every value; `this[key]` is the value before any toJSON ran, so a Date or Buffer is
 * seen as what it is rather than as the string or object its toJSON makes of it.
 */
function strictReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  switch (typeof raw) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(raw)) return value;
      throw new PublishPayloadError(where(key), String(raw));
    case 'object': {
      if (raw === null) return value;
      if (Array.isArray(raw)) return value;
      const proto: unknown = Object.getPrototypeOf(raw);
      if ((proto === Object.prototype || proto === null) && typeof (raw as { toJSON?: unknown }).toJSON !== 'function') {
        return value;
      }
      throw new PublishPayloadError(where(key), describe(raw));
    }
    default:
      // undefined, function, symbol, bigint.
      throw new PublishPayloadError(where(key), typeof raw === 'undefined' ? 'undefined' : withArticle(typeof raw));
  }
}

function where(key: string): string {
  return key === '' ? 'itself' : `at key ${JSON.stringify(key.slice(0, 64))}`;
}

function describe(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return withArticle(typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'object with a toJSON method');
}

function withArticle(noun: string): string {
  return `${/^[aeioAEIO]/.test(noun) ? 'an' : 'a'} ${noun}`;
}
