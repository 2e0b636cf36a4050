import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const root = join(__dirname, '..', '..');

/** Where browser suites save what they produce (screenshots); git-ignored. */
export const TEST_OUTPUT = join(root, 'test-output');

/** Builds dist/client.js (what the gateway serves at /client.js) from the current source. */
export function buildClient(): void {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-client.mjs')], { cwd: root, stdio: 'pipe', timeout: 60_000 });
}

/** Debian's Chromium, driven by playwright-core (Playwright's own browser download does not work here). */
export function launchChromium(): Promise<Browser> {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}
