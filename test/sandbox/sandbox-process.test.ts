// `npm run sandbox` as a person runs it: it starts, answers on loopback, and Ctrl-C leaves nothing behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { planInstall } from '../../src/system/ensure-system-packages.ts';
import { isRunning, processesMentioning, runSandbox, sandboxStarted, stopSandbox, type SandboxRun } from '../support/sandbox-process.ts';
import { until } from '../support/flow.ts';

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
    const run = start();
    const info = await sandboxStarted(run);
    console.log(`sandbox start → console URL printed: ${(performance.now() - startedAt).toFixed(0)} ms`);
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'the console listens on loopback only');
    assert.equal(info.pids.length, 4, 'redis-server, the jump sshd and two internal sshds');
    for (const pid of info.pids) assert.ok(isRunning(pid), `process ${pid} runs`);
    assert.ok(existsSync(info.dir) && existsSync(info.sshConfig) && info.sshConfig.startsWith(info.dir));

    const page = await fetch(info.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>jit-jump sandbox<\/title>/);
    const state = (await (await fetch(`${info.url}api/state?user=U0ENGINEER`)).json()) as { ephemerals: { text: string }[]; channels: { id: string }[] };
    assert.ok(state.ephemerals.some((e) => /Key registered/.test(e.text)), 'the sandbox engineer has a key registered');
    assert.deepEqual(state.channels.map((c) => c.id), ['DU0ENGINEER', 'C0APPROVALS', 'C0AUDIT']);
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

    const stoppedAt = performance.now();
    run.interrupt();
    const { code, signal } = await run.exited;
    console.log(`sandbox Ctrl-C → exited: ${(performance.now() - stoppedAt).toFixed(0)} ms`);
    assert.equal(signal, null);
    assert.equal(code, 0, run.output());
    assert.match(run.output(), /stopped; nothing left running/);
    for (const pid of info.pids) assert.equal(isRunning(pid), false, `process ${pid} is gone`);
    assert.deepEqual(processesMentioning(info.dir), [], 'no process (nor an sshd session) uses the temp dir');
    assert.equal(existsSync(info.dir), false, 'the temp dir is removed');
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
    for (const pid of info.pids) assert.equal(isRunning(pid), false, `process ${pid} is gone`);
    assert.deepEqual(processesMentioning(info.dir), []);
    assert.equal(existsSync(info.dir), false, 'the temp dir is removed');
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
