import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BLOCK_BEGIN,
  BLOCK_END,
  formatExpiryTime,
  parseAuthorizedKeys,
  renderKeyLines,
  spliceManagedBlock,
  type RenderableGrant,
} from '../../src/domain/managed-block.ts';

const NOW = Date.UTC(2026, 10, 23, 16, 0, 0);
const RUNS = Number(process.env.FC_RUNS ?? 2000);
let keys: string[] = [];
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'jit-keys-'));
  keys = ['a', 'b', 'c'].map((n) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, n)]);
    return readFileSync(join(dir, `${n}.pub`), 'utf8').split(' ').slice(0, 2).join(' ');
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const grant = (o: Partial<RenderableGrant>): RenderableGrant => ({
  id: 'rabc',
  publicKey: keys[0]!,
  address: '10.0.0.5',
  port: 22,
  expiresAt: NOW + 3_600_000,
  ...o,
});

describe('renderKeyLines', () => {
  it('renders the exact line of DESIGN.md', () => {
    const lines = renderKeyLines([grant({ id: 'r1', expiresAt: Date.UTC(2026, 10, 23, 18, 30, 0) })], NOW, 'utc');
    assert.deepEqual(lines, [`restrict,port-forwarding,permitopen="10.0.0.5:22",command="/bin/false",expiry-time="20261123183000Z" ${keys[0]} jit:r1`]);
  });

  it('merges one key’s grants into one line with every target and the earliest expiry', () => {
    const lines = renderKeyLines(
      [
        grant({ id: 'r2', address: '10.0.0.7', expiresAt: NOW + 7_200_000 }),
        grant({ id: 'r1', address: '10.0.0.5', expiresAt: NOW + 3_600_000 }),
        grant({ id: 'r3', publicKey: keys[1]!, address: '10.0.0.9', port: 2222 }),
      ],
      NOW,
      'utc',
    );
    assert.equal(lines.length, 2);
    const mine = lines.find((l) => l.includes(keys[0]!))!;
    assert.equal(mine, `restrict,port-forwarding,permitopen="10.0.0.5:22",permitopen="10.0.0.7:22",command="/bin/false",expiry-time="${formatExpiryTime(NOW + 3_600_000, 'utc')}" ${keys[0]} jit:r1,r2`);
    assert.ok(lines.some((l) => l.includes('permitopen="10.0.0.9:2222"') && l.endsWith(`${keys[1]} jit:r3`)));
  });

  it('never renders an expired grant, even if it is still in the store', () => {
    assert.deepEqual(renderKeyLines([grant({ expiresAt: NOW })], NOW, 'utc'), []);
    assert.deepEqual(renderKeyLines([grant({ expiresAt: NOW - 1 })], NOW, 'utc'), []);
    assert.equal(renderKeyLines([grant({ expiresAt: NOW + 1 })], NOW, 'utc').length, 1);
  });

  it('writes local time without Z for old servers, or no expiry at all', () => {
    const [local] = renderKeyLines([grant({ expiresAt: Date.UTC(2026, 0, 2, 3, 4, 5) })], NOW - 1e11, 'local');
    assert.match(local!, /expiry-time="20260102030405" /);
    const [none] = renderKeyLines([grant({})], NOW, 'none');
    assert.doesNotMatch(none!, /expiry-time/);
  });

  it('brackets IPv6 targets and rounds expiry down to the second', () => {
    const [line] = renderKeyLines([grant({ address: 'fd00::5', expiresAt: Date.UTC(2026, 10, 23, 18, 30, 0, 999) })], NOW, 'utc');
    assert.match(line!, /permitopen="\[fd00::5\]:22"/);
    assert.match(line!, /expiry-time="20261123183000Z"/);
  });

  it('refuses to render anything that could break the line', () => {
    assert.throws(() => renderKeyLines([grant({ id: 'r1 evil' })], NOW, 'utc'));
    assert.throws(() => renderKeyLines([grant({ id: 'r1\nssh-ed25519 AAAA' })], NOW, 'utc'));
    assert.throws(() => renderKeyLines([grant({ publicKey: `${keys[0]} comment` })], NOW, 'utc'));
    assert.throws(() => renderKeyLines([grant({ publicKey: 'command="sh" ssh-ed25519 AAAA' })], NOW, 'utc'));
    assert.throws(() => renderKeyLines([grant({ address: '10.0.0.5",command="sh' })], NOW, 'utc'));
    assert.throws(() => renderKeyLines([grant({ port: 0 })], NOW, 'utc'));
    assert.throws(() => renderKeyLines([grant({ port: 70000 })], NOW, 'utc'));
  });
});

