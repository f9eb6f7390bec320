// The one `jit-jump` command (package.json bin) as an operator meets it from a checkout: `npx jit-jump --help`,
// each command's help, usage errors (exit 2), check-config against a sample policy, the npm scripts calling the
// same entry, and the sandbox through the bin stopping cleanly on a plain SIGTERM (what `timeout` sends).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { COMMANDS } from '../../src/cli-usage.ts';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { jitJump } from '../support/cli.ts';
import { isRunning, processesMentioning, runSandbox, sandboxStarted, stopSandbox, type SandboxRun } from '../support/sandbox-process.ts';

describe('jit-jump: help and usage errors', () => {
  it('npx jit-jump --help lists every command and the exit codes, exit 0', async () => {
    const r = await jitJump(['--help'], {}, { via: 'npx' });
    assert.equal(r.code, 0, r.out);
    assert.match(r.stdout, /^usage: jit-jump <command>/);
    for (const c of ['start', 'sandbox', 'check-config', 'reconcile', 'audit export', 'audit verify', 'audit standing']) {
      assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'), `--help lists ${c}`);
    }
    assert.match(r.stdout, /exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 {2}usage error/);
  });

  it("each command's --help: its usage line, every option it takes and its exit codes, exit 0", async () => {
    const runs = await Promise.all(COMMANDS.map((c) => jitJump([...c.name.split(' '), '--help'])));
    COMMANDS.forEach((c, i) => {
      const r = runs[i]!;
      assert.equal(r.code, 0, `${c.name} --help: ${r.out}`);
      assert.ok(r.stdout.startsWith(`usage: jit-jump ${c.name}`), `${c.name} --help: ${r.stdout}`);
      for (const [flag] of c.options) assert.ok(r.stdout.includes(`  ${flag}`), `${c.name} --help names ${flag}`);
      assert.match(r.stdout, /exit codes:\n {2}0 /);
      assert.match(r.stdout, /\n {2}2 {2}\S/, `${c.name} --help says what exit 2 means`);
    });
    const names = (name: string) => COMMANDS.find((c) => c.name === name)!.options.map(([flag]) => flag.split(' ')[0]);
    assert.deepEqual(names('check-config'), ['--config', '--offline', '--sshd-config']);
    assert.deepEqual(names('reconcile'), ['--dry-run', '--config']);
    assert.deepEqual(names('audit export'), ['--since', '--until', '--format']);
  });

  it('jit-jump audit --help lists the three audit commands', async () => {
    const r = await jitJump(['audit', '--help']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.stdout, /usage: jit-jump audit <export\|verify\|standing>/);
  });

  it('an unknown command exits 2 with the usage on standard error, through npx too', async () => {
    const r = await jitJump(['frobnicate'], {}, { via: 'npx' });
    assert.equal(r.code, 2, r.out);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.match(r.stderr, /usage: jit-jump <command>/);
    assert.equal(r.stdout, '');
  });

  it('no command, an unknown audit command, an option the command does not take, a stray argument: exit 2 naming it', async () => {
    const cases: [string[], RegExp][] = [
      [[], /name a command/],
      [['audit'], /say which audit command[\s\S]*usage: jit-jump audit/],
      [['audit', 'shred'], /unknown command "audit shred"/],
      [['start', '--offline'], /start does not take --offline[\s\S]*usage: jit-jump start/],
      [['check-config', '--bogus'], /Unknown option '--bogus'[\s\S]*usage: jit-jump check-config/],
      [['check-config', 'extra'], /check-config: unexpected argument "extra"/],
      [['audit', 'verify', 'a.jsonl', 'b.jsonl'], /audit verify: unexpected argument "b.jsonl"/],
      [['reconcile'], /reconcile --dry-run/],
    ];
    const runs = await Promise.all(cases.map(([args]) => jitJump(args)));
    cases.forEach(([args, expected], i) => {
      assert.equal(runs[i]!.code, 2, `jit-jump ${args.join(' ')}: ${runs[i]!.out}`);
      assert.match(runs[i]!.stderr, expected, `jit-jump ${args.join(' ')}`);
    });
  });
});

describe('jit-jump check-config from a checkout', () => {
  let dir: string;
  let policyPath: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-bin-'));
    const key = generateUserKey(dir, 'broker');
    const policy = {
      auditChannel: 'C0AUDIT',
      jumpHosts: [{ name: 'bastion', address: '127.0.0.1', port: 22, user: 'jump', hostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', privateKeyPath: key.privateKeyPath, authorizedKeysPath: '.ssh/authorized_keys' }],
      hosts: [{ name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE'] }],
    };
    policyPath = join(dir, 'policy.yaml');
    writeFileSync(policyPath, stringify(policy));
    writeFileSync(join(dir, 'bad.yaml'), stringify({ ...policy, hosts: [{ ...policy.hosts[0], jumpHost: 'bastoin' }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('npx jit-jump check-config --offline accepts a sample policy (exit 0) and names the field of a bad one (exit 1)', async () => {
    const good = await jitJump(['check-config', '--offline', '--config', policyPath], {}, { via: 'npx' });
    assert.equal(good.code, 0, good.out);
    assert.match(good.stdout, /ok {4}.*policy\.yaml: 1 jump host\(s\), 1 host\(s\)/);
    assert.match(good.stdout, /0 error\(s\)/);
    const bad = await jitJump(['check-config', '--offline', '--config', join(dir, 'bad.yaml')], {}, { via: 'npx' });
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.stdout, /hosts\[0\]\.jumpHost: no jump host named "bastoin"/);
  });

  it('npm run check-config runs the same entry as npx jit-jump (and so do start, reconcile and sandbox)', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    assert.deepEqual(pkg.bin, { 'jit-jump': 'bin/jit-jump.mjs' });
    assert.ok(statSync(pkg.bin['jit-jump']!).mode & 0o111, 'the bin is executable');
    assert.match(readFileSync(pkg.bin['jit-jump']!, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    // start with the broker's node flags (test/system/heap-tuning.test.ts checks which).
    for (const s of ['start', 'check-config', 'reconcile', 'sandbox']) assert.match(pkg.scripts[s]!, new RegExp(`^node (--[a-z-]+=\\d+ )*bin/jit-jump\\.mjs ${s}$`));
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('npm', ['run', '--silent', 'check-config', '--', '--offline', '--config', policyPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.once('close', (code) => resolve({ code, out }));
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /0 error\(s\)/);
  });
});

describe('jit-jump sandbox through the bin', () => {
  let run: SandboxRun | undefined;
  after(() => stopSandbox(run));

  it('a SIGTERM to the process alone (as `timeout` sends) stops everything it started and removes its temp dir, exit 0', async () => {
    run = runSandbox();
    const info = await sandboxStarted(run);
    for (const pid of info.pids) assert.ok(isRunning(pid), `process ${pid} runs`);
    // Not to the group, as Ctrl-C is: only the node process gets it, and must pass the stop on itself.
    process.kill(run.child.pid!, 'SIGTERM');
    const { code, signal } = await run.exited;
    assert.equal(signal, null, run.output());
    assert.equal(code, 0, run.output());
    assert.match(run.output(), /SIGTERM: stopping/);
    for (const pid of info.pids) assert.equal(isRunning(pid), false, `process ${pid} is gone`);
    assert.deepEqual(processesMentioning(info.dir), []);
    assert.equal(existsSync(info.dir), false, 'the temp dir is removed');
  });
});
