// SIGTERM to a real `jit-jump start` process: it stops taking work (its HTTP port closes), answers the Slack
// requests it already has, lets in-flight work finish within its budget and hands back a job still running
// then (another replica finishes it), closes its SSH connection and QUITs each of its Redis connections, and
// exits 0. SIGHUP (the last test, issue #14 item 7) reads its policy file again: a broken one is refused and the
// old policy stays, a good one applies to the next request and to a pending request's decision; so does a
// change of the file without a signal.
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { jobId, QUEUE_NAME } from '../../src/scheduling/access-jobs.ts';
import { queuePrefix } from '../../src/store/redis-keys.ts';
import { freePort, spawnTracked, stopProcess, waitForPort } from '../../src/sandbox/processes.ts';
import { createSlackSender, findButton } from '../../src/sandbox/slack-sender.ts';
import { approvalMessage, blockLines, click, metadata, posts, requestAccess, until } from '../support/flow.ts';
import { brokerEnv, writePolicyFile } from '../support/policy-file.ts';
import { AUDIT_CHANNEL, ENGINEER, OWNER, SIGNING_SECRET, TEAM_ID, startWorld, type World } from '../support/world.ts';

interface BrokerProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  sender: ReturnType<typeof createSlackSender>;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** the addresses (ip:port) of its Redis connections, which carry its name */
  redisAddrs(): Promise<string[]>;
}

/** `jit-jump start` (through the bin, as npx runs it) in a process of its own, on the world's Redis, jump server and fake Slack. */
async function startBrokerProcess(world: World, redis: Redis, policyName: string, env: Record<string, string> = {}): Promise<BrokerProcess> {
  const port = await freePort();
  const child = spawnTracked(process.execPath, ['bin/jit-jump.mjs', 'start'], {
    env: { ...brokerEnv(world, policyName), PORT: String(port), ...env },
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await waitForPort(port, undefined, 60_000);
  await until('started', () => out.includes('jit-jump started'), 30_000);
  const name = `jit-jump:${hostname()}:${child.pid}`;
  return {
    child,
    port,
    output: () => out,
    sender: createSlackSender({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, teamId: TEAM_ID, fake: world.slack }),
    exited,
    async redisAddrs() {
      const lines = String(await redis.client('LIST')).split('\n');
      return lines.filter((l) => l.includes(` name=${name} `)).map((l) => /\baddr=(\S+)/.exec(l)![1]!);
    },
  };
}

/**
 * Every command Redis runs, with the address of the connection that sent it: MONITOR on a plain socket. (ioredis'
 * monitor() can take a MONITOR line for the reply of its own start-up command on a busy machine and throw
 * "Command queue state error": seen once in ten loaded runs.)
 */
async function monitorRedis(url: string): Promise<{ commands: { from: string; command: string }[]; stop(): void }> {
  const address = new URL(url);
  const socket = connect({ host: address.hostname, port: Number(address.port) });
  await once(socket, 'connect');
  const commands: { from: string; command: string }[] = [];
  let buffered = '';
  let started: () => void;
  const ok = new Promise<void>((resolve) => (started = resolve));
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\r\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === '+OK') started();
      // +1796176118.907773 [0 127.0.0.1:37460] "set" "key" …
      const m = /^\+\d+\.\d+ \[\d+ (\S+)\] "([^"]*)"/.exec(line);
      if (m) commands.push({ from: m[1]!, command: m[2]!.toLowerCase() });
    }
  });
  socket.write('MONITOR\r\n');
  await ok;
  return { commands, stop: () => socket.destroy() };
}

/** True if nothing listens on the port any more (the connect is refused). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** A process and everything it forked (sshd forks one process per connection). */
function withDescendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    /* none */
  }
  return [pid, ...children.flatMap(withDescendants)];
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids)
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
}

