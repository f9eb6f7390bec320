// 6. The naive baseline on the same jump sshd: a fresh `ssh jump 'echo … >> authorized_keys'` per grant and a
// `sed -i` per revocation, real ssh processes with the broker's own key. One at a time (latency), then
// `burst` appends, `concurrency` at once (throughput; appends are O_APPEND, so they do not lose each other).
import type { Environment } from '../../src/sandbox/environment.ts';
import { describeSsh, sshJumpShell } from '../../test/support/ssh-client.ts';
import { freshPublicKey } from '../grants.ts';
import { pool } from '../keys-watch.ts';
import { time } from '../sftp.ts';
import { summarize, type Row } from '../stats.ts';

export interface NaiveResult {
  rows: Row[];
  /** grants per second with `concurrency` ssh processes at once */
  throughput: number;
}

export async function naive(env: Environment, n: number, burst: number, concurrency: number): Promise<NaiveResult> {
  const jh = env.policy.jumpHosts[0]!;
  const key = freshPublicKey('').trim();
  const line = (tag: string) =>
    `restrict,port-forwarding,permitopen="127.0.0.1:${env.internal2.port}",command="/bin/false",expiry-time="20991231235959Z" ${key} naive:${tag}`;
  const run = async (command: string) => {
    const r = await sshJumpShell({ jump: env.jump, identityFile: jh.privateKeyPath, command });
    if (r.outcome !== 'ok') throw new Error(`naive baseline: ${command}: ${describeSsh(r)}`);
  };
  const count = (tag: RegExp) => env.jump.readAuthorizedKeys().split('\n').filter((l) => tag.test(l)).length;
  const grant = await time(n, (i) => run(`echo '${line(`s${i}`)}' >> ${jh.authorizedKeysPath}`));
  if (count(/ naive:s\d+$/) !== n) throw new Error('naive baseline: not every appended line is on file');
  const revoke = await time(n, (i) => run(`sed -i '/ naive:s${i}$/d' ${jh.authorizedKeysPath}`));
  if (count(/ naive:/) !== 0) throw new Error('naive baseline: a line survived its sed -i');
  const t0 = performance.now();
  await pool([...Array(burst).keys()], concurrency, (i) => run(`echo '${line(`c${i}`)}' >> ${jh.authorizedKeysPath}`));
  const throughput = burst / ((performance.now() - t0) / 1000);
  if (count(/ naive:c\d+$/) !== burst) throw new Error('naive baseline: concurrent appends lost a line');
  await run(`sed -i '/ naive:/d' ${jh.authorizedKeysPath}`);
  return {
    throughput,
    rows: [
      { figure: 'naive: fresh ssh + echo >> per grant', unit: 'ms', summary: summarize(grant), ratioToFloor: true },
      { figure: 'naive: fresh ssh + sed -i per revocation', unit: 'ms', summary: summarize(revoke), ratioToFloor: true },
      { figure: `naive: ${burst} grants, ${concurrency} ssh at once`, unit: 'grants/s', value: throughput },
    ],
  };
}
