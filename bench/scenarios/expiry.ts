// 3a. Revocation lag after expiry: short grants approved one after another, so their expiries are staggered
// (and fall while later grants are being approved); lag = the moment the line is seen gone − the grant's
// expiresAt as the broker stored it (both on this machine's wall clock). The broker runs in a process of its own.
import type { Environment } from '../../src/sandbox/environment.ts';
import { withBrokerChild } from '../broker-child.ts';
import { addKey, approve, request, type Driven } from '../grants.ts';
import { KeysWatch, pool } from '../keys-watch.ts';
import { summarize, type Row } from '../stats.ts';

export function expiry(env: Environment, grants: number, duration = '3s'): Promise<Row[]> {
  return withBrokerChild(env, (driven) => timedExpiry(env, driven, grants, duration));
}

async function timedExpiry(env: Environment, driven: Driven, grants: number, duration: string): Promise<Row[]> {
  const watch = new KeysWatch(env.jump.authorizedKeysPath);
  const users = Array.from({ length: grants }, (_, i) => `U0EXPIRY${i}`);
  const seen = new Set<string>();
  try {
    await pool(users, 10, (u) => addKey(driven, u));
    const lags: Promise<number>[] = [];
    for (const user of users) {
      const msg = await request(driven, user, `internal-2 ${duration} benchmark expiry`, seen);
      await approve(driven, msg);
      await watch.present(msg.id);
      const expiresAt = (await driven.broker.requests.get(msg.id))?.expiresAt;
      if (expiresAt === undefined) throw new Error(`grant ${msg.id} has no expiresAt`);
      lags.push(watch.gone(msg.id, 120_000).then((s) => s.wall - expiresAt));
    }
    const lag = await Promise.all(lags);
    return [{ figure: `expiry instant → key line gone (${duration} grants, staggered)`, unit: 'ms', summary: summarize(lag), ratioToFloor: true, targets: [{ stat: 'p99', op: '<=', limit: 100 }] }];
  } finally {
    watch.close();
  }
}
