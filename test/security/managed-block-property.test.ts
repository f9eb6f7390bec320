// Property: whatever people type in Slack (commands, keys), the managed block the broker renders reads as one
// option set + one key per line, one line per key, and each key's permitopen set is exactly its owner's approved,
// unexpired hosts. A few thousand cases here; `npm run fuzz` runs ≥ 100,000.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCommand } from '../../src/domain/command.ts';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { fuzzPolicy, hostileCommandText, hostileKeyText, makeKeyPool, newStats, readKeyLine, runScenario, scenario } from '../support/hostile-input.ts';

const RUNS = Number(process.env.FC_RUNS ?? 3000);
const pool = makeKeyPool();
const policy = fuzzPolicy();

describe('hostile input, end to end through the domain (property)', () => {
  it(`renders a well-formed block with exactly the approved hosts (${RUNS} scenarios)`, () => {
    const stats = newStats();
    fc.assert(
      fc.property(scenario(policy, pool), (s) => runScenario(policy, pool, s, stats)),
      { numRuns: RUNS },
    );
    // The generators must reach the interesting places, or the property proves little.
    assert.equal(stats.cases, RUNS);
    assert.ok(stats.keysAccepted > RUNS / 10, `keys accepted: ${stats.keysAccepted}`);
    assert.ok(Object.values(stats.keysRefused).reduce((a, b) => a + b, 0) > RUNS / 10, 'keys refused');
    assert.ok(stats.privateKeysRefused > 0, 'private keys refused');
    assert.ok(stats.requestsAccepted > RUNS / 10, `requests accepted: ${stats.requestsAccepted}`);
    assert.ok(stats.linesRendered > RUNS / 10, `lines rendered: ${stats.linesRendered}`);
    // Two people in one block is common in 3,000 scenarios; three is seed-dependent (rare even in 100,000).
    assert.ok(stats.maxLines >= 2, `several people at once: ${stats.maxLines}`);
  });

  it('never accepts a key text unless its first two words are exactly the re-serialized key', () => {
    fc.assert(
      fc.property(hostileKeyText(pool), (text) => {
        const r = checkUserPublicKey(text, { minRsaBits: 3072 });
        if (!r.ok) return;
        assert.equal(text.trim().split(/[\t ]+/).slice(0, 2).join(' '), r.value.line);
        assert.ok(pool.good.includes(r.value.line), 'only the real strong keys get through');
      }),
      { numRuns: RUNS },
    );
  });

  it('never lets a private key through any command', () => {
    fc.assert(
      fc.property(hostileCommandText(policy, pool), fc.constantFrom(...pool.privateKeys), fc.double({ min: 0, max: 1, noNaN: true }), (text, priv, where) => {
        const i = Math.floor(where * (text.length + 1));
        assert.deepEqual(parseCommand(text.slice(0, i) + priv + text.slice(i)), { kind: 'private-key' });
      }),
      { numRuns: Math.min(RUNS, 2000) },
    );
  });

  it('the strict line reader itself refuses what sshd would read differently', () => {
    const key = pool.good[0]!;
    const ok = `restrict,port-forwarding,permitopen="10.0.0.5:22",command="/bin/false",expiry-time="20261124100000Z" ${key} jit:rabc1`;
    assert.deepEqual([...readKeyLine(ok).permitopen], ['10.0.0.5:22']);
    for (const bad of [
      ok.replace('restrict,', ''),
      ok.replace('permitopen="10.0.0.5:22"', 'permitopen="*:*"'),
      ok.replace(',command="/bin/false"', ''),
      ok.replace('command="/bin/false"', 'command="/bin/false",command="/bin/sh"'),
      ok.replace('jit:rabc1', 'jit:rabc1 extra'),
      ok.replace('jit:rabc1', 'me@laptop'),
      `${ok}\nssh-ed25519 AAAA`,
      ok.replace(' jit:', ',from="*" jit:'),
      ok.replace('"10.0.0.5:22"', '"10.0.0.5:22" ssh-ed25519 AAAA'),
      ok.replace('permitopen="10.0.0.5:22"', 'permitopen="10.0.0.5:22",permitopen="10.0.0.5:22"'),
    ])
      assert.throws(() => readKeyLine(bad), Error, bad);
  });
});
