// 7. Scale: N active grants spread over M jump servers (M real sshd on loopback), at each level the full
// reconcile (broker.reconciler.run(): the first one writes every block, later ones find nothing to change),
// the process's RSS, the cost per grant, and sshd's own login time on a block of that size. Grants are seeded
// through the broker's stores (key, request, approval: the same Lua scripts the HTTP path ends in), not over
// HTTP: 10,000 signed requests and clicks would take most of the run's ten minutes.
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Redis } from 'ioredis';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { randomRequestId } from '../../src/domain/ids.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { OWNER, type Environment } from '../../src/sandbox/environment.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../../src/sandbox/sshd-process.ts';
import { auditStreamKeys } from '../../src/store/redis-keys.ts';
import { sshJumpShell } from '../../test/support/ssh-client.ts';
import { benchEnvironment, freshPublicKey } from '../grants.ts';
import { grantIdsIn, pool } from '../keys-watch.ts';
import { time } from '../sftp.ts';
import { fmt, summarize, type Row } from '../stats.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const HOUR = 3_600_000;

/** M−1 more jump servers beside the environment's own, each with one host behind it; the broker restarted on it. */
async function addJumpServers(env: Environment, more: number): Promise<{ servers: SshdProcess[]; hostOf: string[] }> {
  const bastion = env.policy.jumpHosts[0]!;
  const internal2 = env.policy.hosts.find((h) => h.name === 'internal-2')!;
  const brokerPublicKey = readFileSync(`${bastion.privateKeyPath}.pub`, 'utf8').trim();
  const servers = [env.jump];
  for (let k = 1; k <= more; k++) servers.push(await startSshd({ name: `jump${k}`, role: 'jump', authorizedKeysContent: `restrict ${brokerPublicKey}\n`, parentDir: env.dir }));
  const extra = servers.slice(1).map((s, k) => ({
    // Copies of the bastion and of internal-2 as the policy resolved them, renamed and re-pointed.
    jump: { ...bastion, name: `jump-${k + 1}`, port: s.port, user: s.user, hostKey: s.hostKeyFingerprint, authorizedKeysPath: s.authorizedKeysPath },
    host: { ...internal2, name: `target-${k + 1}`, jumpHost: `jump-${k + 1}` },
  }));
  await env.restartBroker({ ...env.policy, jumpHosts: [...env.policy.jumpHosts, ...extra.map((e) => e.jump)], hosts: [...env.policy.hosts, ...extra.map((e) => e.host)] });
  return { servers, hostOf: ['internal-2', ...extra.map((e) => e.host.name)] };
}

/** One active grant for a new person on `host`, written as the HTTP path would: key, request, approval. */
async function seedGrant(env: Environment, i: number, host: string, jumpHost: string): Promise<void> {
  const user = `U0SCALE${i}`;
  const checked = checkUserPublicKey(freshPublicKey(''), { minRsaBits: 3072 });
  if (!checked.ok) throw new Error(`seed key refused: ${checked.message}`);
  const now = Date.now();
  await env.broker.keys.set(user, checked.value, now);
  const req: AccessRequest = { id: randomRequestId(), requester: user, host, jumpHost, durationMs: HOUR, reason: 'benchmark scale', state: 'pending', createdAt: now, requiredApprovals: 1, approvers: [], keyFingerprint: checked.value.fingerprint };
  await env.broker.requests.create(req, { type: 'requested', at: now, requestId: req.id, requester: user, host, durationMs: HOUR, reason: req.reason });
  const r = await env.broker.requests.approve(req, OWNER, now, { approvalTimeoutMs: HOUR, maxDurationMs: HOUR, requiredApprovals: 1, maxTotalMs: HOUR });
  if (!r.ok || !r.value.activated) throw new Error(`seed grant ${req.id} not activated: ${JSON.stringify(r)}`);
  await env.broker.requests.finishActivation(req.id); // no follow-up owed: reconcile measures syncs only
}

/** sshd's login time (ssh started → refused) for a key it must compare with every line on file. */
async function loginTimes(env: Environment, server: SshdProcess, stranger: string, n: number): Promise<number[]> {
  return time(n, async () => {
    const r = await sshJumpShell({ jump: server, identityFile: stranger, command: 'true' });
    if (r.outcome !== 'refused-auth') throw new Error(`a stranger's login was not refused: ${r.outcome}`);
  });
}

