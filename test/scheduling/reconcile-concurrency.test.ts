// How a reconcile pass spreads its syncs over many jump servers: every one synced, a bounded number at a time
// (a hundred syncs at once would each hold their grants, lines and file together). The store is a real
// redis-server; the sync is a stand-in that counts how many run at once: the bound is the reconciler's alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { validatePolicy } from '../../src/config/policy.ts';
import type { JumpHostSync, SyncResult } from '../../src/jumphost/jump-host-sync.ts';
import { Reconciler, SYNCS_AT_ONCE } from '../../src/scheduling/reconciler.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

const FINGERPRINT = `SHA256:${'A'.repeat(43)}`;

function policyWith(jumpServers: number) {
  return validatePolicy({
    auditChannel: 'C0AUDIT',
    defaults: { duration: '1h', approvals: 1 },
    jumpHosts: Array.from({ length: jumpServers }, (_, i) => ({ name: `jump-${i}`, address: `192.0.2.${i + 1}`, user: 'jump', hostKey: FINGERPRINT, privateKeyPath: '/k' })),
    hosts: [{ name: 'db-1', address: '10.0.0.5', jumpHost: 'jump-0', owners: ['U0ALICE'] }],
  });
}

/** A sync that takes a few event-loop turns and a little time, recording how many run at once. */
function countingSync(failOn: string) {
  let running = 0;
  const seen = { most: 0, synced: [] as string[] };
  const sync = {
    async sync(name: string): Promise<SyncResult> {
      seen.most = Math.max(seen.most, ++running);
      try {
        await new Promise((r) => setTimeout(r, 5));
        if (name === failOn) throw new Error('unreachable for the test');
        seen.synced.push(name);
        return { jumpHost: name, lines: 0, changed: false, removedLines: [], addedLines: [], handEditedLines: [] } as unknown as SyncResult;
      } finally {
        running--;
      }
    },
  };
  return { sync: sync as unknown as JumpHostSync, seen };
}

describe('reconcile pass over many jump servers', () => {
  const db = useFreshRedis();
  const reconciler = (n: number, sync: JumpHostSync, syncsAtOnce?: number) =>
    new Reconciler({ policy: policyWith(n), requests: new RequestStore(db.redis), sync, actions: { expire: async () => undefined, timeOut: async () => undefined, completeActivation: async () => undefined, endForRetiredJumpHost: async () => false }, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }), activationGraceMs: 60_000, syncsAtOnce });

  it('syncs every jump server, at most eight at once by default, and reports each in policy order (a failure as its error)', async () => {
    assert.equal(SYNCS_AT_ONCE, 8, 'the README and docs/reliability.md say eight');
    const { sync, seen } = countingSync('jump-17');
    const report = await reconciler(40, sync).run();
    assert.equal(seen.most, SYNCS_AT_ONCE);
    assert.equal(seen.synced.length, 39);
    assert.deepEqual(report.jumpHosts.map((j) => j.jumpHost), Array.from({ length: 40 }, (_, i) => `jump-${i}`));
    assert.equal(report.jumpHosts[17]!.error, 'unreachable for the test');
    assert.equal(report.jumpHosts.filter((j) => j.result).length, 39);
  });

  it('keeps another bound when given one (syncsAtOnce), and runs fewer servers than the bound all at once', async () => {
    const three = countingSync('none');
    await reconciler(10, three.sync, 3).run();
    assert.equal(three.seen.most, 3);
    assert.equal(three.seen.synced.length, 10);
    const few = countingSync('none');
    await reconciler(2, few.sync).run();
    assert.equal(few.seen.most, 2);
  });
});
