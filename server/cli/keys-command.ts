import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { joinDashValues } from './dash-values';
import { jwkThumbprint, toJwks } from '../auth/jwks';
import { addKeys, readKeySource, removeKey } from './jwks-edit';
import { gitExposure } from './git-exposure';
import { UsageError } from './usage';

/** What a keys command did (stdout) and what the operator should know (stderr). */
export interface KeysOutcome {
  readonly report: string;
  readonly warnings: string[];
}

/** `gatehouse keys generate | add | remove`. */
export function keysCommand(args: string[]): KeysOutcome {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'generate':
      return generate(rest);
    case 'add':
      return add(rest);
    case 'remove':
      return remove(rest);
    default:
      throw new UsageError(
        verb === undefined ? 'keys needs a verb: generate, add or remove' : `unknown verb ${JSON.stringify(verb)}; use generate, add or remove`,
      );
  }
}

/** Writes a PEM private key and the JWK Set of its public half. */
function generate(args: string[]): KeysOutcome {
  const options = { alg: { type: 'string' }, out: { type: 'string' }, kid: { type: 'string' } } as const;
  const { values } = parseArgs({ args: joinDashValues(args, options), options, strict: true });
  if (values.alg !== 'ES256' && values.alg !== 'RS256') throw new UsageError('generate needs --alg ES256 or --alg RS256');
  const dir = values.out ?? '.';
  const keyPath = join(dir, 'signing-key.pem');
  const jwksPath = join(dir, 'jwks.json');
  for (const path of [keyPath, jwksPath]) {
    if (existsSync(path)) throw new UsageError(`${path} exists; refusing to overwrite a key`);
  }
  const { privateKey, publicKey } =
    values.alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('rsa', { modulusLength: 3072 });
  const kid = values.kid ?? jwkThumbprint(publicKey);
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(jwksPath, `${JSON.stringify(toJwks([{ kid, alg: values.alg, key: publicKey }]), null, 2)}\n`);
  const exposure = gitExposure(keyPath);
  const kidSetting = values.kid === undefined ? '' : ` GATEHOUSE_SIGNING_KEY_ID=${kid}`;
  return {
    warnings: exposure
      ? [
          `${keyPath} is inside the git work tree ${exposure} and git does not ignore it: `
            + 'a commit could publish the private key. Add it to .gitignore, or keep keys outside the repository.',
        ]
      : [],
    report: [
      `wrote ${keyPath} (private, mode 600) and ${jwksPath} (public); kid ${kid}, ${values.alg}`,
      `- the gateway verifies tokens with GATEHOUSE_JWKS_FILE=${jwksPath}`,
      `- your backend signs tokens with ${keyPath}: algorithm ${values.alg}, keyid "${kid}"`,
      `- for the gateway to sign too (login, renewal): GATEHOUSE_SIGNING_KEY_FILE=${keyPath}${kidSetting}`,
      `- to rotate later: keys generate --out NEW_DIR, then keys add --jwks ${jwksPath} NEW_DIR/jwks.json and SIGHUP`,
    ].join('\n'),
  };
}

function add(args: string[]): KeysOutcome {
  const options = { jwks: { type: 'string' }, kid: { type: 'string' } } as const;
  const { values, positionals } = parseArgs({ args: joinDashValues(args, options), options, allowPositionals: true, strict: true });
  if (!values.jwks) throw new UsageError('add needs --jwks FILE, the JWK Set to add to');
  if (positionals.length === 0) throw new UsageError('add needs at least one SOURCE: a JWK Set or a PEM key file');
  if (values.kid !== undefined && positionals.length !== 1) throw new UsageError('--kid names the key of one PEM SOURCE; give one SOURCE with it');
  const keys = positionals.flatMap((source) => readKeySource(source, values.kid));
  const { kids, total } = addKeys(values.jwks, keys);
  return {
    warnings: [],
    report: `added kid ${kids.join(', ')} to ${values.jwks} (${total} keys); send SIGHUP to every node to load it`,
  };
}

function remove(args: string[]): KeysOutcome {
  const options = { jwks: { type: 'string' }, kid: { type: 'string' } } as const;
  const { values } = parseArgs({ args: joinDashValues(args, options), options, strict: true });
  if (!values.jwks) throw new UsageError('remove needs --jwks FILE, the JWK Set to remove from');
  if (!values.kid) throw new UsageError('remove needs --kid ID, the key to remove');
  const { total } = removeKey(values.jwks, values.kid);
  return {
    warnings: [],
    report: `removed kid ${values.kid} from ${values.jwks} (${total} left); send SIGHUP to every node: its tokens are refused from then on`,
  };
}
