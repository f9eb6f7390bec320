import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import sshpk from 'sshpk';
import { renderableGrants } from '../../src/domain/desired-block.ts';
import { randomRequestId, REQUEST_ID_PATTERN } from '../../src/domain/ids.ts';
import { BLOCK_BEGIN, BLOCK_END, blockBeginLine, blockGeneration, type ExpiryFormat, formatExpiryTime, isBlockMarker, isRenderedKeyLine, parseAuthorizedKeys, type RenderableGrant, renderInFormats, renderKeyLines, spliceManagedBlock, splitRenderable } from '../../src/domain/managed-block.ts';
import { FC_RUNS, generateKeys, request, samplePolicy } from './fixtures.ts';

describe('managed-block', () => {
  const NOW = Date.UTC(2026, 10, 23, 16, 0, 0);
  const HOUR = 3_600_000;

  let keys: string[] = [];
  let dir = '';
  let cleanup = () => {};

  before(async () => {
    const generated = await generateKeys([
      { name: 'a', args: ['-t', 'ed25519'] },
      { name: 'b', args: ['-t', 'ed25519'] },
      { name: 'c', args: ['-t', 'ed25519'] },
      { name: 'e', args: ['-t', 'ecdsa', '-b', '256'] },
      { name: 'r', args: ['-t', 'rsa', '-b', '2048'] },
    ]);
    keys = ['a', 'b', 'c', 'e', 'r'].map((n) => generated.keys.get(n)!.line);
    dir = generated.dir;
    cleanup = generated.cleanup;
  });
  after(() => cleanup());

  const key = (i: number) => keys[i]!;
  const grant = (o: Partial<RenderableGrant> = {}): RenderableGrant => ({
    id: 'rabc',
    publicKey: key(0),
    address: '10.0.0.5',
    port: 22,
    expiresAt: NOW + HOUR,
    ...o,
  });

  /** Splits an authorized_keys line the way sshd does: options (commas outside quotes) up to the first unquoted blank, key type, base64, comment. */
  function parseKeyLine(line: string): { options: string[]; type: string; blob: string; comment: string } {
    let i = 0;
    let quoted = false;
    const options: string[] = [];
    let current = '';
    for (; i < line.length; i++) {
      const ch = line[i]!;
      if (ch === '"') quoted = !quoted;
      if (!quoted && ch === ',') {
        options.push(current);
        current = '';
      } else if (!quoted && (ch === ' ' || ch === '\t')) break;
      else current += ch;
    }
    assert.equal(quoted, false, `unbalanced quotes in ${line}`);
    options.push(current);
    const [type = '', blob = '', ...comment] = line.slice(i + 1).split(' ');
    return { options, type, blob, comment: comment.join(' ') };
  }

  describe('formatExpiryTime', () => {
    it('writes YYYYMMDDHHMMSS in UTC, with Z for sshd ≥ 9.1 and without for older servers', () => {
      const t = Date.UTC(2026, 10, 23, 18, 30, 0);
      assert.equal(formatExpiryTime(t, 'utc'), '20261123183000Z');
      assert.equal(formatExpiryTime(t, 'local'), '20261123183000');
      assert.equal(formatExpiryTime(Date.UTC(2027, 0, 2, 3, 4, 5), 'utc'), '20270102030405Z');
    });

    it('rounds down to the second so sshd never honours a key past its grant', () => {
      assert.equal(formatExpiryTime(Date.UTC(2026, 10, 23, 18, 30, 0, 999), 'utc'), '20261123183000Z');
      assert.equal(formatExpiryTime(Date.UTC(2026, 11, 31, 23, 59, 59, 999), 'utc'), '20261231235959Z');
    });

    it('refuses instants it cannot write as 14 digits instead of producing a malformed option', () => {
      assert.equal(formatExpiryTime(Date.UTC(9999, 11, 31, 23, 59, 59), 'utc'), '99991231235959Z');
      assert.throws(() => formatExpiryTime(Date.UTC(10000, 0, 1), 'utc'), /refusing to render expiry-time/);
      assert.throws(() => formatExpiryTime(Number.NaN, 'utc'));
      assert.throws(() => formatExpiryTime(Number.POSITIVE_INFINITY, 'local'));
      assert.throws(() => formatExpiryTime(Date.parse('-000001-01-01T00:00:00Z'), 'utc'), /refusing to render expiry-time/);
      assert.throws(() => formatExpiryTime(8.64e15 + 1000, 'utc'), /refusing to render expiry-time/);
      assert.equal(formatExpiryTime(Date.parse('0005-01-01T00:00:00Z'), 'local'), '00050101000000');
    });

    it('writes what the ISO form of the instant, cut to whole seconds, says: for any instant from year 0 to 9999', () => {
      const iso = (t: number) => new Date(Math.floor(t / 1000) * 1000).toISOString().slice(0, 19).replace(/[-T:]/g, '');
      fc.assert(
        fc.property(fc.integer({ min: Date.parse('0000-01-01T00:00:00Z'), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), (t) => {
          assert.equal(formatExpiryTime(t, 'local'), iso(t));
          assert.equal(formatExpiryTime(t, 'utc'), `${iso(t)}Z`);
        }),
        { numRuns: FC_RUNS },
      );
    });
  });

  describe('renderKeyLines', () => {
    it('renders exactly the line shape of DESIGN.md', () => {
      const lines = renderKeyLines(
        [
          grant({ id: 'r2', address: '10.0.0.7', expiresAt: Date.UTC(2026, 10, 23, 19, 0, 0) }),
          grant({ id: 'r1', address: '10.0.0.5', expiresAt: Date.UTC(2026, 10, 23, 18, 30, 0) }),
        ],
        NOW,
        'utc',
      );
      assert.deepEqual(lines, [
        `restrict,port-forwarding,permitopen="10.0.0.5:22",permitopen="10.0.0.7:22",command="/bin/false",expiry-time="20261123183000Z" ${key(0)} jit:r1,r2`,
      ]);
    });

    it('renders one grant as one line with one permitopen', () => {
      assert.deepEqual(renderKeyLines([grant({ id: 'r1', port: 2222 })], NOW, 'utc'), [
        `restrict,port-forwarding,permitopen="10.0.0.5:2222",command="/bin/false",expiry-time="${formatExpiryTime(NOW + HOUR, 'utc')}" ${key(0)} jit:r1`,
      ]);
    });

    it('merges every grant of one key into one line; other keys get their own line', () => {
      const lines = renderKeyLines(
        [
          grant({ id: 'r3', publicKey: key(1), address: '10.0.0.9', port: 2222, expiresAt: NOW + 3 * HOUR }),
          grant({ id: 'r2', address: '10.0.0.7', expiresAt: NOW + 2 * HOUR }),
          grant({ id: 'r1', address: '10.0.0.5', expiresAt: NOW + HOUR }),
          grant({ id: 'r4', publicKey: key(4), address: 'db.internal', expiresAt: NOW + 5 * HOUR }),
        ],
        NOW,
        'utc',
      );
      assert.equal(lines.length, 3);
      assert.equal(new Set(lines.map((l) => parseKeyLine(l).blob)).size, 3, 'no key on two lines (sshd uses the first match only)');
      const mine = lines.find((l) => l.includes(key(0)))!;
      assert.match(mine, /permitopen="10\.0\.0\.5:22",permitopen="10\.0\.0\.7:22"/);
      assert.match(mine, new RegExp(`expiry-time="${formatExpiryTime(NOW + HOUR, 'utc')}"`));
      assert.ok(mine.endsWith(' jit:r1,r2'));
      assert.ok(lines.some((l) => l.endsWith(`${key(1)} jit:r3`) && l.includes('permitopen="10.0.0.9:2222"')));
      assert.ok(lines.some((l) => l.endsWith(`${key(4)} jit:r4`) && l.includes('permitopen="db.internal:22"')));
    });

    it('takes the earliest expiry of a key’s grants, wherever it stands in the input', () => {
      const expiries = [NOW + 5 * HOUR, NOW + 90_000, NOW + 2 * HOUR];
      for (let shift = 0; shift < expiries.length; shift++) {
        const rotated = [...expiries.slice(shift), ...expiries.slice(0, shift)];
        const [line] = renderKeyLines(rotated.map((expiresAt, i) => grant({ id: `r${i}`, address: `10.0.0.${i + 1}`, expiresAt })), NOW, 'utc');
        assert.match(line!, new RegExp(`expiry-time="${formatExpiryTime(NOW + 90_000, 'utc')}"`));
      }
    });

    it('lists one permitopen per distinct target, and every grant id in the comment', () => {
      const [line] = renderKeyLines([grant({ id: 'r1' }), grant({ id: 'r2' })], NOW, 'utc');
      assert.equal(line!.match(/permitopen=/g)!.length, 1);
      assert.ok(line!.endsWith(' jit:r1,r2'));
    });

    it('does not depend on the order of the grants', () => {
      const gs = [
        grant({ id: 'r1', address: '10.0.0.5' }),
        grant({ id: 'r2', publicKey: key(1), address: '10.0.0.6' }),
        grant({ id: 'r3', address: '10.0.0.7', expiresAt: NOW + 2 * HOUR }),
        grant({ id: 'r4', publicKey: key(2), address: 'fd00::1' }),
      ];
      const expected = renderKeyLines(gs, NOW, 'utc');
      assert.deepEqual(renderKeyLines([...gs].reverse(), NOW, 'utc'), expected);
      assert.deepEqual(renderKeyLines([gs[2]!, gs[0]!, gs[3]!, gs[1]!], NOW, 'utc'), expected);
    });

    it('never renders a grant whose expiry has passed (expiresAt <= now), even if the store still has it', () => {
      assert.deepEqual(renderKeyLines([grant({ expiresAt: NOW })], NOW, 'utc'), []);
      assert.deepEqual(renderKeyLines([grant({ expiresAt: NOW - 1 })], NOW, 'utc'), []);
      assert.equal(renderKeyLines([grant({ expiresAt: NOW + 1 })], NOW, 'utc').length, 1);
      assert.deepEqual(renderKeyLines([], NOW, 'utc'), []);
      // an expired grant of a key that has another, live grant: only the live one stands on the line
      const [line] = renderKeyLines(
        [grant({ id: 'rold', address: '10.0.0.99', expiresAt: NOW - HOUR }), grant({ id: 'rnew', address: '10.0.0.5', expiresAt: NOW + HOUR })],
        NOW,
        'utc',
      );
      assert.ok(!line!.includes('10.0.0.99') && !line!.includes('rold'), line);
      assert.match(line!, new RegExp(`expiry-time="${formatExpiryTime(NOW + HOUR, 'utc')}"`));
      // with 'none' an expired grant is still left out: nothing else would end it
      assert.deepEqual(renderKeyLines([grant({ expiresAt: NOW - 1 })], NOW, 'none'), []);
    });

    it('renders several formats at once exactly as one at a time (the lines a sync records before it writes)', () => {
      const gs = [
        grant({ id: 'r1', expiresAt: NOW + 2 * HOUR }),
        grant({ id: 'r2', address: '10.0.0.7', expiresAt: NOW + HOUR + 1500 }),
        grant({ id: 'r3', publicKey: key(1), port: 2222 }),
        grant({ id: 'r4', publicKey: key(3), expiresAt: NOW - 1 }),
        grant({ id: 'r5', publicKey: key(4), expiresAt: NOW + 30_000 }),
      ];
      const formats = ['none', 'utc', 'local', 'utc'] as const;
      const all = renderInFormats(gs, NOW, formats);
      assert.deepEqual(all, formats.map((f) => renderKeyLines(gs, NOW, f)));
      assert.equal(all[1]!.length, 3);
      assert.ok(all[1]!.every((l, i) => l === all[2]![i]!.replace(/(expiry-time="\d{14})"/, '$1Z"')), all.join('\n'));
      assert.ok(all[0]!.every((l) => !l.includes('expiry-time')));
      assert.deepEqual(renderInFormats(gs, NOW, []), []);
    });

    it("writes local time without Z for 'local' and no expiry-time at all for 'none'", () => {
      const t = Date.UTC(2026, 10, 23, 18, 30, 0);
      const [utc] = renderKeyLines([grant({ id: 'r1', expiresAt: t })], NOW, 'utc');
      const [local] = renderKeyLines([grant({ id: 'r1', expiresAt: t })], NOW, 'local');
      const [none] = renderKeyLines([grant({ id: 'r1', expiresAt: t })], NOW, 'none');
      assert.equal(local, utc!.replace('20261123183000Z', '20261123183000'));
      assert.match(local!, /,expiry-time="20261123183000" /);
      assert.equal(none, `restrict,port-forwarding,permitopen="10.0.0.5:22",command="/bin/false" ${key(0)} jit:r1`);
    });

    it('brackets IPv6 targets (sshd splits host:port at the first colon otherwise), once', () => {
      const [bare] = renderKeyLines([grant({ address: 'fd00::5' })], NOW, 'utc');
      assert.match(bare!, /permitopen="\[fd00::5\]:22"/);
      const [bracketed] = renderKeyLines([grant({ address: '[fd00::5]', port: 2222 })], NOW, 'utc');
      assert.match(bracketed!, /permitopen="\[fd00::5\]:2222"/);
      const [mapped] = renderKeyLines([grant({ address: '::ffff:10.0.0.5' })], NOW, 'utc');
      assert.match(mapped!, /permitopen="\[::ffff:10\.0\.0\.5\]:22"/);
    });

    it('renders ed25519, ECDSA and RSA keys', () => {
      const lines = renderKeyLines([0, 3, 4].map((i) => grant({ id: `r${i}`, publicKey: key(i) })), NOW, 'utc');
      assert.deepEqual(lines.map((l) => parseKeyLine(l).type).sort(), ['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    });

    it('produces lines that OpenSSH itself reads as options + the same key + the jit comment', () => {
      const gs = [0, 1, 3, 4].map((i) => grant({ id: `r${i}`, publicKey: key(i), address: i % 2 ? 'fd00::9' : '10.0.0.5' }));
      const lines = renderKeyLines(gs, NOW, 'utc');
      const file = join(dir, 'authorized_keys');
      writeFileSync(file, spliceManagedBlock('', lines));
      const listed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).trim().split('\n');
      assert.equal(listed.length, 4);
      for (const i of [0, 1, 3, 4]) {
        writeFileSync(join(dir, 'one.pub'), `${key(i)}\n`);
        const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'one.pub')], { encoding: 'utf8' }).split(' ')[1]!;
        assert.ok(listed.some((l) => l.includes(` ${fp} jit:r${i} `)), `${fp} jit:r${i} in\n${listed.join('\n')}`);
      }
    });

    describe('refuses hostile or malformed values instead of rendering them', () => {
      const cases: [string, Partial<RenderableGrant>][] = [
        ['id with a blank', { id: 'r1 evil' }],
        ['id with a newline and a key', { id: 'r1\nssh-ed25519 AAAA' }],
        ['id with a comma', { id: 'r1,r2' }],
        ['id with a quote', { id: 'r1"' }],
        ['upper-case id', { id: 'R1' }],
        ['empty id', { id: '' }],
        ['id over 40 characters', { id: `r${'a'.repeat(40)}` }],
        ['key with a comment', { publicKey: `${'KEY0'} comment` }],
        ['key with options in front', { publicKey: `command="sh" ${'KEY0'}` }],
        ['key with a newline', { publicKey: `${'KEY0'}\nssh-ed25519 AAAA` }],
        ['key with a trailing blank', { publicKey: `${'KEY0'} ` }],
        ['DSA key', { publicKey: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP' }],
        ['certificate', { publicKey: 'ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQ' }],
        ['type only', { publicKey: 'ssh-ed25519' }],
        ['empty key', { publicKey: '' }],
        ['base64 with a quote', { publicKey: 'ssh-ed25519 AAAA"' }],
        ['address closing the quote', { address: '10.0.0.5",command="sh' }],
        ['address with a comma', { address: '10.0.0.5,10.0.0.6' }],
        ['address with a blank', { address: '10.0.0.5 x' }],
        ['address with a newline', { address: '10.0.0.5\nssh-ed25519 AAAA' }],
        ['empty address', { address: '' }],
        ['half-bracketed IPv6', { address: '[fd00::5' }],
        ['address starting with a dash', { address: '-oProxyCommand=x' }],
        ['port 0', { port: 0 }],
        ['port 65536', { port: 65_536 }],
        ['negative port', { port: -22 }],
        ['fractional port', { port: 22.5 }],
        ['NaN port', { port: Number.NaN }],
        ['NaN expiry', { expiresAt: Number.NaN }],
        ['infinite expiry', { expiresAt: Number.POSITIVE_INFINITY }],
      ];
      for (const format of ['utc', 'local', 'none'] as const)
        it(`(${format})`, () => {
          for (const [what, o] of cases) {
            const g = grant(o);
            if (typeof o.publicKey === 'string') g.publicKey = o.publicKey.replaceAll('KEY0', key(0));
            assert.throws(() => renderKeyLines([grant({ id: 'rgood', publicKey: key(1) }), g], NOW, format), /refusing to render/, what);
          }
        });

      it('accepts the edges of the allowed values', () => {
        const lines = renderKeyLines(
          [
            grant({ id: 'a', port: 1 }),
            grant({ id: `r${'z'.repeat(39)}`, port: 65_535, address: 'host-1.example.com' }),
            grant({ id: 'r-with-dash-9', address: '[::1]' }),
          ],
          NOW,
          'utc',
        );
        assert.equal(lines.length, 1);
        assert.match(lines[0]!, /permitopen="10\.0\.0\.5:1"/);
        assert.match(lines[0]!, /permitopen="host-1\.example\.com:65535"/);
        assert.match(lines[0]!, /permitopen="\[::1\]:22"/);
      });
    });
  });

  describe('splitRenderable', () => {
    it('leaves out only the grants the renderer refuses, naming each with the reason, so the others still render', () => {
      const good = [grant({ id: 'r1' }), grant({ id: 'r2', publicKey: key(1) })];
      const bad = [
        grant({ id: 'rfar', expiresAt: Date.UTC(10000, 0, 1) }), // from a 3000000d maximum
        grant({ id: 'rnan', expiresAt: Number.NaN }),
        grant({ id: 'rkey', publicKey: 'ssh-ed25519 AAAA"' }),
        grant({ id: 'R bad' }),
      ];
      assert.throws(() => renderKeyLines([...good, ...bad], NOW, 'utc'), /refusing to render/);
      const { renderable, unrenderable } = splitRenderable([bad[0]!, good[0]!, ...bad.slice(1), good[1]!], NOW);
      assert.deepEqual(renderable, good);
      assert.deepEqual(unrenderable.map((u) => u.id), ['rfar', 'rnan', 'rkey', 'R bad']);
      for (const u of unrenderable) assert.match(u.reason, /refusing to render/);
      assert.equal(renderKeyLines(renderable, NOW, 'utc').length, 2);
    });

    it('refuses exactly the grants that some expiry format would refuse to render (checked once, not rendered thrice)', () => {
      const value = <T>(ok: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ arbitrary: ok, weight: 4 }, { arbitrary: odd, weight: 1 });
      const grantArb = fc.record({
        id: value(fc.stringMatching(/^[a-z0-9-]{1,40}$/), fc.string({ maxLength: 42 })),
        publicKey: value(fc.integer({ min: 0, max: 4 }).map(key), fc.string({ maxLength: 20 })),
        address: value(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), fc.string({ maxLength: 12 })),
        port: value(fc.integer({ min: 1, max: 65_535 }), fc.oneof(fc.integer(), fc.double())),
        expiresAt: value(fc.integer({ min: NOW - HOUR, max: NOW + 8 * HOUR }), fc.oneof(fc.double(), fc.constant(Date.UTC(10000, 0, 1)), fc.constant(8.64e15 + 1))),
      });
      fc.assert(
        fc.property(grantArb, (g) => {
          const refusedByOne = (['utc', 'local', 'none'] as const).some((f) => {
            try {
              renderKeyLines([g], NOW, f);
              return false;
            } catch {
              return true;
            }
          });
          const { renderable, unrenderable } = splitRenderable([g], NOW);
          assert.equal(unrenderable.length === 1, refusedByOne, JSON.stringify(g));
          assert.equal(renderable.length === 1, !refusedByOne);
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('checks every expiry format: a grant that renders only without expiry-time is still refused', () => {
      const { unrenderable } = splitRenderable([grant({ id: 'rfar', expiresAt: Date.UTC(10000, 0, 1) })], NOW);
      assert.equal(renderKeyLines([grant({ id: 'rfar', expiresAt: Date.UTC(10000, 0, 1) })], NOW, 'none').length, 1);
      assert.deepEqual(unrenderable.map((u) => u.id), ['rfar']);
    });
  });

  describe('parseAuthorizedKeys', () => {
    it('splits a file into before, block and after', () => {
      assert.deepEqual(parseAuthorizedKeys(`a\nb\n${BLOCK_BEGIN}\nk1\nk2\n${BLOCK_END}\nc\n`), {
        before: ['a', 'b'],
        block: ['k1', 'k2'],
        after: ['c'],
        damaged: false,
      });
      assert.deepEqual(parseAuthorizedKeys(`${BLOCK_BEGIN}\n${BLOCK_END}`), { before: [], block: [], after: [], damaged: false });
    });

    it('reports no block for a file without markers, and an empty file as empty', () => {
      assert.deepEqual(parseAuthorizedKeys('a\nb\n'), { before: ['a', 'b'], block: undefined, after: [], damaged: false });
      assert.deepEqual(parseAuthorizedKeys(''), { before: [], block: undefined, after: [], damaged: false });
    });

    it('does not take near-miss lines for markers', () => {
      for (const nearMiss of ['# BEGIN jit-jump managed block', `${BLOCK_BEGIN} (copy)`, `#${BLOCK_BEGIN}`, BLOCK_BEGIN.toUpperCase()]) {
        const p = parseAuthorizedKeys(`${nearMiss}\nx\n`);
        assert.equal(p.block, undefined, nearMiss);
        assert.equal(p.damaged, false);
      }
    });

    it('recognises the markers in a file converted to CRLF', () => {
      const p = parseAuthorizedKeys(`a\r\n${BLOCK_BEGIN}\r\nold jit:rold\r\n${BLOCK_END}\r\nb\r\n`);
      assert.deepEqual(p, { before: ['a\r'], block: ['old jit:rold\r'], after: ['b\r'], damaged: false });
    });

    it('reads a BEGIN marker with a generation (the fencing token) as the same marker; old files without one still parse', () => {
      const begin = blockBeginLine(42);
      assert.equal(begin, '# BEGIN jit-jump managed block: do not edit (generation 42)');
      assert.deepEqual(parseAuthorizedKeys(`a\n${begin}\nk1\n${BLOCK_END}\nb\n`), { before: ['a'], block: ['k1'], after: ['b'], damaged: false });
      assert.deepEqual(parseAuthorizedKeys(`a\r\n${begin}\r\nk1\r\n${BLOCK_END}\r\n`).block, ['k1\r']);
      assert.equal(blockGeneration(`a\n${begin}\nk1\n${BLOCK_END}\n`), 42);
      assert.equal(blockGeneration(`a\n${BLOCK_BEGIN}\nk1\n${BLOCK_END}\n`), undefined);
      // damaged files: the highest generation any BEGIN carries, so a fenced write never undercuts one
      assert.equal(blockGeneration(`${blockBeginLine(7)}\n${BLOCK_END}\n${blockBeginLine(9)}\n`), 9);
      assert.equal(parseAuthorizedKeys(`${blockBeginLine(7)}\n${blockBeginLine(9)}\n${BLOCK_END}\n`).damaged, true);
      for (const nearMiss of [`${BLOCK_BEGIN} (generation )`, `${BLOCK_BEGIN} (generation -1)`, `${BLOCK_BEGIN} (generation 1) x`, `${BLOCK_BEGIN}(generation 1)`, `${BLOCK_BEGIN} (generation 1e3)`]) {
        assert.equal(parseAuthorizedKeys(`${nearMiss}\nx\n`).block, undefined, nearMiss);
        assert.equal(blockGeneration(nearMiss), undefined, nearMiss);
        assert.equal(isBlockMarker(nearMiss), false, nearMiss);
      }
      assert.ok(isBlockMarker(` ${begin}\r`) && isBlockMarker(BLOCK_BEGIN) && isBlockMarker(BLOCK_END));
      assert.throws(() => blockBeginLine(-1), /refusing to render generation/);
      assert.throws(() => blockBeginLine(1.5), /refusing to render generation/);
    });

    it('flags markers that do not pair up as damaged', () => {
      for (const broken of [
        `${BLOCK_BEGIN}\nx\n`,
        `x\n${BLOCK_END}\n`,
        `${BLOCK_END}\nx\n${BLOCK_BEGIN}\n`,
        `${BLOCK_BEGIN}\n${BLOCK_BEGIN}\n${BLOCK_END}\n`,
        `${BLOCK_BEGIN}\n${BLOCK_END}\n${BLOCK_END}\n`,
        `${BLOCK_BEGIN}\n${BLOCK_END}\n${BLOCK_BEGIN}\n${BLOCK_END}\n`,
      ])
        assert.equal(parseAuthorizedKeys(broken).damaged, true, JSON.stringify(broken));
    });
  });

  describe('spliceManagedBlock', () => {
    const outside = 'from="192.0.2.1",restrict ssh-ed25519 AAAAbroker broker@jit\n# a comment\n';
    const block = (...lines: string[]) => `${BLOCK_BEGIN}\n${lines.map((l) => `${l}\n`).join('')}${BLOCK_END}\n`;

    it('appends a block to a file that has none, keeping everything before byte for byte', () => {
      assert.equal(spliceManagedBlock(outside, ['L1', 'L2']), `${outside}${block('L1', 'L2')}`);
      assert.equal(spliceManagedBlock('', ['L1']), block('L1'));
    });

    it('adds the missing newline of a file that does not end with one before the block', () => {
      assert.equal(spliceManagedBlock('ssh-ed25519 AAAAbroker broker', ['L1']), `ssh-ed25519 AAAAbroker broker\n${block('L1')}`);
    });

    it('keeps blank lines, trailing blanks and CRLF lines outside the block as they are', () => {
      const odd = 'a\r\n\n  indented  \n\t\n';
      assert.equal(spliceManagedBlock(odd, ['L1']), `${odd}${block('L1')}`);
      assert.equal(spliceManagedBlock(`${odd}${block('old')}${odd}`, ['new']), `${odd}${block('new')}${odd}`);
    });

    it('replaces only the block, keeping lines before and after it byte for byte', () => {
      const file = `before 1\nbefore 2\n${block('old1', 'old2')}after 1\n\nafter 2\n`;
      assert.equal(spliceManagedBlock(file, ['new']), `before 1\nbefore 2\n${block('new')}after 1\n\nafter 2\n`);
      assert.equal(spliceManagedBlock(file, ['n1', 'n2', 'n3']), `before 1\nbefore 2\n${block('n1', 'n2', 'n3')}after 1\n\nafter 2\n`);
    });

    it('writes the generation it is given into the BEGIN marker, replacing an older one, and keeps the rest', () => {
      const file = `before\n${blockBeginLine(3)}\nold\n${BLOCK_END}\nafter\n`;
      assert.equal(spliceManagedBlock(file, ['new'], { generation: 4 }), `before\n${blockBeginLine(4)}\nnew\n${BLOCK_END}\nafter\n`);
      assert.equal(spliceManagedBlock('x\n', ['L1'], { generation: 1 }), `x\n${blockBeginLine(1)}\nL1\n${BLOCK_END}\n`);
      // without one, the plain marker of DESIGN.md
      assert.equal(spliceManagedBlock(file, ['new']), `before\n${block('new')}after\n`);
    });

    it('keeps empty markers when the block becomes empty', () => {
      const file = `before\n${block('old')}after\n`;
      assert.equal(spliceManagedBlock(file, []), `before\n${BLOCK_BEGIN}\n${BLOCK_END}\nafter\n`);
    });

    it('returns the file unchanged when there is nothing to render and no block', () => {
      assert.equal(spliceManagedBlock(outside, []), outside);
      assert.equal(spliceManagedBlock('', []), '');
      assert.equal(spliceManagedBlock('no newline', []), 'no newline');
    });

    it('handles a block at the very end of a file without a trailing newline', () => {
      assert.equal(spliceManagedBlock(`x\n${BLOCK_BEGIN}\nold\n${BLOCK_END}`, ['new']), `x\n${block('new')}`);
      assert.equal(spliceManagedBlock(`x\n${block('old')}y`, ['new']), `x\n${block('new')}y\n`);
    });

    it('is idempotent: splicing the same lines again changes nothing', () => {
      for (const file of ['', outside, 'no newline', `a\n${block('old')}b`]) {
        const once = spliceManagedBlock(file, ['L1', 'L2']);
        assert.equal(spliceManagedBlock(once, ['L1', 'L2']), once);
        const emptied = spliceManagedBlock(once, []);
        assert.equal(spliceManagedBlock(emptied, []), emptied);
      }
    });

    it('replaces the block of a CRLF file instead of leaving its old keys outside a new one', () => {
      const stale = `restrict,port-forwarding,permitopen="10.0.0.5:22",command="/bin/false" ssh-ed25519 AAAAstale jit:rold`;
      const crlf = `broker-key\r\n${BLOCK_BEGIN}\r\n${stale}\r\n${BLOCK_END}\r\nafter\r\n`;
      const out = spliceManagedBlock(crlf, ['new']);
      assert.equal(out, `broker-key\r\n${block('new')}after\r\n`);
      assert.ok(!out.includes('jit:rold'));
    });

    describe('damaged markers: one clean block, no stale jit line anywhere', () => {
      // A line the broker rendered (exact shape), for a grant that has ended.
      const stale = (id: string) => renderKeyLines([grant({ id, publicKey: key(1), expiresAt: NOW + HOUR })], NOW, 'utc')[0]!;
      const cases: [string, () => string][] = [
        ['BEGIN without END', () => `keep\n${BLOCK_BEGIN}\n${stale('rold1')}\n`],
        ['two BEGINs, one END', () => `keep\n${BLOCK_BEGIN}\n${stale('rold1')}\n${BLOCK_BEGIN}\n${stale('rold2')}\n${BLOCK_END}\n`],
        ['END before BEGIN', () => `keep\n${BLOCK_END}\n${stale('rold1')}\n${BLOCK_BEGIN}\n`],
        ['END without BEGIN', () => `keep\n${stale('rold1')}\n${BLOCK_END}\n`],
        ['two ENDs', () => `keep\n${BLOCK_BEGIN}\n${stale('rold1')}\n${BLOCK_END}\n${stale('rold2')}\n${BLOCK_END}\n`],
        ['two complete blocks', () => `keep\n${BLOCK_BEGIN}\n${stale('rold1')}\n${BLOCK_END}\n${BLOCK_BEGIN}\n${stale('rold2')}\n${BLOCK_END}\n`],
        ['CRLF BEGIN without END', () => `keep\r\n${BLOCK_BEGIN}\r\n${stale('rold1')}\r\n`],
      ];
      for (const [what, make] of cases)
        it(what, () => {
          const file = make();
          assert.equal(parseAuthorizedKeys(file).damaged, true);
          const out = spliceManagedBlock(file, ['new']);
          assert.ok(!/jit:rold/.test(out), out);
          const lines = out.split('\n');
          assert.equal(lines.filter((l) => l.trim() === BLOCK_BEGIN).length, 1);
          assert.equal(lines.filter((l) => l.trim() === BLOCK_END).length, 1);
          assert.ok(out.startsWith('keep'), out);
          assert.ok(out.endsWith(block('new')), out);
          // the repaired file is a clean one from now on
          assert.equal(parseAuthorizedKeys(out).damaged, false);
          assert.deepEqual(parseAuthorizedKeys(out).block, ['new']);
          // and an empty render still leaves a clean, empty block rather than the damage
          const emptied = spliceManagedBlock(file, []);
          assert.deepEqual(parseAuthorizedKeys(emptied).block, []);
          assert.ok(!/jit:rold/.test(emptied));
        });

      it('keeps the non-jit lines outside the broken markers', () => {
        const file = `broker-key\n# note\n${BLOCK_END}\nother-key\n${stale('rold')}\n${BLOCK_BEGIN}\n`;
        assert.equal(spliceManagedBlock(file, ['new']), `broker-key\n# note\nother-key\n${block('new')}`);
      });

      it('BEGIN without END: keeps every line after the BEGIN that the broker did not write, its own login among them', () => {
        const broker = `from="192.0.2.1",restrict ${key(2)} jit-jump-broker`;
        const bob = `${key(3)} bob@desk`;
        const file = `alice\n${BLOCK_BEGIN}\n${stale('rold1')}\n${broker}\n\n${bob}\n`;
        const parsed = parseAuthorizedKeys(file);
        assert.deepEqual(parsed, { before: ['alice', broker, '', bob], block: [], after: [], damaged: true, dropped: [stale('rold1')] });
        assert.equal(spliceManagedBlock(file, ['new']), `alice\n${broker}\n\n${bob}\n${block('new')}`);
      });

      it("keeps someone else's line that merely mentions jit:r…, and every near miss of the rendered shape", () => {
        const line = stale('rold1');
        const nearMisses = [
          `${key(3)} jit:rocket`, // a person's own comment
          `restrict ${key(3)} jit:r1`,
          line.replace('restrict,', ''),
          line.replace(',command="/bin/false"', ''),
          line.replace('command="/bin/false"', 'command="/bin/sh"'),
          line.replace(' jit:rold1', ' jit:rold1 extra'),
          line.replace(' jit:rold1', ' jit:ROLD1'),
          line.replace('permitopen="10.0.0.5:22"', 'permitopen="*:*"'),
          line.replace('permitopen="10.0.0.5:22"', 'permitopen="10.0.0.5:99999"'),
          line.replace(',expiry-time=', ',from="*",expiry-time='),
          line.replace('ssh-ed25519 ', 'ssh-rsa '), // the blob names another type
          line.replace(/ AAAA\S+/, ' AAAA!!!!'),
        ];
        for (const l of nearMisses) assert.equal(isRenderedKeyLine(l), false, l);
        const file = `${BLOCK_BEGIN}\n${nearMisses.join('\n')}\n${line}\n`;
        assert.deepEqual(parseAuthorizedKeys(file).before, nearMisses);
        assert.deepEqual(parseAuthorizedKeys(file).dropped, [line]);
      });

      it('recognises every rendered form as the broker’s: each expiry format, several grants, IPv6, CRLF, leading blanks', () => {
        const gs = [grant({ id: 'r1' }), grant({ id: 'r2', address: 'fd00::5', port: 2222 }), grant({ id: 'r3', address: 'db.internal' })];
        for (const format of ['utc', 'local', 'none'] as const)
          for (const l of renderKeyLines(gs, NOW, format)) for (const variant of [l, `${l}\r`, `  ${l}`]) assert.equal(isRenderedKeyLine(variant), true, variant);
      });

      it('drops a line whose hash the broker recorded, whatever its shape, and keeps the same line when not recorded', () => {
        const recorded = 'restrict,port-forwarding,permitopen="10.0.0.5:22" ssh-ed25519 AAAAold jit:rold';
        const file = `${BLOCK_BEGIN}\n${recorded}\nother\n`;
        assert.deepEqual(parseAuthorizedKeys(file, (l) => l === recorded).before, ['other']);
        assert.deepEqual(parseAuthorizedKeys(file).before, [recorded, 'other']);
        assert.equal(spliceManagedBlock(file, ['new'], { written: (l) => l === recorded }), `other\n${block('new')}`);
      });
    });
  });

  describe('property: whatever the grants and the surrounding file, the block says exactly what is active', () => {
    const marker = (l: string) => l.trim() === BLOCK_BEGIN || l.trim() === BLOCK_END;
    const outsideLine = fc
      .oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
        fc.constantFrom('', ' ', '\r', '# BEGIN jit-jump managed block', `${BLOCK_END} x`, `restrict ssh-ed25519 AAAAx someone jit:rfake`, 'from="1.2.3.4",restrict ssh-ed25519 AAAAbroker'),
      )
      .filter((s) => !s.includes('\n') && !marker(s));
    const outsideText = fc.tuple(fc.array(outsideLine, { maxLength: 5 }), fc.boolean()).map(([lines, trailing]) =>
      lines.length === 0 ? '' : lines.join('\n') + (trailing ? '\n' : ''),
    );
    const address = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV6().map((a) => `[${a}]`),
      fc.domain(),
      fc.constantFrom('10.0.0.5', '10.0.0.7', 'db.internal'),
    );
    const grantsArb = fc.uniqueArray(
      fc.record({
        id: fc.stringMatching(/^[a-z0-9-]{1,40}$/),
        key: fc.integer({ min: 0, max: 4 }),
        address,
        port: fc.oneof(fc.constant(22), fc.integer({ min: 1, max: 65_535 })),
        offset: fc.oneof(fc.constant(0), fc.integer({ min: -2 * HOUR, max: 2 * HOUR })),
      }),
      { maxLength: 12, selector: (g) => g.id },
    );
    const staleBlock = fc.array(fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n') && !marker(s)), { maxLength: 4 });

    it('holds for generated inputs', () => {
      fc.assert(
        fc.property(
          outsideText,
          outsideText,
          fc.option(staleBlock, { nil: undefined }),
          fc.boolean(),
          grantsArb,
          fc.constantFrom<ExpiryFormat>('utc', 'local', 'none'),
          (beforeText, afterText, existing, endsAtEnd, gs, format) => {
            const beforePart = beforeText === '' || beforeText.endsWith('\n') ? beforeText : `${beforeText}\n`;
            // The existing file: outside text with (or without) an old block holding stale lines.
            let file: string;
            if (existing === undefined) file = beforeText;
            else {
              const oldBlock = [BLOCK_BEGIN, ...existing, BLOCK_END].join('\n');
              file = afterText === '' && endsAtEnd ? `${beforePart}${oldBlock}` : `${beforePart}${oldBlock}\n${afterText}`;
            }
            const rendered: RenderableGrant[] = gs.map((g) => ({ id: g.id, publicKey: key(g.key), address: g.address, port: g.port, expiresAt: NOW + g.offset }));
            const lines = renderKeyLines(rendered, NOW, format);
            const out = spliceManagedBlock(file, lines);

            // 1. Outside text is unchanged, byte for byte (a missing final newline may be added).
            const active = rendered.filter((g) => g.expiresAt > NOW);
            if (existing === undefined && lines.length === 0) assert.equal(out, file);
            else {
              const newBlock = [BLOCK_BEGIN, ...lines, BLOCK_END].map((l) => `${l}\n`).join('');
              const afterPart = existing === undefined || afterText === '' ? '' : afterText.endsWith('\n') ? afterText : `${afterText}\n`;
              assert.equal(out, `${beforePart}${newBlock}${afterPart}`);
            }
            const parsed = parseAuthorizedKeys(out);
            assert.equal(parsed.damaged, false);
            assert.deepEqual(parsed.block ?? [], lines);

            // 2. Exactly one line per key that has an unexpired grant.
            const activeKeys = new Set(active.map((g) => g.publicKey));
            assert.equal(lines.length, activeKeys.size);
            const seenKeys = new Set<string>();
            for (const line of lines) {
              // 3. Each line is options + key + comment, built from the grants only.
              const { options, type, blob, comment } = parseKeyLine(line);
              const publicKey = `${type} ${blob}`;
              assert.ok(activeKeys.has(publicKey), line);
              assert.ok(!seenKeys.has(publicKey), 'a key on two lines');
              seenKeys.add(publicKey);
              const mine = active.filter((g) => g.publicKey === publicKey);
              assert.equal(comment, `jit:${mine.map((g) => g.id).sort().join(',')}`);
              const [first, second, ...rest] = options;
              assert.equal(first, 'restrict');
              assert.equal(second, 'port-forwarding');
              const permits = rest.filter((o) => o.startsWith('permitopen='));
              const others = rest.filter((o) => !o.startsWith('permitopen='));
              // 4. permitopen set = the key's unexpired grants' host:port set.
              const targets = permits.map((o) => /^permitopen="([^"]+)"$/.exec(o)![1]!);
              const expected = new Set(
                mine.map((g) => `${g.address.includes(':') && !g.address.startsWith('[') ? `[${g.address}]` : g.address}:${g.port}`),
              );
              assert.equal(targets.length, expected.size);
              assert.deepEqual(new Set(targets), expected);
              // 5. expiry-time = the earliest expiry among them, in the format asked for.
              const minExpiry = formatExpiryTime(Math.min(...mine.map((g) => g.expiresAt)), 'utc').slice(0, 14);
              if (format === 'none') assert.deepEqual(others, ['command="/bin/false"']);
              else assert.deepEqual(others, ['command="/bin/false"', `expiry-time="${minExpiry}${format === 'utc' ? 'Z' : ''}"`]);
            }
          },
        ),
        { numRuns: FC_RUNS },
      );
    });

    it('with damaged markers: every line the broker did not render stays, in order; none it rendered does', () => {
      const tagged = fc.oneof(
        outsideLine.map((text) => ({ kind: 'other' as const, text })),
        fc.constantFrom(BLOCK_BEGIN, BLOCK_END, `${BLOCK_BEGIN}\r`, ` ${BLOCK_END}`).map((text) => ({ kind: 'marker' as const, text })),
        grantsArb.map((gs) => {
          const lines = renderKeyLines(gs.map((g) => ({ id: g.id, publicKey: key(g.key), address: g.address, port: g.port, expiresAt: NOW + HOUR })), NOW, 'utc');
          return { kind: 'ours' as const, text: lines[0] ?? '' };
        }),
      );
      fc.assert(
        fc.property(fc.array(tagged, { maxLength: 12 }), (items) => {
          const file = items.map((i) => `${i.text}\n`).join('');
          const parsed = parseAuthorizedKeys(file);
          if (!parsed.damaged) return;
          const others = items.filter((i) => i.kind === 'other' || i.text === '').map((i) => i.text);
          assert.deepEqual(parsed.before, others);
          const out = spliceManagedBlock(file, []);
          for (const i of items) if (i.kind === 'ours' && i.text) assert.ok(!out.includes(i.text), i.text);
          assert.equal(parseAuthorizedKeys(out).damaged, false);
        }),
        { numRuns: FC_RUNS },
      );
    });
  });
});

describe('desired-block', () => {
  const policy = samplePolicy();
  const NOW = Date.UTC(2026, 10, 23, 16, 0, 0);
  const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBXbwE8pCq1+WhI8p3yUKTm4MEpoQq9sOa8Yz2F/P3Qc';
  const keyLines = new Map([
    ['U0ENG', KEY_A],
    ['U0OPS', KEY_B],
  ]);
  const active = (o: Parameters<typeof request>[0] = {}) =>
    request({ state: 'active', activatedAt: NOW - 60_000, expiresAt: NOW + 3_600_000, approvers: ['U0ALICE'], ...o });

  describe('renderableGrants', () => {
    it('joins an active grant with its owner’s current key and the policy’s address and port', () => {
      assert.deepEqual(renderableGrants(policy, [active({ id: 'r1' }), active({ id: 'r2', requester: 'U0OPS', host: 'web-1' })], keyLines), [
        { id: 'r1', publicKey: KEY_A, address: '10.0.0.5', port: 22, expiresAt: NOW + 3_600_000 },
        { id: 'r2', publicKey: KEY_B, address: '10.0.0.7', port: 2200, expiresAt: NOW + 3_600_000 },
      ]);
    });

    it('leaves out what must not get a line: not active, no expiry, no key, host gone or moved', () => {
      const grants = [
        ...(['pending', 'expired', 'revoked', 'denied', 'cancelled', 'timed-out', 'failed'] as const).map((state, i) => active({ id: `rs${i}`, state })),
        active({ id: 'rnoexp', expiresAt: undefined }),
        active({ id: 'rnokey', requester: 'U0NOKEY' }),
        active({ id: 'rgone', host: 'decommissioned' }),
        active({ id: 'rmoved', jumpHost: 'edge' }), // db-prod-1 is behind bastion in the policy
      ];
      assert.deepEqual(renderableGrants(policy, grants, keyLines), []);
    });

    it('a grant that recorded no key fingerprint (made before grants were bound to keys) uses the key registered now', () => {
      const [g] = renderableGrants(policy, [active({ id: 'r1' })], new Map([['U0ENG', KEY_B]]));
      assert.equal(g!.publicKey, KEY_B);
    });

    it('a grant bound to the approved key’s fingerprint renders with that key only, never with a replacement', () => {
      const fp = (line: string) => sshpk.parseKey(line, 'ssh').fingerprint('sha256').toString();
      const bound = active({ id: 'r1', keyFingerprint: fp(KEY_A) });
      assert.deepEqual(renderableGrants(policy, [bound], keyLines).map((g) => g.publicKey), [KEY_A]);
      assert.deepEqual(renderableGrants(policy, [bound], new Map([['U0ENG', KEY_B]])), [], 'the key changed: no line');
    });

    it('feeds renderKeyLines: one line per person, with every host they were granted', () => {
      const grants = [active({ id: 'r1' }), active({ id: 'r2', host: 'web-1', expiresAt: NOW + 600_000 }), active({ id: 'r3', requester: 'U0OPS' })];
      const lines = renderKeyLines(renderableGrants(policy, grants, keyLines), NOW, 'utc');
      assert.equal(lines.length, 2);
      const eng = lines.find((l) => l.includes(KEY_A))!;
      assert.match(eng, /permitopen="10\.0\.0\.5:22",permitopen="10\.0\.0\.7:2200"/);
      assert.ok(eng.endsWith(' jit:r1,r2'));
    });
  });
});

describe('ids', () => {
  const NOW = Date.UTC(2026, 10, 23, 16, 0, 0);
  const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

  describe('randomRequestId', () => {
    it('makes ids that BullMQ, authorized_keys and the request pattern all accept', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const id = randomRequestId();
        assert.match(id, REQUEST_ID_PATTERN);
        assert.match(id, /^r[abcdefghjkmnpqrstuvwxyz23456789]{9}$/, 'no look-alike characters (0, o, 1, l, i)');
        assert.ok(!id.includes(':') && !/^\d+$/.test(id));
        seen.add(id);
      }
      assert.equal(seen.size, 2000, 'no collisions among 2000 ids');
      // and the renderer takes them as grant ids
      assert.equal(renderKeyLines([{ id: randomRequestId(), publicKey: KEY_A, address: '10.0.0.5', port: 22, expiresAt: NOW + 1 }], NOW, 'utc').length, 1);
    });

    it('REQUEST_ID_PATTERN refuses what a user might type instead of an id', () => {
      for (const bad of ['', 'r', 'rab', 'R12345', 'x12345', 'r1234:5', 'r12345 ', `r${'a'.repeat(21)}`, '<!channel>']) assert.doesNotMatch(bad, REQUEST_ID_PATTERN, bad);
    });
  });
});
