import { ConfigError } from '../config';
import { hashPasswordCommand } from './hash-password-command';
import { keysCommand } from './keys-command';
import { revokeCommand } from './revoke-command';
import { startCommand } from './start-command';
import { tokenCommand } from './token-command';
import { USAGE, UsageError } from './usage';

/** Where the CLI writes: the process's streams, or a test's buffers. */
export interface CliOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/**
 * Runs the `gatehouse` command line and resolves the exit status: 0 when done, 2 for bad arguments (usage is printed)
 * or bad configuration (every problem is listed), undefined while `start` keeps the node running.
 */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env, out: CliOutput = process): Promise<number | undefined> {
  const [command = 'start', ...args] = argv;
  try {
    switch (command) {
      case 'start':
        await startCommand(args, env);
        return undefined;
      case 'token':
        out.stdout.write(`${tokenCommand(args, env)}\n`);
        return 0;
      case 'hash-password':
        out.stdout.write(`${await hashPasswordCommand(args)}\n`);
        return 0;
      case 'revoke':
        return await revokeCommand(args, env);
      case 'keys':
        out.stdout.write(`${keysCommand(args)}\n`);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        out.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      out.stderr.write(`gatehouse: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.stderr.write(`gatehouse: ${(err as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}