async function measureLevel(env: Environment, servers: SshdProcess[], at: { level: number; top: boolean; stranger: string; rssBase: number }, perGrant: number[]): Promise<Row[]> {
  const { level, top } = at;
  const t0 = performance.now();
  const report = await env.broker.reconciler.run();
  const writing = performance.now() - t0;
  const failed = report.jumpHosts.filter((j) => j.error);
  if (failed.length) throw new Error(`reconcile failed on ${failed.map((j) => `${j.jumpHost}: ${j.error}`).join('; ')}`);
  const onFile = servers.reduce((n, s) => n + grantIdsIn(s.readAuthorizedKeys()).size, 0);
  if (onFile !== level) throw new Error(`${onFile} of ${level} grants on file after a full reconcile`);
  const steady = summarize(await time(5, () => env.broker.reconciler.run()));
  env.slack.reset(); // the fake's kept messages are not the broker's memory
  gc();
  const rss = process.memoryUsage().rss;
  const login = summarize(await loginTimes(env, servers[0]!, at.stranger, 10));
  perGrant.push(steady.p50 / level);
  const label = `scale ${level} grants / ${servers.length} jump servers`;
  // The issue's reconcile target is for 10,000 grants over 100 servers: judged at the top level only.
  const within2s = top ? [{ stat: 'value' as const, op: '<=' as const, limit: 2000 }] : undefined;
  return [
    { figure: `${label}: full reconcile writing every block`, unit: 'ms', value: writing, targets: within2s },
    { figure: `${label}: full reconcile, nothing to change`, unit: 'ms', summary: steady, targets: top ? [{ stat: 'p50', op: '<=', limit: 2000 }] : undefined },
    { figure: `${label}: reconcile per grant (nothing to change, p50)`, unit: 'µs', value: (steady.p50 * 1000) / level },
    { figure: `${label}: process RSS`, unit: 'MB', value: rss / 1e6, note: `${rss >= at.rssBase ? '+' : ''}${fmt((rss - at.rssBase) / 1e6)} MB since before seeding`, targets: top ? [{ stat: 'value', op: '<=', limit: 150 }] : undefined },
    { figure: `${label}: sshd login refused after reading a ${Math.ceil(level / servers.length)}-line block`, unit: 'ms', summary: login },
  ];
}

export async function scale(levels: number[], jumpServers: number): Promise<Row[]> {
  const env = await benchEnvironment({ reconcileInterval: '1h' });
  const redis = new Redis(env.redisUrl);
  const rows: Row[] = [];
  let servers: SshdProcess[] = [];
  try {
    const added = await addJumpServers(env, jumpServers - 1);
    servers = added.servers;
    const hostOf = added.hostOf;
    const jumpOf = env.policy.hosts;
    const stranger = generateUserKey(env.dir, 'stranger').privateKeyPath;
    gc();
    const rssBase = process.memoryUsage().rss;
    let seeded = 0;
    const perGrant: number[] = [];
    for (const level of levels) {
      await pool([...Array(level - seeded).keys()].map((k) => seeded + k), 50, (i) => {
        const host = hostOf[i % jumpServers]!;
        return seedGrant(env, i, host, jumpOf.find((h) => h.name === host)!.jumpHost);
      });
      seeded = level;
      // The seeding's audit events are not what is measured: the forwarder skips them (one batch may still post).
      await redis.xgroup('SETID', auditStreamKeys(env.redisPrefix).stream, 'audit-forwarder', '$');
      rows.push(...(await measureLevel(env, servers, { level, top: level === levels.at(-1), stranger, rssBase }, perGrant)));
    }
    rows.push({ figure: `reconcile per grant at ${levels.at(-1)} ÷ at ${levels.at(-2)}`, unit: '×', value: perGrant.at(-1)! / perGrant.at(-2)!, targets: [{ stat: 'value', op: '<=', limit: 1.5 }], note: 'flat: ≤ 1.5 here' });
    return rows;
  } finally {
    redis.disconnect();
    for (const s of servers.slice(1)) await s.stop().catch(() => undefined);
    await env.stop();
  }
}
