import { ConfigError } from '../config';
import { hashPasswordCommand } from './hash-password-command';
import { keysCommand } from './keys-command';
import { revokeCommand } from './revoke-command';
import { startCommand } from './start-command';
import { tokenCommand } from './token-command';
import { USAGE, UsageError } from './usage';

/** Runs the `gatehouse` command line. Bad arguments print usage and exit 2; bad configuration lists every problem and exits 2. */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const [command = 'start', ...args] = argv;
  try {
    switch (command) {
      case 'start':
        await startCommand(args, env);
        return;
      case 'token':
        process.stdout.write(`${tokenCommand(args, env)}\n`);
        return;
      case 'hash-password':
        process.stdout.write(`${await hashPasswordCommand(args)}\n`);
        return;
      case 'revoke':
        process.exitCode = await revokeCommand(args, env);
        return;
      case 'keys':
        process.stdout.write(`${keysCommand(args)}\n`);
        return;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`gatehouse: ${(err as Error).message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    throw err;
  }
}
