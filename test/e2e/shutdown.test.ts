// SIGTERM to a real `jit-jump start` process: it stops taking work, lets in-flight work finish within its
// bound, closes its SSH connection to the jump server and its Redis connections, and exits 0.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, spawnTracked, stopProcess, waitForPort } from '../../src/sandbox/processes.ts';
import { createSlackSender, findButton } from '../../src/sandbox/slack-sender.ts';
import { approvalMessage, blockLines, until } from '../support/flow.ts';
import { writePolicyFile } from '../support/policy-file.ts';
import { BOT_TOKEN, ENGINEER, OWNER, SIGNING_SECRET, TEAM_ID, startWorld, type World } from '../support/world.ts';

describe('shutdown on SIGTERM', () => {
  let world: World;
  let child: ChildProcess | undefined;
  let redis: Redis;
  before(async () => {
    world = await startWorld();
    redis = new Redis(world.redisUrl);
  });
  after(async () => {
    if (child) await stopProcess(child, 'SIGKILL');
    redis?.disconnect();
    await world?.stop();
  });

  it('stops taking work, closes SSH and Redis connections and exits 0', async () => {
    const port = await freePort();
    child = spawnTracked(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: world.slack.apiUrl,
        REDIS_URL: world.redisUrl,
        JIT_CONFIG: writePolicyFile(world, 'sigterm-policy.yaml'),
        PORT: String(port),
        LOG_LEVEL: 'info',
      },
    });
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));
    await waitForPort(port, undefined, 60_000);
    await until('started', () => out.includes('jit-jump started'), 30_000);

    // Work through this process: a key, a request, an approval: it now holds an SSH connection to the jump server.
    const sender = createSlackSender({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, teamId: TEAM_ID, fake: world.slack });
    await sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
    const res = await sender.command(ENGINEER, 'request internal-1 30s shutdown test');
    const id = /Request `(r[a-z0-9]+)`/.exec(res.json.text)![1]!;
    const msg = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    await sender.blockAction(OWNER, { ...findButton(msg.blocks, 'jit_approve'), message: { channel: msg.channel, ts: msg.ts } });
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    await until('connected to the jump host', () => out.includes('connected to jump host'));

    const name = `jit-jump:${hostname()}:${child.pid}`;
    const ours = async () => String(await redis.client('LIST')).split('\n').filter((l) => l.includes(`name=${name} `)).length;
    assert.ok((await ours()) >= 4, 'its Redis connections are named after it');
    const disconnectsBefore = (world.jump.log().match(/Received disconnect from 127\.0\.0\.1/g) ?? []).length;

    const sent = performance.now();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    console.log(`SIGTERM → exit: ${(performance.now() - sent).toFixed(0)} ms`);
    assert.equal(signal, null);
    assert.equal(code, 0, `clean exit (the forced exit after 15 s would be 1):\n${out.slice(-2000)}`);
    assert.match(out, /"signal":"SIGTERM".*"msg":"shutting down"/);
    assert.match(out, /"msg":"jit-jump stopped"/);
    assert.doesNotMatch(out, /did not finish in time/);
    // The SSH connection was closed by the broker (an SSH disconnect message), not dropped by the exit.
    await until('jump sshd saw the disconnect', () => (world.jump.log().match(/Received disconnect from 127\.0\.0\.1/g) ?? []).length > disconnectsBefore, 10_000);
    assert.equal(await ours(), 0, 'no Redis connection left');
    // What it installed stays, for the other replica (the world's broker) to end on time.
    assert.ok(blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    child = undefined;
  });
});
