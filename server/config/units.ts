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
  '': 1, b: 1, kb: 1000, kib: 1024, k: 1024, mb: 1_000_000, mib: 1024 * 1024, m: 1024 * 1024,
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
  return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
