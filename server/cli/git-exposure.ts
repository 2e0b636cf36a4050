import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * gitExposure answers the root of the git work tree `path` lies in when git would pick the file up (it is not
 * ignored), else undefined. When git itself cannot be asked, a file inside a work tree counts as exposed.
 */
export function gitExposure(path: string): string | undefined {
  const absolute = resolve(path);
  const root = workTreeRoot(dirname(absolute));
  if (!root) return undefined;
  const check = spawnSync('git', ['check-ignore', '-q', absolute], { cwd: root, stdio: 'ignore', timeout: 5000 });
  // check-ignore: 0 ignored, 1 not ignored, anything else (or no git at all) unknown.
  return check.status === 0 ? undefined : root;
}

function workTreeRoot(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return undefined;
  }
}
