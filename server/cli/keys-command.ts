import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jwkThumbprint, toJwks } from '../auth/jwks';
import { UsageError } from './usage';

/** `gatehouse keys generate`: writes a PEM private key and the JWK Set of its public half. */
export function keysCommand(args: string[]): string {
  const [verb, ...rest] = args;
  if (verb !== 'generate') throw new UsageError('keys needs the verb "generate"');
  const { values } = parseArgs({
    args: rest,
    options: { alg: { type: 'string' }, out: { type: 'string' }, kid: { type: 'string' } },
    strict: true,
  });
  if (values.alg !== 'ES256' && values.alg !== 'RS256') throw new UsageError('keys generate needs --alg ES256 or --alg RS256');
  const dir = values.out ?? '.';
  const keyPath = join(dir, 'signing-key.pem');
  const jwksPath = join(dir, 'jwks.json');
  for (const path of [keyPath, jwksPath]) {
    if (existsSync(path)) throw new UsageError(`${path} exists; refusing to overwrite a key`);
  }
  const { privateKey, publicKey } = values.alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    : generateKeyPairSync('rsa', { modulusLength: 3072 });
  const kid = values.kid ?? jwkThumbprint(publicKey);
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(jwksPath, `${JSON.stringify(toJwks([{ kid, alg: values.alg, key: publicKey }]), null, 2)}\n`);
  return `wrote ${keyPath} (private, mode 600) and ${jwksPath}; kid ${kid}\n`
    + `set GATEHOUSE_SIGNING_KEY_FILE=${keyPath} GATEHOUSE_SIGNING_KEY_ID=${kid}, and give ${jwksPath} to the services that verify`;
}
