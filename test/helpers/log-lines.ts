/**
 * Checks of what a node writes to stdout: every line one JSON object with each key at most once (JSON.parse keeps
 * the last of two equal keys silently, so a small scanner finds them), and every logged error with a type and message.
 */

/** The keys that appear twice in one object of a JSON text, as `path.key`; throws when the text is not JSON. */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`not JSON at ${i}: ${what} in ${text.slice(0, 200)}`);
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (text[i] !== '"') fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const key = string();
        if (keys.has(key)) found.push(`${path}${key}`);
        keys.add(key);
        ws();
        if (text[i++] !== ':') fail('expected :');
        value(`${path}${key}.`);
        ws();
        const next = text[i++];
        if (next === '}') return;
        if (next !== ',') fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}${n}.`);
        ws();
        const next = text[i++];
        if (next === ']') return;
        if (next !== ',') fail('expected , or ]');
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 40));
    if (!m) fail('unexpected value');
    i += m![0].length;
  };
  value('');
  ws();
  if (i !== text.length) fail('trailing text');
  return found;
}

/** Every problem with a node's stdout: lines that are not JSON objects, repeated keys, errors without type and message. */
export function logLineProblems(stdout: string): string[] {
  const problems: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    let parsed: unknown;
    try {
      const dups = duplicateKeys(line);
      if (dups.length > 0) problems.push(`repeated keys ${dups.join(', ')}: ${line}`);
      parsed = JSON.parse(line);
    } catch (err) {
      problems.push(`${(err as Error).message}`);
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problems.push(`not an object: ${line}`);
      continue;
    }
    const { err } = parsed as { err?: { type?: unknown; message?: unknown } };
    if (err !== undefined) {
      if (typeof err !== 'object' || err === null) problems.push(`err is not an object: ${line}`);
      else if (typeof err.type !== 'string' || err.type === '' || err.type === 'Object' || typeof err.message !== 'string' || err.message === '') {
        problems.push(`err without a type and message: ${line}`);
      }
    }
  }
  return problems;
}

/** The `msg` of each JSON line, in order. */
export function logMessages(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { msg?: string }).msg ?? '');
}
