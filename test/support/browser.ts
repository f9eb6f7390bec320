// Headless Chromium from the operating system (Debian's `chromium`), driven by playwright-core: no browser
// download. `npm test` makes sure the package is there (scripts/run-tests.ts).
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim().split('\n')[0]!;
  } catch {
    throw new Error('no chromium on PATH: install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_PATH');
  }
}

export function launchChromium(): Promise<Browser> {
  // Chromium refuses its own sandbox as root (CI runs as root); the pages it opens are our own, on loopback.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}
