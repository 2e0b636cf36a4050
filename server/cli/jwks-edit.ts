import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { algorithmForKey, jwkThumbprint, parseJwks, toJwks, type PublicKeyEntry } from '../auth/jwks';
import { UsageError } from './usage';

/**
 * readKeySource reads the public keys a `keys add` SOURCE holds: every key of a JWK Set, or the public half of a PEM
 * key (public or private), named `kid` or else by its RFC 7638 thumbprint (what `keys generate` chooses too).
 */
export function readKeySource(path: string, kid?: string): PublicKeyEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (text.trimStart().startsWith('{')) {
    if (kid !== undefined) throw new UsageError(`--kid is for a PEM SOURCE; ${path} is a JWK Set, whose keys keep their kids`);
    return parseSet(path, text);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(createPrivateKey(text));
  } catch {
    try {
      key = createPublicKey(text);
    } catch {
      throw new UsageError(`${path} is neither a JWK Set nor a PEM key`);
    }
  }
  const fit = algorithmForKey(key);
  if ('problem' in fit) throw new UsageError(`${path}: ${fit.problem}`);
  return [{ kid: kid ?? jwkThumbprint(key), alg: fit.alg, key }];
}

/** Adds keys to the JWK Set `file` (created when missing); a key already there under its kid is left as it is. */
export function addKeys(file: string, keys: readonly PublicKeyEntry[]): { kids: string[]; total: number } {
  const set = existsSync(file) ? readSet(file) : [];
  const added: string[] = [];
  for (const entry of keys) {
    const present = set.find((k) => k.kid === entry.kid);
    if (present && !present.key.equals(entry.key)) {
      throw new UsageError(`kid ${JSON.stringify(entry.kid)} already names another key in ${file}; choose another kid`);
    }
    if (present) continue;
    set.push(entry);
    added.push(entry.kid);
  }
  if (added.length === 0) throw new UsageError(`${file} already holds ${keys.map((k) => k.kid).join(', ')}; nothing to add`);
  writeSet(file, set);
  return { kids: added, total: set.length };
}

/** Removes the key `kid` from the JWK Set `file`, never its last key (a set with no keys verifies no token). */
export function removeKey(file: string, kid: string): { total: number } {
  const set = readSet(file);
  const rest = set.filter((k) => k.kid !== kid);
  if (rest.length === set.length) {
    throw new UsageError(`${file} has no kid ${JSON.stringify(kid)} (it has ${set.map((k) => k.kid).join(', ')})`);
  }
  if (rest.length === 0) throw new UsageError(`kid ${JSON.stringify(kid)} is the last key in ${file}; add its successor first`);
  writeSet(file, rest);
  return { total: rest.length };
}

function readSet(file: string): PublicKeyEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseSet(file, text);
}

function parseSet(file: string, text: string): PublicKeyEntry[] {
  try {
    return parseJwks(text);
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

/** Writes the set next to `file` and renames it over: a node re-reading on SIGHUP never sees half a file. */
function writeSet(file: string, set: readonly PublicKeyEntry[]): void {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(toJwks(set), null, 2)}\n`);
  renameSync(temporary, file);
}
