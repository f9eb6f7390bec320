// `npm test`: make sure redis-server and OpenSSH (and Chromium, for *.browser.test.ts) are there, then run every
// test/**/*.test.ts with Node's test runner, one file at a time (test files start their own servers; the
// machine has 2 cores).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureSystemPackages, type SystemNeed } from '../src/system/ensure-system-packages.ts';

function find(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'support' ? [] : find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const filter = process.argv.slice(2);
const files = find('test')
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The browser tests drive the sandbox's console in the system's Chromium (playwright-core downloads nothing).
const needs: SystemNeed[] = ['redis', 'sshd', ...(files.some((f) => f.endsWith('.browser.test.ts')) ? (['chromium'] as const) : [])];
try {
  await ensureSystemPackages(needs, (line) => console.log(line));
} catch (err) {
  console.error(`npm test: ${(err as Error).message}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
