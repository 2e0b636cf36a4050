/** Raised for bad command-line arguments: the CLI prints usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: gatehouse <command> [options]

Commands:
  start [--config FILE]            run one gateway node (the default command)
  token --sub ID [--ttl 15m] [--channels JSON] [--claim k=v ...] [--config FILE]
                                   print a token signed with the configured key
  revoke --jti ID | --sid ID | --sub ID [--config FILE]
                                   revoke a token, a session or every current token of a user on every
                                   node (needs GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER)
  keys generate --alg ES256|RS256 [--out DIR] [--kid ID]
                                   write a PEM private key (signing-key.pem) and its JWK Set (jwks.json)
  hash-password                    read one password line on standard input and print its scrypt hash
                                   for GATEHOUSE_USERS_FILE

Settings come from GATEHOUSE_* environment variables (see README.md); --config FILE reads the same
settings from a JSON object, and the environment wins.`;
