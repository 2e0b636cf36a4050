import { readFileSync } from 'node:fs';
import { editDistance, formatBytes, formatDuration, parseBytes, parseDuration, parseInteger, parseList } from './units';

/** Raised once at start-up with every configuration problem found. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export type Source = Readonly<Record<string, string | undefined>>;

/**
 * SettingsReader reads named settings from the environment layered over a config file, collecting every problem
 * instead of stopping at the first, so the operator sees them all at once.
 */
export class SettingsReader {
  readonly problems: string[] = [];
  private readonly known = new Set<string>();
  /** Secrets read from a file: NAME → the file's path, so a problem with the value can name the file. */
  private readonly secretFiles = new Map<string, string>();

  constructor(
    private readonly env: Source,
    private readonly fileSource: Source = {},
    private readonly fileName?: string,
  ) {}

  /** The raw text of a setting: the environment wins over the file; empty counts as unset. */
  raw(name: string): string | undefined {
    this.known.add(name);
    const fromEnv = this.env[name];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const fromFile = this.fileSource[name];
    return fromFile !== undefined && fromFile !== '' ? fromFile : undefined;
  }

  problem(name: string, message: string): void {
    this.problems.push(`${name}: ${message}`);
  }

  string(name: string): string | undefined {
    return this.raw(name);
  }

  duration(name: string, fallback: string, opts: { min?: number; max?: number } = {}): number {
    const text = this.raw(name) ?? fallback;
    const value = parseDuration(text);
    const valid = 'a duration such as 500ms, 30s, 15m, 1h, 1d or whole seconds';
    if (value === undefined) {
      this.problem(name, `${JSON.stringify(text)} is not ${valid}`);
      return parseDuration(fallback)!;
    }
    if ((opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
      const limit = (ms: number) => formatDuration(ms, text);
      this.problem(name, `${JSON.stringify(text)} is out of range: ${rangeText(opts.min, opts.max, limit)}`);
      return parseDuration(fallback)!;
    }
    return value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = parseInteger(text, min, max);
    if (value === undefined) {
      this.problem(name, `${JSON.stringify(text)} is not a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  bytes(name: string, fallback: number, min: number, max: number): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = parseBytes(text);
    const range = rangeText(min, max, (n) => formatBytes(n, text));
    if (value === undefined) {
      this.problem(name, `${JSON.stringify(text)} is not a size such as 65536, 64KiB or 1MiB (${range})`);
      return fallback;
    }
    if (value < min || value > max) {
      this.problem(name, `${JSON.stringify(text)} is out of range: ${range}`);
      return fallback;
    }
    return value;
  }

  list(name: string): string[] | undefined {
    const text = this.raw(name);
    return text === undefined ? undefined : parseList(text);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    if ((allowed as readonly string[]).includes(text)) return text as T;
    this.problem(name, `${JSON.stringify(text)} is not one of ${allowed.join(', ')}`);
    return fallback;
  }

  /** A path that must name a readable file. */
  file(name: string): string | undefined {
    const path = this.raw(name);
    if (path === undefined) return undefined;
    try {
      readFileSync(path);
    } catch (err) {
      this.problem(name, `cannot read ${JSON.stringify(path)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
    return path;
  }

  /**
   * A secret given as NAME or NAME_FILE (never both). Taken as UTF-8 bytes; from a file, one trailing newline is
   * trimmed (editors add one).
   */
  secret(name: string): Buffer | undefined {
    const direct = this.raw(name);
    const fileName = `${name}_FILE`;
    const path = this.raw(fileName);
    if (direct !== undefined && path !== undefined) {
      this.problem(name, `set either ${name} or ${fileName}, not both`);
      return undefined;
    }
    if (direct !== undefined) return Buffer.from(direct, 'utf8');
    if (path === undefined) return undefined;
    this.secretFiles.set(name, path);
    try {
      const content = readFileSync(path);
      const end =
        content.length > 0 && content[content.length - 1] === 0x0a
          ? content.length > 1 && content[content.length - 2] === 0x0d
            ? content.length - 2
            : content.length - 1
          : content.length;
      return content.subarray(0, end);
    } catch (err) {
      this.problem(fileName, `cannot read ${JSON.stringify(path)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
  }

  /**
   * How to name a secret's source in a problem with its value: `NAME_FILE (path)` when it came from a file, so the
   * operator knows which file to fix, else `NAME`.
   */
  sourceOf(name: string): string {
    const path = this.secretFiles.get(name);
    return path === undefined ? name : `${name}_FILE (${path})`;
  }

  /** Reports GATEHOUSE_* names in the environment or file that no setting reads: usually a typo, so the nearest is suggested. */
  checkUnknown(prefix: string): void {
    for (const name of Object.keys(this.env)) {
      if (name.startsWith(prefix) && !this.known.has(name)) {
        this.problems.push(`${name}: unknown setting; ${this.suggestion(name)}`);
      }
    }
    for (const name of Object.keys(this.fileSource)) {
      if (!this.known.has(name)) {
        this.problems.push(`${name} in ${this.fileName ?? 'the config file'}: unknown setting; ${this.suggestion(name)}`);
      }
    }
  }

  /** "did you mean X?" for the known setting nearest to `name`, when one is near enough; else a pointer to the README. */
  private suggestion(name: string): string {
    const upper = name.toUpperCase();
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const known of this.known) {
      const distance = editDistance(upper, known);
      if (distance < bestDistance) {
        best = known;
        bestDistance = distance;
      }
    }
    // Close in spelling (a typo, a transposition), or a known name that merely adds a suffix (GATEHOUSE_REDIS → _URL).
    if (best !== undefined && bestDistance <= Math.max(2, Math.floor(upper.length / 8))) return `did you mean ${best}?`;
    const extended = [...this.known].find((k) => k.startsWith(upper));
    return extended ? `did you mean ${extended}?` : "check the spelling against the README's table";
  }
}

/** A range in the operator's terms, e.g. `from 10KiB to 64MiB`, `at most 5m`. */
function rangeText(min: number | undefined, max: number | undefined, show: (n: number) => string): string {
  if (min !== undefined && max !== undefined) return `from ${show(min)} to ${show(max)}`;
  if (min !== undefined) return `at least ${show(min)}`;
  return `at most ${show(max!)}`;
}

/** Reads a JSON config file into the same flat NAME → text shape as the environment. */
export function readConfigFile(path: string): Source {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`--config ${path}: ${(err as Error).message}`]);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`--config ${path}: must be a JSON object of GATEHOUSE_* settings`]);
  }
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[key] = value.join(',');
    else problems.push(`${key} in ${path}: must be a string, number, boolean or array of strings`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
