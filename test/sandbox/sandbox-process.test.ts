// `npm run sandbox` as a person runs it: it starts, answers on loopback, and Ctrl-C leaves nothing behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { planInstall } from '../../src/system/ensure-system-packages.ts';
import { isRunning, processesMentioning, runSandbox, sandboxStarted, stopSandbox, type SandboxInfo, type SandboxRun } from '../support/sandbox-process.ts';
import { until } from '../support/flow.ts';

/** Nothing the sandbox started is left: its servers, any process using its temp dir, the temp dir itself. */
function assertCleanedUp(info: SandboxInfo): void {
  for (const pid of info.pids) assert.equal(isRunning(pid), false, `process ${pid} is gone`);
  assert.deepEqual(processesMentioning(info.dir), [], 'no process (nor an sshd session) uses the temp dir');
  assert.equal(existsSync(info.dir), false, 'the temp dir is removed');
}

describe('npm run sandbox: start-up and clean-up', () => {
  // Every sandbox a test started is stopped, even when an assertion failed half-way.
  const runs: SandboxRun[] = [];
  const start = (...args: Parameters<typeof runSandbox>) => {
    const run = runSandbox(...args);
    runs.push(run);
    return run;
  };
  after(() => Promise.all(runs.map(stopSandbox)));

  it('starts everything on loopback, serves the console, and Ctrl-C stops every process and removes the temp dir', async () => {
    const startedAt = performance.now();
    const run = start({ SANDBOX_DURATION: '45s' });
    const info = await sandboxStarted(run);
    console.log(`sandbox start → console URL printed: ${(performance.now() - startedAt).toFixed(0)} ms`);
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'the console listens on loopback only');
    assert.equal(info.pids.length, 4, 'redis-server, the jump sshd and two internal sshds');
    for (const pid of info.pids) assert.ok(isRunning(pid), `process ${pid} runs`);
    assert.ok(existsSync(info.dir) && existsSync(info.sshConfig) && info.sshConfig.startsWith(info.dir));

    const page = await fetch(info.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>jit-jump sandbox<\/title>/);
    type State = { ephemerals: { text: string }[]; channels: { id: string }[]; suggestions: string[] };
    const engineer = async () => (await (await fetch(`${info.url}api/state?user=U0ENGINEER`)).json()) as State;
    const state = await engineer();
    assert.deepEqual(state.ephemerals, [], 'no key registered for the engineer: that is their first step');
    assert.match(info.keyAdd, /^\/jump key add ssh-ed25519 AAAA\S+ \S+$/, 'the terminal prints the exact command');
    assert.equal(state.suggestions[0], info.keyAdd, 'the console suggests it first');
    assert.ok(!state.suggestions.some((c) => c.startsWith('/jump request')), 'no request before a key');
    assert.deepEqual(state.channels.map((c) => c.id), ['DU0ENGINEER', 'C0APPROVALS', 'C0AUDIT']);
    assert.match(run.output(), /then send \/jump request internal-1 45s checking the sandbox/, 'the terminal suggests SANDBOX_DURATION');
    const unknown = await fetch(`${info.url}api/state?user=U0NOBODY`);
    assert.equal(unknown.status, 400);
    const json = { 'content-type': 'application/json' };
    const notJump = await fetch(`${info.url}api/command`, { method: 'POST', headers: json, body: JSON.stringify({ user: 'U0ENGINEER', text: 'hello' }) });
    assert.equal(notJump.status, 400);
    assert.match(((await notJump.json()) as { error: string }).error, /Only \/jump commands/);
    // What a web page elsewhere could send (a form post: no CORS preflight), and a rebinding host name.
    const formPost = await fetch(`${info.url}api/command`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ user: 'U0OWNER1', text: '/jump list' }) });
    assert.equal(formPost.status, 415);
    const port = new URL(info.url).port;
    const rebound = await new Promise<number>((resolve, reject) =>
      httpGet({ host: '127.0.0.1', port, path: '/', headers: { host: `evil.example:${port}` } }, (res) => resolve(res.statusCode ?? 0)).on('error', reject),
    );
    assert.equal(rebound, 403);

    // The suggested first step registers the key, and the request for SANDBOX_DURATION becomes the suggestion.
    const added = await fetch(`${info.url}api/command`, { method: 'POST', headers: json, body: JSON.stringify({ user: 'U0ENGINEER', text: info.keyAdd }) });
    assert.match(((await added.json()) as { reply: string }).reply, /Key registered/);
    await until('the request to be suggested', async () => (await engineer()).suggestions[0] === '/jump request internal-1 45s checking the sandbox', 30_000);

    const stoppedAt = performance.now();
    run.interrupt();
    const { code, signal } = await run.exited;
    console.log(`sandbox Ctrl-C → exited: ${(performance.now() - stoppedAt).toFixed(0)} ms`);
    assert.equal(signal, null);
    assert.equal(code, 0, run.output());
    assert.match(run.output(), /stopped; nothing left running/);
    assertCleanedUp(info);
  });

  it('cleans up as well when Ctrl-C comes while it is still starting', async () => {
    const run = start();
    const dir = await until('start-up to begin', () => /starting redis-server.* in (\S+)…/.exec(run.output())?.[1], 60_000);
    assert.ok(existsSync(dir));
    run.interrupt();
    const { code } = await run.exited;
    assert.equal(code, 0, run.output());
    assert.match(run.output(), /nothing left running/);
    assert.equal(existsSync(dir), false);
    assert.deepEqual(processesMentioning(dir), []);
  });

  it('cleans up when its terminal goes away (SIGHUP, and nobody reads its output any more)', async () => {
    const run = start();
    const info = await sandboxStarted(run);
    run.child.stdout!.destroy();
    run.child.stderr!.destroy();
    run.interrupt('SIGHUP');
    const { code } = await run.exited;
    assert.equal(code, 0);
    assertCleanedUp(info);
  });

  it('the sandbox stops cleanly on SIGTERM: sent to the npm process alone, as timeout or a supervisor does', async () => {
    // npm hands SIGTERM to the shell that runs the script, not to the sandbox behind it.
    const run = start({}, { npm: true });
    const info = await sandboxStarted(run);
    const stoppedAt = performance.now();
    process.kill(run.child.pid!, 'SIGTERM');
    await until('the sandbox to stop', () => !isRunning(info.sandboxPid), 30_000);
    console.log(`npm SIGTERM → sandbox process gone: ${(performance.now() - stoppedAt).toFixed(0)} ms`);
    assert.match(run.output(), /stopped; nothing left running/);
    assertCleanedUp(info);
  });

  it('a console port in use (SANDBOX_PORT): one line with the hint, exit 1, at once, nothing started', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const startedAt = performance.now();
      const run = start({ SANDBOX_PORT: String(port) });
      const { code } = await run.exited;
      const ms = performance.now() - startedAt;
      console.log(`sandbox with a busy SANDBOX_PORT → exit: ${ms.toFixed(0)} ms`);
      assert.equal(code, 1);
      // The only line: refused before "sandbox: starting redis-server, …" (how long that takes is the machine's, not a test's).
      assert.deepEqual(run.output().trim().split('\n'), [`sandbox: console port ${port} is in use: choose another with SANDBOX_PORT=<port> (SANDBOX_PORT=0: any free port)`]);
    } finally {
      taken.close();
    }
  });

  it('without redis-server and no way to install it: one line naming the packages, exit code 1', async () => {
    // A PATH with ssh and ssh-keygen but neither redis-server nor apt-get: what a fresh laptop looks like.
    const bin = mkdtempSync(join(tmpdir(), 'jit-path-'));
    try {
      for (const tool of ['ssh', 'ssh-keygen']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
      const run = start({}, { path: bin });
      const { code } = await run.exited;
      assert.equal(code, 1);
      const lines = run.output().trim().split('\n');
      assert.equal(lines.length, 1, run.output());
      assert.equal(lines[0], 'sandbox: missing redis-server: install with: sudo apt-get install -y redis-server (macOS: brew install redis)');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('the missing-package message', () => {
  it('names the Debian/Ubuntu packages for apt-get and the macOS way for each missing need', () => {
    const plan = planInstall(['redis', 'sshd', 'chromium'], () => false);
    assert.deepEqual(plan.missing, ['redis', 'sshd', 'chromium']);
    assert.deepEqual(plan.packages, ['redis-server', 'openssh-server', 'openssh-client', 'chromium']);
    assert.equal(
      plan.manualMessage,
      'missing redis-server, sshd, chromium: install with: sudo apt-get install -y redis-server openssh-server openssh-client chromium ' +
        '(macOS: brew install redis; sshd and ssh ship with macOS; brew install --cask chromium)',
    );
    assert.doesNotMatch(plan.manualMessage, /\n/, 'one line');
  });

  it('asks only for what is missing, and says nothing when all is there', () => {
    assert.equal(planInstall(['redis', 'sshd'], (n) => n !== 'sshd').manualMessage, 'missing sshd: install with: sudo apt-get install -y openssh-server openssh-client (macOS: sshd and ssh ship with macOS)');
    const none = planInstall(['redis', 'sshd', 'redis'], () => true);
    assert.deepEqual(none, { missing: [], packages: [], manualMessage: '' });
  });
});
