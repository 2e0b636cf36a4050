import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/**
 * The package's root directory (the nearest with a package.json above this file), so files shipped beside the code
 * (the demo, the built client) are found whether the server runs from source or from a build.
 */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}
