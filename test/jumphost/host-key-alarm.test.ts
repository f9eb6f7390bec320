// The host key alarm across replicas: each replica's sync meets the same impostor, the audit channel hears once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { JumpHostConfig } from '../../src/config/policy.ts';
import type { AuditEvent } from '../../src/domain/audit-event.ts';
import { HostKeyMismatchError } from '../../src/jumphost/errors.ts';
import { withHostKeyAlarm } from '../../src/jumphost/host-key-alarm.ts';
import { JumpHostState } from '../../src/store/jump-host-state.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

const jh = { name: 'bastion' } as JumpHostConfig;
const PINNED = 'SHA256:pinnedpinnedpinnedpinnedpinnedpinnedpinned0';
const impostor = (n: number) => `SHA256:impostor${n}impostor${n}impostor${n}impostor${n}xx`;

describe('host key alarm', () => {
  const db = useFreshRedis();

  function replicas(count: number, presented: () => string, events: AuditEvent[], now: { t: number }) {
    const state = new JumpHostState(db.redis);
    return Array.from({ length: count }, () =>
      withHostKeyAlarm(
        {
          updateAuthorizedKeys: async () => {
            throw new HostKeyMismatchError('bastion', PINNED, presented());
          },
        },
        {
          audit: async (e) => {
            events.push(e);
          },
          logger: pino({ level: 'silent' }),
          clock: { now: () => now.t },
          quietMs: 60_000,
          claim: (jumpHost, key, quietMs) => state.claimHostKeyAlert(jumpHost, key, quietMs),
        },
      ),
    );
  }

  it('alerts once across three replicas retrying at once, with both fingerprints, and rethrows to every caller', async () => {
    const events: AuditEvent[] = [];
    const all = replicas(3, () => impostor(1), events, { t: 1_000 });
    const results = await Promise.allSettled(all.flatMap((r) => [1, 2, 3].map(() => r.updateAuthorizedKeys(jh, (c) => c))));
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof HostKeyMismatchError));
    assert.equal(events.length, 1);
    assert.ok(events[0]!.detail!.includes(PINNED) && events[0]!.detail!.includes(impostor(1)));
  });

  it('alerts again for another presented key, and for the same key once the quiet period is over', async () => {
    const events: AuditEvent[] = [];
    let presented = impostor(2);
    const now = { t: 1_000 };
    const [a, b] = replicas(2, () => presented, events, now);
    await a!.updateAuthorizedKeys(jh, (c) => c).catch(() => undefined);
    presented = impostor(3);
    await b!.updateAuthorizedKeys(jh, (c) => c).catch(() => undefined);
    assert.equal(events.length, 2, 'a different impostor key is news');
    await db.redis.flushall(); // the Redis quiet period has run out
    now.t += 61_000; // and so has each replica's own
    await a!.updateAuthorizedKeys(jh, (c) => c).catch(() => undefined);
    assert.equal(events.length, 3);
  });
});
