// 4. Live session ending: a jump server whose sshd log the broker reads (a real log daemon: rsyslogd writing a
// file by default, or journald; root only, see src/sandbox/sshd-process.ts). Each round: a grant, an open
// `ssh -J … cat` session through it, one log pass timed (the login is read), one more (nothing new), then
// `/jump revoke` sent → the session closed.
import { fingerprintOfLine } from '../../src/domain/standing-keys.ts';
import { ENGINEER } from '../../src/sandbox/environment.ts';
import { ConnectionStore } from '../../src/store/connection-store.ts';
import { asCommandClient, createRedisClient, parseRedisUrl } from '../../src/store/redis-connection.ts';
import { openSession } from '../../test/support/ssh-client.ts';
import { addKey, approve, benchEnvironment, request, revoke } from '../grants.ts';
import { KeysWatch, until } from '../keys-watch.ts';
import { summarize, type Row } from '../stats.ts';

export async function sessionEnd(rounds: number, log: 'journal' | 'file' = 'file'): Promise<Row[]> {
  const env = await benchEnvironment({ sshdLog: log });
  const redis = asCommandClient(createRedisClient(parseRedisUrl(env.redisUrl), 'commands'));
  const store = new ConnectionStore(redis, env.redisPrefix);
  const watch = new KeysWatch(env.jump.authorizedKeysPath);
  const fp = fingerprintOfLine(env.engineerKey.publicKey)!;
  const ended: number[] = [];
  const idlePass: number[] = [];
  const loginPass: number[] = [];
  const seen = new Set<string>();
  try {
    await addKey(env, ENGINEER, env.engineerKey.publicKey);
    for (let i = 0; i < rounds; i++) {
      const msg = await request(env, ENGINEER, 'internal-1 10m benchmark round', seen);
      await approve(env, msg);
      await watch.present(msg.id);
      const session = openSession({ jump: env.jump, target: env.internal, identityFile: env.engineerKey.privateKeyPath });
      await session.ready;
      const p0 = performance.now();
      await env.broker.connectionWatch.pass('bastion');
      loginPass.push(performance.now() - p0);
      await until('the login in the connection store', async () => (await store.live('bastion')).some((c) => c.fingerprint === fp && c.childPid !== undefined));
      const p1 = performance.now();
      await env.broker.connectionWatch.pass('bastion');
      idlePass.push(performance.now() - p1);
      const t0 = performance.now();
      await revoke(env, ENGINEER, msg.id);
      const exit = await Promise.race([session.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
      if (!exit) throw new Error(`round ${i}: the session did not end within 30 s`);
      ended.push(exit.at - t0);
    }
  } finally {
    watch.close();
    redis.disconnect();
    await env.stop();
  }
  return [
    { figure: `/jump revoke sent → live ssh -J session closed (${log} log)`, unit: 'ms', summary: summarize(ended), ratioToFloor: true, targets: [{ stat: 'p99', op: '<=', limit: 2000 }] },
    { figure: 'sshd log pass with one new login (read + parse + store)', unit: 'ms', summary: summarize(loginPass) },
    { figure: 'sshd log pass with nothing new', unit: 'ms', summary: summarize(idlePass) },
  ];
}
