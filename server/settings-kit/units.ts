/** Parsers for the human units used in configuration. Each returns undefined when the text is not valid. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `15m`, `1h`, `1d` or whole seconds (`30`) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d{1,12})\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]) * DURATION_UNITS[m[2] ?? 's'];
  return Number.isSafeInteger(value) ? value : undefined;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  k: 1024,
  mb: 1_000_000,
  mib: 1024 * 1024,
  m: 1024 * 1024,
};

/** Parses `65536`, `64KiB`, `1MiB`, `64kb` into bytes. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d{1,12})\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = BYTE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const value = Number(m[1]) * unit;
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Parses a whole number within [min, max]. */
export function parseInteger(text: string, min: number, max: number): number | undefined {
  if (!/^\s*-?\d{1,15}\s*$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/** Splits a comma-separated list, dropping empty entries. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const DURATION_ORDER: readonly [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/**
 * formatDuration writes `ms` as the operator would: in the unit of `like` (their own text: `10m` → minutes, `600` →
 * whole seconds, no suffix) when it is a whole number of that unit, else in the largest unit that is (`300000` → `5m`).
 */
export function formatDuration(ms: number, like?: string): string {
  const m = like === undefined ? null : /^\s*\d+\s*(ms|s|m|h|d)?\s*$/.exec(like);
  if (m) {
    const unit = DURATION_UNITS[m[1] ?? 's'];
    if (ms % unit === 0) return `${ms / unit}${m[1] ?? ''}`;
  }
  const [suffix, unit] = DURATION_ORDER.find(([, u]) => ms % u === 0) ?? ['ms', 1];
  return `${ms / unit}${suffix}`;
}

const BYTE_ORDER: readonly [string, number][] = [
  ['GiB', 1024 ** 3],
  ['MiB', 1024 ** 2],
  ['KiB', 1024],
];

/** formatBytes writes a size in the unit of `like` (the operator's text) when it is whole in it, else in KiB/MiB/GiB or bytes. */
export function formatBytes(bytes: number, like?: string): string {
  const m = like === undefined ? null : /^\s*\d+\s*([a-zA-Z]*)\s*$/.exec(like);
  if (m && m[1] !== '') {
    const unit = BYTE_UNITS[m[1].toLowerCase()];
    if (unit !== undefined && bytes % unit === 0) return `${bytes / unit}${m[1]}`;
  }
  const found = BYTE_ORDER.find(([, u]) => bytes % u === 0);
  return found ? `${bytes / found[1]}${found[0]}` : `${bytes} bytes`;
}

/** The Levenshtein distance of two strings (for "did you mean"). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
