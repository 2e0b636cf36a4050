/**
 * Lets a string option take a value that starts with a dash, written the usual way (`--kid -ZMT…`). node:util's
 * parseArgs refuses that as ambiguous, and ids here are often base64url, where one in 64 starts with `-` (a key's
 * thumbprint, a token's jti): so the word after a string option becomes `--name=word` unless it is itself one of
 * the command's options. Everything after `--` is left as it is.
 */
export function joinDashValues(args: readonly string[], options: Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>): string[] {
  const isOption = (word: string) => word.startsWith('--') && Object.hasOwn(options, word.slice(2).split('=')[0]);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    if (word === '--') return [...out, ...args.slice(i)];
    const next = args[i + 1];
    const name = word.startsWith('--') && !word.includes('=') ? word.slice(2) : '';
    const takesValue = Object.hasOwn(options, name) && options[name].type === 'string';
    if (takesValue && next !== undefined && next.startsWith('-') && next !== '--' && !isOption(next)) {
      out.push(`${word}=${next}`);
      i++;
    } else {
      out.push(word);
    }
  }
  return out;
}
