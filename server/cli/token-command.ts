import { parseArgs } from 'node:util';
import { KeyRing } from '../auth/keyring';
import { signClaims, stampClaims } from '../auth/sign';
import { loadConfig } from '../config';
import { parseDuration } from '../settings-kit/units';
import { UsageError } from './usage';

/** `gatehouse token`: prints a token signed with the configured key. */
export function tokenCommand(args: string[], env: NodeJS.ProcessEnv): string {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      ttl: { type: 'string' },
      channels: { type: 'string' },
      claim: { type: 'string', multiple: true },
      config: { type: 'string' },
    },
    strict: true,
  });
  if (!values.sub) throw new UsageError('token needs --sub ID');
  const ttlMs = values.ttl === undefined ? undefined : parseDuration(values.ttl);
  if (ttlMs === undefined && values.ttl !== undefined) throw new UsageError(`--ttl ${values.ttl} is not a duration such as 15m`);

  const payload: Record<string, unknown> = {};
  for (const pair of values.claim ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--claim ${pair} must look like name=value`);
    payload[pair.slice(0, eq)] = parseClaimValue(pair.slice(eq + 1));
  }
  if (values.channels !== undefined) {
    try {
      payload.channels = JSON.parse(values.channels);
    } catch {
      throw new UsageError('--channels must be JSON, e.g. \'["chat:*"]\' or \'{"news":["subscribe"]}\'');
    }
  }
  payload.sub = values.sub;

  const config = loadConfig({ env, configFile: values.config });
  if (config.devMode) {
    throw new UsageError('no key is configured (GATEHOUSE_AUTH_KEY or GATEHOUSE_SIGNING_KEY_FILE); a development-mode gateway prints its own sample token');
  }
  // A token the gateway would refuse is no use: its lifetime must fit the cap the gateway enforces.
  if (ttlMs !== undefined && (ttlMs < 1000 || ttlMs > config.maxTokenLifetimeMs)) {
    throw new UsageError(`--ttl ${values.ttl} must be from 1s up to GATEHOUSE_MAX_TOKEN_LIFETIME (${config.maxTokenLifetimeMs / 1000}s)`);
  }
  const keys = new KeyRing({ secret: config.authKey, jwks: config.jwks, signingKey: config.signingKey });
  if (!keys.signer) throw new UsageError('no signing key: set GATEHOUSE_AUTH_KEY or GATEHOUSE_SIGNING_KEY_FILE');
  const claims = stampClaims(payload, { ...config, tokenTtlMs: ttlMs ?? config.tokenTtlMs }, Date.now());
  return signClaims(claims, keys.signer);
}

/** JSON when the value parses as JSON (numbers, booleans, arrays), the plain string otherwise. */
function parseClaimValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