describe('spliceManagedBlock', () => {
  const outside = 'ssh-ed25519 AAAAbroker broker\n# a comment\n';
  it('appends a block to a file that has none and keeps the rest byte for byte', () => {
    const out = spliceManagedBlock(outside, ['L1']);
    assert.equal(out, `${outside}${BLOCK_BEGIN}\nL1\n${BLOCK_END}\n`);
    assert.equal(spliceManagedBlock('no-newline', ['L1']), `no-newline\n${BLOCK_BEGIN}\nL1\n${BLOCK_END}\n`);
    assert.equal(spliceManagedBlock('', ['L1']), `${BLOCK_BEGIN}\nL1\n${BLOCK_END}\n`);
  });

  it('replaces only the block, keeping lines before and after it', () => {
    const file = `before\n${BLOCK_BEGIN}\nold1\nold2\n${BLOCK_END}\nafter\n`;
    assert.equal(spliceManagedBlock(file, ['new']), `before\n${BLOCK_BEGIN}\nnew\n${BLOCK_END}\nafter\n`);
    assert.equal(spliceManagedBlock(file, []), `before\n${BLOCK_BEGIN}\n${BLOCK_END}\nafter\n`);
  });

  it('changes nothing when there is nothing to render and no block', () => {
    assert.equal(spliceManagedBlock(outside, []), outside);
  });

  it('rebuilds one clean block from broken markers, dropping every stale managed line', () => {
    const stale = `restrict,port-forwarding,permitopen="10.0.0.5:22" ${keys[0]} jit:rold`;
    for (const broken of [
      `keep\n${BLOCK_BEGIN}\n${stale}\n`,
      `keep\n${BLOCK_BEGIN}\n${stale}\n${BLOCK_BEGIN}\n${stale}\n${BLOCK_END}\n`,
      `keep\n${BLOCK_END}\n${stale}\n${BLOCK_BEGIN}\n`,
    ]) {
      const parsed = parseAuthorizedKeys(broken);
      assert.equal(parsed.damaged, true);
      const out = spliceManagedBlock(broken, ['new']);
      assert.equal(out, `keep\n${BLOCK_BEGIN}\nnew\n${BLOCK_END}\n`, JSON.stringify(broken));
    }
  });
});

describe('property: whatever the grants and the surrounding file, the block says exactly what is active', () => {
  const outsideLine = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\n') && !s.includes('jit-jump managed block') && !s.includes(' jit:r'));
  const grants = fc.array(
    fc.record({
      id: fc.stringMatching(/^r[a-z0-9]{3,10}$/),
      key: fc.integer({ min: 0, max: 2 }),
      address: fc.constantFrom('10.0.0.5', '10.0.0.7', 'db.internal', 'fd00::1'),
      port: fc.integer({ min: 1, max: 65535 }),
      offset: fc.integer({ min: -3_600_000, max: 3_600_000 }),
    }),
    { maxLength: 12 },
  );

  it('holds for generated inputs', () => {
    fc.assert(
      fc.property(fc.array(outsideLine, { maxLength: 5 }), fc.array(outsideLine, { maxLength: 5 }), grants, (beforeLines, afterLines, gs) => {
        const unique = [...new Map(gs.map((g) => [g.id, g])).values()];
        const rendered: RenderableGrant[] = unique.map((g) => ({ id: g.id, publicKey: keys[g.key]!, address: g.address, port: g.port, expiresAt: NOW + g.offset }));
        const existing = [...beforeLines, BLOCK_BEGIN, 'stale line jit:rstale', BLOCK_END, ...afterLines].join('\n') + '\n';
        const out = spliceManagedBlock(existing, renderKeyLines(rendered, NOW, 'utc'));
        const parsed = parseAuthorizedKeys(out);
        assert.deepEqual(parsed.before, beforeLines);
        assert.deepEqual(parsed.after, afterLines);
        const active = rendered.filter((g) => g.expiresAt > NOW);
        const activeKeys = new Set(active.map((g) => g.publicKey));
        assert.equal(parsed.block!.length, activeKeys.size);
        for (const line of parsed.block!) {
          const m = /^(\S+) (ssh-ed25519 [A-Za-z0-9+/=]+) jit:([a-z0-9,]+)$/.exec(line);
          assert.ok(m, line);
          const [, options, key, ids] = m;
          const mine = active.filter((g) => g.publicKey === key);
          assert.deepEqual(ids!.split(',').sort(), mine.map((g) => g.id).sort());
          const targets = [...options!.matchAll(/permitopen="([^"]+)"/g)].map((x) => x[1]).sort();
          const expected = [...new Set(mine.map((g) => `${g.address.includes(':') ? `[${g.address}]` : g.address}:${g.port}`))].sort();
          assert.deepEqual(targets, expected);
          assert.ok(options!.startsWith('restrict,port-forwarding,'));
          assert.ok(options!.includes('command="/bin/false"'));
          const expiry = /expiry-time="(\d{14})Z"/.exec(options!)?.[1];
          assert.equal(expiry, formatExpiryTime(Math.min(...mine.map((g) => g.expiresAt)), 'utc').slice(0, 14));
        }
      }),
      { numRuns: RUNS },
    );
  });
});
