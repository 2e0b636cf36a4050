import { ConfigError } from '../config';
import { hashPasswordCommand } from './hash-password-command';
import { keysCommand } from './keys-command';
import { revokeCommand } from './revoke-command';
import { startCommand } from './start-command';
import { tokenCommand } from './token-command';
import { COMMANDS, StartError, USAGE, UsageError, commandUsage, isCommandName, type CommandName } from './usage';
import { packageVersion } from './version';

/** Where the CLI writes: the process's streams, or a test's buffers. */
export interface CliOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

const HELP_FLAGS = new Set(['--help', '-h']);

/**
 * Runs the `gatehouse` command line and resolves the exit status: 0 when done, 2 for bad arguments (one line, then
 * that command's usage), bad configuration (every problem is listed) or a node that cannot start (one line),
 * undefined while `start` keeps the node running.
 */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env, out: CliOutput = process): Promise<number | undefined> {
  const [first = 'start', ...rest] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    out.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (first === 'help' || HELP_FLAGS.has(first)) {
    const topic = rest[0];
    out.stdout.write(`${topic !== undefined && isCommandName(topic) ? commandUsage(topic) : USAGE}\n`);
    return 0;
  }
  if (!isCommandName(first)) {
    const known = Object.keys(COMMANDS).join(', ');
    out.stderr.write(`gatehouse: unknown command ${JSON.stringify(first)} (commands: ${known}; see gatehouse --help)\n`);
    return 2;
  }
  const command: CommandName = first;
  if (rest.some((arg) => HELP_FLAGS.has(arg))) {
    out.stdout.write(`${commandUsage(command)}\n`);
    return 0;
  }
  try {
    return await runCommand(command, rest, env, out);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StartError) {
      out.stderr.write(`gatehouse: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.stderr.write(`gatehouse ${command}: ${(err as Error).message}\n\n${commandUsage(command)}\n`);
      return 2;
    }
    throw err;
  }
}

async function runCommand(command: CommandName, args: string[], env: NodeJS.ProcessEnv, out: CliOutput): Promise<number | undefined> {
  switch (command) {
    case 'start':
      return await startCommand(args, env, out.stdout);
    case 'token':
      out.stdout.write(`${tokenCommand(args, env)}\n`);
      return 0;
    case 'hash-password':
      out.stdout.write(`${await hashPasswordCommand(args)}\n`);
      return 0;
    case 'revoke':
      return await revokeCommand(args, env);
    case 'keys': {
      const { report, warnings } = keysCommand(args);
      for (const warning of warnings) out.stderr.write(`gatehouse keys: warning: ${warning}\n`);
      out.stdout.write(`${report}\n`);
      return 0;
    }
  }
}
