// The command runs compiled JavaScript (dist/, built by `npm ci`), and never a dist/ older than src/: each case runs
// bin/jit-jump.mjs in a copy of the checkout (bin, scripts, src, package.json; node_modules linked) whose src/
// is then edited, and checks that the edited code is what ran and that one line on standard error said how.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jitJump } from '../support/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOBODY = 65534;

/** `jit-jump <args>` in the copy at `dir`, as `asUser` if given. */
const run = (dir: string, args: string[], asUser?: number) => jitJump(args, { HOME: tmpdir() }, { cwd: dir, asUser });

/** Changes the first line of `jit-jump --help` in the copy's src/, so that its output shows which code ran. */
function editUsage(dir: string, word: string): void {
  const file = join(dir, 'src/cli-usage.ts');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/return `usage: jit-jump(-\w+)? <command>/, `return \`usage: jit-jump-${word} <command>`));
}

describe('jit-jump runs compiled JavaScript, never a stale build', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-build-'));
    for (const part of ['bin', 'scripts', 'src', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('with no dist/ it builds one and runs it, saying so once; a fresh dist/ runs with nothing said', async () => {
    const first = await run(dir, ['--help']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^usage: jit-jump <command>/);
    assert.match(first.stderr, /^jit-jump: dist\/ is missing: rebuilt dist\/ from src\/ \(\d+ ms\)\n$/);
    assert.ok(existsSync(join(dir, 'dist/main.js')) && existsSync(join(dir, 'dist/store/lua/approve.lua')) && existsSync(join(dir, 'dist/sandbox/console.html')), 'the modules and the files they read beside them');
    const again = await run(dir, ['--help']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '');
  });

  it('a source edited after the build is rebuilt before it runs: the edit is what runs', async () => {
    editUsage(dir, 'edited');
    const r = await run(dir, ['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: jit-jump-edited <command>/);
    assert.match(r.stderr, /^jit-jump: src\/cli-usage\.ts changed after dist\/ was built: rebuilt dist\/ from src\/ \(\d+ ms\)\n$/);
  });

  it('when dist/ cannot be rebuilt (a checkout the user cannot write) the edited src/ runs through tsx, saying so', { skip: process.getuid?.() === 0 ? false : 'needs root: runs the command as nobody' }, async () => {
    chmodSync(dir, 0o755); // readable, not writable, by nobody
    editUsage(dir, 'unbuilt');
    const r = await run(dir, ['--help'], NOBODY);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: jit-jump-unbuilt <command>/);
    assert.match(r.stderr, /^jit-jump: src\/cli-usage\.ts changed after dist\/ was built and rebuilding it failed \(.+\): running src\/ through tsx\n$/);
    assert.match(readFileSync(join(dir, 'dist/cli-usage.js'), 'utf8'), /usage: jit-jump-edited/, 'dist/ as it was');
  });
});
