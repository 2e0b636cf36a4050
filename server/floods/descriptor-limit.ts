import { readFileSync } from 'node:fs';

/**
 * The process's soft limit on open files (`ulimit -n`), from /proc/self/limits; undefined where that cannot be read
 * (not Linux) or says unlimited. Node has no getrlimit of its own.
 */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}

/**
 * The connections a node holds by default: its descriptor limit less room for everything else it opens (Redis, files,
 * and the connections it is turning away), a tenth of the limit up to 1,000; no cap where the limit is unknown.
 */
export function defaultMaxConnections(limit: number | undefined): number {
  if (limit === undefined) return 0;
  return Math.max(1, limit - Math.min(1000, Math.ceil(limit / 10)));
}
