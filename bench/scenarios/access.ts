// 1 and 3b. Time to access and revoke click → line gone, one grant at a time: a person asks, the owner's
// Approve click is sent (timer starts), the key line appears on the jump server, then a real `ssh -J` hop
// through it succeeds; `/jump revoke` sent → the line gone. The broker runs in a process of its own (as
// `jit-jump start` runs it): the harness, the fake Slack and the watch of the jump server's file do not share its
// event loop.
import type { Environment } from '../../src/sandbox/environment.ts';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { describeSsh, sshHop } from '../../test/support/ssh-client.ts';
import { withBrokerChild } from '../broker-child.ts';
import { activationDone, addKey, approveTimed, auditPosted, request, revoke, type Driven } from '../grants.ts';
import { KeysWatch } from '../keys-watch.ts';
import { summarize, type Row } from '../stats.ts';

/** `hopEvery`: the hop (a second of real ssh on a busy machine) is tried on every n-th round only. */
export function access(env: Environment, rounds: number, hopEvery = 1): Promise<Row[]> {
  return withBrokerChild(env, (driven) => timedAccess(env, driven, rounds, hopEvery));
}

async function timedAccess(env: Environment, driven: Driven, rounds: number, hopEvery: number): Promise<Row[]> {
  const watch = new KeysWatch(env.jump.authorizedKeysPath);
  const line: number[] = [];
  const hop: number[] = [];
  const gone: number[] = [];
  const seen = new Set<string>();
  try {
    for (let i = 0; i < rounds; i++) {
      // A person of their own per round, as in a company where many people ask: one person asking again the
      // moment their last grant was revoked would measure that revocation's follow-up work too.
      const user = `U0ACCESS${i}`;
      const key = generateUserKey(env.dir, `access_${i}`);
      env.internal2.writeAuthorizedKeys(`${env.internal2.readAuthorizedKeys()}${key.publicKey}\n`);
      await addKey(driven, user, key.publicKey);
      const msg = await request(driven, user, 'internal-2 10m benchmark round', seen);
      await auditPosted(driven, msg.id, 'requested');
      const { sent: clicked, answered: acked } = approveTimed(driven, msg);
      line.push((await watch.present(msg.id)).mono - clicked);
      if (i % hopEvery === 0) {
        // The hop starts as soon as the line is there, whether or not Slack has had its answer yet.
        const hopped = await sshHop({ jump: env.jump, target: env.internal2, identityFile: key.privateKeyPath });
        if (hopped.outcome !== 'ok') throw new Error(`hop after approving ${msg.id}: ${describeSsh(hopped)}`);
        hop.push(performance.now() - clicked);
      }
      await acked;
      // The approval's work is over too (its messages, its audit lines), as before a later click.
      await Promise.all([activationDone(driven, msg.id), auditPosted(driven, msg.id, 'activated')]);
      const sent = performance.now();
      const revoked = revoke(driven, user, msg.id);
      gone.push((await watch.gone(msg.id)).mono - sent);
      await revoked;
    }
  } finally {
    watch.close();
  }
  return [
    {
      figure: 'Approve click → key line on jump server',
      unit: 'ms',
      summary: summarize(line),
      ratioToFloor: true,
      targets: [{ stat: 'p50', op: '<=', limit: 5 }, { stat: 'p99', op: '<=', limit: 20 }],
    },
    { figure: 'Approve click → real ssh -J hop succeeded', unit: 'ms', summary: summarize(hop), ratioToFloor: true },
    { figure: '/jump revoke sent → key line gone', unit: 'ms', summary: summarize(gone), ratioToFloor: true, targets: [{ stat: 'p99', op: '<=', limit: 20 }] },
  ];
}