describe('signals: SIGTERM stops the broker, SIGHUP reads the policy again', () => {
  let world: World;
  let redis: Redis;
  let queue: Queue;
  let queueRedis: Redis;
  const children: ChildProcess[] = [];
  before(async () => {
    world = await startWorld();
    redis = new Redis(world.redisUrl);
    queueRedis = new Redis(world.redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue(QUEUE_NAME, { connection: queueRedis, prefix: queuePrefix() });
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    for (const c of children) await stopProcess(c, 'SIGKILL');
    await queue?.close();
    queueRedis?.disconnect();
    redis?.disconnect();
    await world?.stop();
  });

  it('stops taking work, closes SSH and Redis connections and exits 0', async () => {
    const b = await startBrokerProcess(world, redis, 'sigterm-idle.yaml');
    children.push(b.child);

    // Work through this process: a request and an approval: it now holds an SSH connection to the jump server.
    const res = await b.sender.command(ENGINEER, 'request internal-1 5s shutdown test');
    const id = /Request `(r[a-z0-9]+)`/.exec(res.json.text)![1]!;
    const msg = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    await b.sender.blockAction(OWNER, { ...findButton(msg.blocks, 'jit_approve'), message: { channel: msg.channel, ts: msg.ts } });
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    await until('connected to the jump host', () => b.output().includes('connected to jump host'));

    const addrs = await b.redisAddrs();
    assert.ok(addrs.length >= 4, 'its Redis connections are named after it');
    const disconnectsBefore = (world.jump.log().match(/Received disconnect from 127\.0\.0\.1/g) ?? []).length;
    const monitor = await monitorRedis(world.redisUrl);
    try {
      const sent = performance.now();
      b.child.kill('SIGTERM');
      const { code, signal: sig } = await b.exited;
      console.log(`SIGTERM → exit (idle): ${(performance.now() - sent).toFixed(0)} ms`);
      const out = b.output();
      assert.equal(sig, null);
      assert.equal(code, 0, `clean exit (the forced exit after 15 s would be 1):\n${out.slice(-2000)}`);
      assert.match(out, /"signal":"SIGTERM".*"msg":"shutting down"/);
      assert.match(out, /"msg":"jit-jump stopped"/);
      assert.doesNotMatch(out, /did not finish in time/);
      // The SSH connection was closed by the broker (an SSH disconnect message), not dropped by the exit.
      await until('jump sshd saw the disconnect', () => (world.jump.log().match(/Received disconnect from 127\.0\.0\.1/g) ?? []).length > disconnectsBefore, 10_000);
      // Each Redis connection said QUIT (a dropped socket would look the same once the process is gone).
      assert.deepEqual(addrs.filter((a) => !monitor.commands.some((c) => c.from === a && c.command === 'quit')), [], 'connections that did not QUIT');
      assert.deepEqual(await b.redisAddrs(), [], 'no Redis connection left');
    } finally {
      monitor.stop();
    }
    // What it installed stays, for the other replica (the world's broker) to end on time.
    assert.ok(blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    await until('the other replica ends the grant', () => !blockLines(world).some((l) => l.endsWith(`jit:${id}`)), 60_000);
  });

  it('with a Slack request, a job and a sync in flight: answers the request, hands the job back to another replica, QUITs Redis, exits 0', async () => {
    // The world's broker installs a grant, then stops: the process below is the only replica while it stops.
    const id = await requestAccess(world, ENGINEER, 'request internal-2 1h shutdown with work in flight');
    await click(world, id, OWNER);
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    await world.broker.stop();
    const b = await startBrokerProcess(world, redis, 'sigterm-busy.yaml');
    children.push(b.child);
    await until('connected to the jump host', () => b.output().includes('connected to jump host'));

    const revoke = jobId('revoke', id);
    const authTests = () => world.slack.calls.filter((c) => c.method === 'auth.test').length;
    // Its first Slack request asks Slack for the workspace (auth.test): held, that request stays in flight.
    const releaseSlack = world.slack.hold('auth.test');
    // The jump sshd and its sessions stop: a sync hangs (SFTP without an answer) until its deadlines.
    const sshd = withDescendants(world.jump.pid);
    signal(sshd, 'SIGSTOP');
    let answer: Promise<Awaited<ReturnType<typeof b.sender.command>>> | undefined;
    try {
      // The grant's revocation runs now, on the only replica; its sync hangs on the stopped jump server.
      await (await queue.getJob(revoke))!.promote();
      await until('revoke job running', async () => (await queue.getJobState(revoke)) === 'active', 30_000);
      const asked = authTests();
      answer = b.sender.command(ENGINEER, 'list');
      await until('the Slack request in flight', () => authTests() > asked, 30_000);

      const addrs = await b.redisAddrs();
      assert.ok(addrs.length >= 4, 'its Redis connections are named after it');
      const monitor = await monitorRedis(world.redisUrl);
      try {
        b.child.kill('SIGTERM');
        let gone = false;
        void b.exited.then(() => (gone = true));
        // The port closes while the process still drains its work: no new requests reach it.
        await until(
          'its HTTP port closed while it stops',
          async () => {
            if (gone) throw new Error(`exited before its HTTP port was seen closed:\n${b.output().slice(-2000)}`);
            return refused(b.port);
          },
          30_000,
        );
        assert.equal(gone, false);
        releaseSlack();
        // The request it had already received is answered.
        const res = await answer;
        assert.equal(res.status, 200);
        assert.equal(res.json?.response_type, 'ephemeral');
        assert.match(res.json?.text ?? '', /no pending requests or active grants|internal-2/);

        const { code, signal: sig } = await b.exited;
        const out = b.output();
        assert.equal(sig, null);
        assert.equal(code, 0, `clean exit (the forced exit after 15 s would be 1):\n${out.slice(-2000)}`);
        const handedBack = out.split('\n').find((l) => l.includes('"msg":"in-flight work did not finish in time: handed back to the other replicas"'));
        assert.ok(handedBack, `no hand-back logged:\n${out.slice(-2000)}`);
        assert.ok((JSON.parse(handedBack) as { handedBack: string[] }).handedBack.includes(revoke), handedBack);
        assert.match(out, /"msg":"jit-jump stopped"/);
        // Back in the queue for another replica, not failed, not lost, not held by a lock of the dead process.
        assert.equal(await queue.getJobState(revoke), 'waiting');
        assert.deepEqual(addrs.filter((a) => !monitor.commands.some((c) => c.from === a && c.command === 'quit')), [], 'connections that did not QUIT');
        assert.deepEqual(await b.redisAddrs(), [], 'no Redis connection left');
      } finally {
        monitor.stop();
      }
    } finally {
      releaseSlack();
      signal(sshd, 'SIGCONT');
      await answer?.catch(() => undefined);
    }

    // Another replica (the world's broker, started again) runs the handed-back job: the grant ends.
    await world.restartBroker();
    await until('revoke job completed by the other replica', async () => (await queue.getJobState(revoke)) === 'completed', 90_000, 100);
    await until('key line removed', () => !blockLines(world).some((l) => l.endsWith(`jit:${id}`)), 30_000);
    assert.equal((await world.broker.requests.get(id))?.state, 'expired');
  });
  it('SIGHUP: a broken policy file keeps the old policy, a good one applies at once; so does a change of the file', async () => {
    // JIT_CONFIG is a link to a file in another directory: editing that file is seen by SIGHUP alone (the file
    // watch watches the link's directory), so each step below proves the one trigger it names.
    const linkDir = mkdtempSync(join(world.dir, 'reload-'));
    const configPath = join(linkDir, 'jit.config.yaml');
    const target = writePolicyFile(world, 'reload-target.yaml');
    symlinkSync(target, configPath);
    const b = await startBrokerProcess(world, redis, 'reload-target.yaml', { JIT_CONFIG: configPath });
    children.push(b.child);
    const defaults = (maxDuration: string, more: Record<string, unknown> = {}) => ({ defaults: { duration: '5s', minDuration: '1s', maxDuration, approvals: 1, ...more } });
    const auditPost = (what: string, match: (text: string, payload: Record<string, any>) => boolean) =>
      until(what, () => posts(world, AUDIT_CHANNEL).find((c) => metadata(c) && match(String(c.args.text), metadata(c)!.event_payload)), 30_000);
    const requestText = async (text: string) => String((await b.sender.command(ENGINEER, text)).json?.text ?? '');

    // A broken file: refused, the reason (the field) in the log and the audit channel; the old 1h maximum stays.
    writePolicyFile(world, 'reload-target.yaml', defaults('10m', { approvals: 0 }));
    b.child.kill('SIGHUP');
    const refusal = await auditPost('the refusal in the audit channel', (text, p) => p.audit_type === 'refused' && p.code === 'policy-invalid' && text.includes('SIGHUP'));
    assert.match(String(refusal.args.text), /defaults\.approvals/);
    // The log line and the audit post race each other out of the broker: wait for the line.
    await until('the refusal in the log', () => /"msg":"policy not reloaded: the old policy stays"/.test(b.output()) || undefined, 30_000);
    const pending = /Request `(r[a-z0-9]+)`/.exec(await requestText('request internal-1 30m under the old policy'))?.[1];
    assert.ok(pending, 'a 30m request is taken under the old 1h maximum');

    // A good file: the new maximum applies to the next request, and to the pending one when it is decided.
    writePolicyFile(world, 'reload-target.yaml', defaults('10m'));
    b.child.kill('SIGHUP');
    const applied = await auditPost('the reload in the audit channel', (text, p) => p.audit_type === 'policy-reloaded' && text.includes('SIGHUP'));
    assert.match(String(applied.args.text), /changed: defaults\.maxDuration/);
    assert.match(await requestText('request internal-1 30m over the new maximum'), /internal-1 allows at most 10m/);
    const msg = await until('approval message', () => approvalMessage(world, `D${OWNER}`, pending));
    await b.sender.blockAction(OWNER, { ...findButton(msg.blocks, 'jit_approve'), message: { channel: msg.channel, ts: msg.ts } });
    await until('the pending request decided under the new maximum', async () => (await world.broker.requests.get(pending))?.state === 'denied');
    assert.ok(!blockLines(world).some((l) => l.endsWith(`jit:${pending}`)));

    // A change of the file itself (an editor's rename over it): applied without a signal.
    const next = join(linkDir, '.jit.config.yaml.new');
    writeFileSync(next, readFileSync(writePolicyFile(world, 'reload-target.yaml', defaults('20m'))));
    renameSync(next, configPath);
    await auditPost('the file change in the audit channel', (text, p) => p.audit_type === 'policy-reloaded' && text.includes('file change'));
    assert.match(await requestText('request internal-1 30m over the newest maximum'), /internal-1 allows at most 20m/);
    assert.match(await requestText('request internal-1 15m within the newest maximum'), /Request `r[a-z0-9]+`/);
  });
});
