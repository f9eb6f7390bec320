// A pass over every jump server runs a few syncs at a time, in order, and fails as Promise.all does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEveryJumpHost, SYNCS_AT_ONCE } from '../../src/jumphost/every-jump-host.ts';

/** A sync that ends when the test says so, counting how many run at once. */
function gatedWork() {
  const gates = new Map<string, () => void>();
  let running = 0;
  let most = 0;
  const started: string[] = [];
  const work = async (name: string) => {
    started.push(name);
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => gates.set(name, resolve));
    running--;
    if (name.startsWith('bad')) throw new Error(`${name} failed`);
    return `synced ${name}`;
  };
  const settle = async () => {
    // Lets the pass start what the last ends allowed.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  /** Ends every sync as it starts, until all `n` have started and ended. */
  const finishAll = async (n: number) => {
    while (started.length < n) {
      for (const open of gates.values()) open();
      await settle();
    }
    for (const open of gates.values()) open();
  };
  return { work, gates, started, settle, finishAll, most: () => most };
}

describe('forEveryJumpHost', () => {
  it(`runs at most ${SYNCS_AT_ONCE} at once, starts the next as one ends, and answers in the order of the names`, async () => {
    const names = Array.from({ length: 20 }, (_, i) => `jump-${i}`);
    const g = gatedWork();
    const pass = forEveryJumpHost(names, g.work);
    await g.settle();
    assert.deepEqual(g.started, names.slice(0, SYNCS_AT_ONCE));
    g.gates.get('jump-3')!(); // one ends (not the first): the next starts
    await g.settle();
    assert.deepEqual(g.started, names.slice(0, SYNCS_AT_ONCE + 1));
    await g.finishAll(names.length);
    assert.deepEqual(await pass, names.map((n) => `synced ${n}`));
    assert.equal(g.most(), SYNCS_AT_ONCE);
  });

  it('a failure rejects the pass with it, and every other jump server is still synced', async () => {
    const names = ['jump-0', 'bad-1', ...Array.from({ length: 10 }, (_, i) => `jump-${i + 2}`)];
    const g = gatedWork();
    const pass = forEveryJumpHost(names, g.work);
    const outcome = pass.then(() => 'resolved', (err: Error) => err.message);
    await g.finishAll(names.length);
    assert.equal(await outcome, 'bad-1 failed');
    assert.deepEqual(g.started, names);
  });
});
