// The broker's heap settings (src/system/heap-tuning.ts) reach the broker however it is started, and are settings
// this node has: a misspelt V8 flag is ignored without a word.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BROKER_NODE_FLAGS } from '../../src/system/heap-tuning.ts';

describe('heap tuning', () => {
  it('npm start and the image start the broker with the node flags of heap-tuning.ts', () => {
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    assert.equal(start, `node ${BROKER_NODE_FLAGS.join(' ')} bin/jit-jump.mjs start`);
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    assert.deepEqual(JSON.parse(cmd ?? '[]'), ['node', ...BROKER_NODE_FLAGS, 'dist/main.js', 'start']);
  });

  it('the flags are ones this node knows and they shrink the young generation; the growth setting is one too', () => {
    const newSpaceMb = (flags: readonly string[]) =>
      Number(
        execFileSync(process.execPath, [
          ...flags,
          '-e',
          // Enough allocation for V8 to grow the young generation to its maximum.
          "let k = []; for (let i = 0; i < 3e6; i++) { k.push({ i, s: 'x' + i }); if (k.length > 2e5) k = []; } console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1e6)",
        ]).toString(),
      );
    const tuned = newSpaceMb(BROKER_NODE_FLAGS);
    assert.ok(tuned <= 10, `young generation ${tuned} MB with ${BROKER_NODE_FLAGS.join(' ')}`);
    assert.ok(newSpaceMb([]) > 2 * tuned, 'and V8 would otherwise take more');
    assert.match(execFileSync(process.execPath, ['--v8-options']).toString(), /^ {2}--heap-growing-percent /m, 'limitHeapGrowth sets a flag V8 has');
  });
});
