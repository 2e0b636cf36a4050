import { parseArgs } from 'node:util';
import { MAX_CREDENTIAL_LENGTH } from '../login/credential-verifier';
import { hashPassword } from '../login/password-hash';
import { UsageError } from './usage';

/**
 * `gatehouse hash-password`: reads one password line on standard input (without echo on a terminal) and returns its
 * PHC scrypt hash for GATEHOUSE_USERS_FILE. Refuses an empty or over-long password.
 */
export async function hashPasswordCommand(args: string[], input: NodeJS.ReadStream = process.stdin): Promise<string> {
  parseArgs({ args, options: {}, strict: true });
  const password = input.isTTY ? await readHidden(input) : await readLine(input);
  if (password.length === 0) throw new UsageError('hash-password read an empty password; give one line on standard input');
  if (password.length > MAX_CREDENTIAL_LENGTH) {
    throw new UsageError(`the password is over ${MAX_CREDENTIAL_LENGTH} characters; login refuses longer ones`);
  }
  return hashPassword(password);
}

/** The first line of a piped input, without its line ending. */
function readLine(input: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = () => {
      input.off('data', onData).off('end', done).off('error', reject);
      input.destroy();
      resolve(text.split('\n')[0].replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (text.includes('\n')) done();
    };
    input.setEncoding('utf8');
    input.on('data', onData).on('end', done).on('error', reject);
  });
}

/** Reads a line from a terminal without echoing it. */
function readHidden(input: NodeJS.ReadStream): Promise<string> {
  process.stderr.write('Password: ');
  return new Promise((resolve) => {
    let text = '';
    const finish = () => {
      input.setRawMode(false);
      input.off('data', onData);
      input.pause();
      process.stderr.write('\n');
      resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') {
          input.setRawMode(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else text += ch;
      }
    };
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.on('data', onData);
  });
}
