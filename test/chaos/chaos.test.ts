// Proof that no key is left behind and nothing happens twice, under kill -9 of brokers, a Redis restart and a
// jump server outage, with 3 replicas at once (see chaos.ts). `npm run chaos -- --lifecycles 500` runs it longer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from './chaos.ts';

describe('chaos', () => {
  it('leaves no key behind and does nothing twice while brokers, Redis and the jump server fail', async () => {
    const seed = Number(process.env.JIT_CHAOS_SEED ?? 20261124);
    const figures = await runChaos({ lifecycles: 30, seed, log: (l) => console.log(l) });
    console.log(`chaos figures: ${JSON.stringify(figures, null, 2)}`);
    assert.deepEqual(figures.unexpectedExits, [], 'no broker died by itself');
    assert.ok(figures.grants >= 15, `most lifecycles became grants (${figures.grants})`);
    assert.ok(figures.brokerKills >= 2 && figures.redisRestarts >= 1 && figures.jumpOutages >= 1, 'every kind of fault happened');
    assert.ok(figures.checkpoint.activeGrants > 0, 'grants were still active at the checkpoint');
    assert.equal(figures.checkpoint.linesWithoutActiveGrant, 0);
    assert.equal(figures.checkpoint.activeGrantsWithoutLine, 0);
    assert.equal(figures.final.lines, 0, 'every grant ended: the block is empty');
    assert.equal(figures.final.linesWithoutActiveGrant, 0);
    assert.equal(figures.final.activeGrantsWithoutLine, 0);
    assert.equal(figures.activationMessages.grantsWithNone, 0, 'every grant got its activation message');
    assert.equal(figures.activationMessages.grantsWithMore, 0, 'no grant got two');
    assert.equal(figures.doubleApprovals, 0);
    assert.equal(figures.audit.grantsMissingAKind, 0);
    assert.equal(figures.audit.grantsWithADuplicateKind, 0);
    assert.equal(figures.audit.duplicates, 0);
    assert.equal(figures.audit.posted, figures.audit.streamEvents, 'every audit event posted once');
  });
});
