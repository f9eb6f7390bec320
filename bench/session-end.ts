// How fast a live session ends with its grant: `/jump revoke` sent (a signed HTTP request to the real broker)
// → an open `ssh -J … sleep 600` session through the real jump sshd closed; and what one pass over the sshd log
// costs (read + parse + store) when nothing happened and after one login. The jump sshd logs through a real
// log daemon (journald by default); needs root, like the tests (see src/sandbox/sshd-process.ts).
// Run: node_modules/.bin/tsx bench/session-end.ts [rounds] [journal|file]
import { ENGINEER, OWNER, startEnvironment } from '../src/sandbox/environment.ts';
import { findButton } from '../src/sandbox/slack-sender.ts';
import { ConnectionStore } from '../src/store/connection-store.ts';
import { asCommandClient, createRedisClient, parseRedisUrl } from '../src/store/redis-connection.ts';
import { fingerprintOfLine } from '../src/domain/standing-keys.ts';
import { openSession } from '../test/support/ssh-client.ts';

const rounds = Number(process.argv[2] ?? 50);
const log = (process.argv[3] ?? 'journal') as 'journal' | 'file';

function stats(name: string, samples: number[]): void {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
  console.log(`${name.padEnd(46)} n=${String(s.length).padStart(4)}  p50 ${at(0.5).toFixed(1).padStart(7)} ms  p99 ${at(0.99).toFixed(1).padStart(7)} ms  max ${at(1).toFixed(1).padStart(7)} ms`);
}

async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const env = await startEnvironment({ logLevel: 'warn', duration: '10m', sshdLog: log, limits: { requestsPerWindow: 10_000 } });
const redis = asCommandClient(createRedisClient(parseRedisUrl(env.redisUrl), 'commands'));
const store = new ConnectionStore(redis, env.redisPrefix);
const fp = fingerprintOfLine(env.engineerKey.publicKey)!;
const ended: number[] = [];
const idlePass: number[] = [];
const loginPass: number[] = [];
try {
  await env.sender.command(ENGINEER, `key add ${env.engineerKey.publicKey}`);
  for (let i = 0; i < rounds; i++) {
    const res = await env.sender.command(ENGINEER, 'request internal-1 10m benchmark round');
    const id = /Request `(r[a-z0-9]+)`/.exec(res.json?.text ?? '')?.[1];
    if (!id) throw new Error(`no request id: ${res.body}`);
    const msg = await until(() => env.slack.messages(`D${OWNER}`).find((m) => JSON.stringify(m.blocks ?? []).includes(id)));
    const b = findButton(msg.blocks, 'jit_approve');
    await env.sender.blockAction(OWNER, { actionId: b.actionId, value: b.value, blockId: b.blockId, message: { channel: msg.channel, ts: msg.ts } });
    await until(() => env.jump.readAuthorizedKeys().includes(`jit:${id}`));
    const session = openSession({ jump: env.jump, target: env.internal, identityFile: env.engineerKey.privateKeyPath });
    await session.ready;
    // The pass that reads the login, timed; then one with nothing new.
    const p0 = performance.now();
    await env.broker.connectionWatch.pass('bastion');
    loginPass.push(performance.now() - p0);
    await until(async () => (await store.live('bastion')).some((c) => c.fingerprint === fp && c.childPid !== undefined));
    const p1 = performance.now();
    await env.broker.connectionWatch.pass('bastion');
    idlePass.push(performance.now() - p1);
    const t0 = performance.now();
    await env.sender.command(ENGINEER, `revoke ${id}`);
    const exit = await Promise.race([session.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
    if (!exit) throw new Error(`round ${i}: the session did not end within 30 s`);
    ended.push(exit.at - t0);
  }
  console.log(`real broker over HTTP, redis-server, jump sshd logging to ${log} on loopback; ${rounds} rounds`);
  stats('/jump revoke → live ssh -J session closed', ended);
  stats('log pass with one new login (read+parse+store)', loginPass);
  stats('log pass with nothing new', idlePass);
} finally {
  redis.disconnect();
  await env.stop();
}
