/** Raised for bad command-line arguments: the CLI prints the message and that command's usage, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Raised when a node cannot start for a reason the operator fixes (a port in use): one line, exit 2, no usage. */
export class StartError extends Error {
  override readonly name = 'StartError';
}

/** One command's usage: its synopsis lines and what it does. */
interface CommandHelp {
  readonly synopsis: readonly string[];
  readonly summary: string;
  readonly details?: string;
}

const CONFIG_NOTE = '--config FILE reads GATEHOUSE_* settings from a JSON object; the environment wins.';

/** Every command's usage, in the order `gatehouse --help` lists them. */
export const COMMANDS = {
  start: {
    synopsis: ['start [--config FILE] [--check]'],
    summary: 'run one gateway node (the default command; what `npm start` does)',
    details: [
      '--check   validates the configuration as a start would (every problem listed) and exits 0 when it is valid,',
      '          2 when not, without listening or connecting to Redis.',
      'Stops gracefully on SIGTERM or SIGINT; SIGHUP re-reads the JWK Set and the users file. Signal the PID the',
      'start-up summary prints: under `npm start` npm passes SIGTERM and SIGINT on, but dies of SIGHUP.',
      CONFIG_NOTE,
    ].join('\n'),
  },
  token: {
    synopsis: ['token --sub ID [--ttl 15m] [--channels JSON] [--claim k=v ...] [--config FILE]'],
    summary: 'print a token signed with the configured key',
    details:
      '--channels takes JSON (\'["chat:*"]\'); --claim values that parse as JSON are taken as JSON.\n'
      + `Signs with GATEHOUSE_SIGNING_KEY_FILE, else GATEHOUSE_AUTH_KEY. ${CONFIG_NOTE}`,
  },
  revoke: {
    synopsis: ['revoke --jti ID | --sid ID | --sub ID [--config FILE]'],
    summary: 'revoke a token, a session or every current token of a user, on every node',
    details: `Needs GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER, as the nodes have. ${CONFIG_NOTE}`,
  },
  keys: {
    synopsis: ['keys generate --alg ES256|RS256 [--out DIR] [--kid ID]', 'keys add --jwks FILE [--kid ID] SOURCE ...', 'keys remove --jwks FILE --kid ID'],
    summary: 'make a signing key, and add or remove public keys of a JWK Set in place (rotation)',
    details: [
      'generate  writes DIR/signing-key.pem (private, mode 600) and DIR/jwks.json (its public half); never overwrites.',
      "add       adds the public keys of each SOURCE (a JWK Set, or a PEM public or private key; --kid names a PEM's",
      '          key, default its RFC 7638 thumbprint) to FILE, which it creates if missing.',
      'remove    takes the key with that kid out of FILE (never the last one).',
      'add and remove replace FILE in one step; send the nodes SIGHUP afterwards.',
    ].join('\n'),
  },
  'hash-password': {
    synopsis: ['hash-password'],
    summary: 'read one password line on standard input and print its scrypt hash for GATEHOUSE_USERS_FILE',
  },
} satisfies Record<string, CommandHelp>;

export type CommandName = keyof typeof COMMANDS;

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(COMMANDS, name);
}

/** One command's usage, for `gatehouse COMMAND --help` and after a mistake in its arguments. */
export function commandUsage(name: CommandName): string {
  const help: CommandHelp = COMMANDS[name];
  const lines = help.synopsis.map((s, i) => `${i === 0 ? 'Usage:' : '      '} gatehouse ${s}`);
  lines.push('', help.summary);
  if (help.details) lines.push('', help.details);
  return lines.join('\n');
}

/** The whole usage, for `gatehouse --help`. */
export const USAGE = [
  'Usage: gatehouse <command> [options]',
  '',
  'Commands:',
  ...Object.entries(COMMANDS).flatMap(([, help]: [string, CommandHelp]) => [...help.synopsis.map((s) => `  ${s}`), `      ${help.summary}`]),
  '',
  '`gatehouse <command> --help` tells more about one command; `gatehouse --version` prints the version.',
  'Settings come from GATEHOUSE_* environment variables (see README.md).',
].join('\n');
