import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type HostConfig, type JumpHostConfig, validatePolicy } from '../../src/config/policy.ts';
import { checkDecider, type Decision, evaluateRequest, hostRules, MAX_REASON_LENGTH } from '../../src/domain/access-policy.ts';
import { type JumpCommand, MAX_COMMAND_TEXT, parseCommand } from '../../src/domain/command.ts';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { formatDuration, looksLikeDuration, parseDuration } from '../../src/domain/duration.ts';
import type { RefusalDetail } from '../../src/domain/result.ts';
import {
  ACTIVE_STATE,
  auditEventsInto,
  canTransition,
  INITIAL_STATE,
  isFinal,
  REQUEST_STATES,
  type RequestState,
  statesLeadingTo,
  transitionBetween,
  TRANSITIONS,
} from '../../src/domain/request-state.ts';
import { FC_RUNS, FINGERPRINT, request, samplePolicy } from './fixtures.ts';

describe('duration', () => {
  const S = 1_000;
  const M = 60 * S;
  const H = 60 * M;
  const D = 24 * H;

  describe('parseDuration', () => {
    it('reads what people type', () => {
      const cases: [string, number][] = [
        ['90s', 90 * S],
        ['30m', 30 * M],
        ['2h', 2 * H],
        ['1h30m', H + 30 * M],
        ['1d', D],
        ['1d2h3m4s', D + 2 * H + 3 * M + 4 * S],
        ['1D', D],
        ['2H30M', 2 * H + 30 * M],
        ['  45m  ', 45 * M],
        ['01h', H],
        ['0h30m', 30 * M],
      ];
      for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
    });

    it('rejects what is not a positive whole duration', () => {
      for (const bad of [
        '',
        '   ',
        '0m',
        '0s',
        '0h0m',
        '00m',
        '2x',
        '1.5h',
        '1,5h',
        'h',
        'm30',
        '-1h',
        '+1h',
        '1h 30m',
        '1 h',
        '30',
        '1h-30m',
        '1w',
        '1y',
        '2hours',
        'one hour',
        '1h\n30m',
        '١h', // an Arabic-Indic digit is not \d in JS but be explicit about it
      ])
        assert.equal(parseDuration(bad), undefined, JSON.stringify(bad));
    });

    it('rejects numbers too large to be exact', () => {
      assert.equal(parseDuration('99999999999999999999h'), undefined);
      assert.equal(parseDuration(`${Number.MAX_SAFE_INTEGER}s`), undefined, 'the product overflows the safe range');
      assert.equal(parseDuration(`${Number.MAX_SAFE_INTEGER + 2}m`), undefined, 'the number itself is not safe');
      assert.equal(parseDuration('9'.repeat(400) + 'd'), undefined, 'Infinity');
      // just inside the safe range is still a number
      assert.equal(parseDuration(`${Math.floor(Number.MAX_SAFE_INTEGER / 1000)}s`), Math.floor(Number.MAX_SAFE_INTEGER / 1000) * 1000);
    });
  });

  describe('formatDuration', () => {
    it('writes the largest units first and leaves out zero parts', () => {
      assert.equal(formatDuration(90 * M), '1h30m');
      assert.equal(formatDuration(2 * H), '2h');
      assert.equal(formatDuration(D + 1 * S), '1d1s');
      assert.equal(formatDuration(25 * H), '1d1h');
      assert.equal(formatDuration(59 * S), '59s');
      assert.equal(formatDuration(61 * S), '1m1s');
    });

    it('rounds to whole seconds and never writes a negative or empty duration', () => {
      assert.equal(formatDuration(1_499), '1s');
      assert.equal(formatDuration(1_500), '2s');
      assert.equal(formatDuration(0), '0s');
      assert.equal(formatDuration(-5 * M), '0s');
      assert.equal(formatDuration(400), '0s');
    });

    it('round-trips with parseDuration for every whole number of seconds (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 400 * 24 * 3600 }), (seconds) => {
          const ms = seconds * S;
          const text = formatDuration(ms);
          assert.match(text, /^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/);
          assert.equal(parseDuration(text), ms, text);
        }),
        { numRuns: FC_RUNS },
      );
    });

    it('parse then format gives the canonical spelling of the same duration (property)', () => {
      const part = fc.tuple(fc.integer({ min: 0, max: 500 }), fc.constantFrom('s', 'm', 'h', 'd'));
      fc.assert(
        fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
          const text = parts.map(([n, u]) => `${n}${u}`).join('');
          const ms = parseDuration(text);
          const expected = parts.reduce((sum, [n, u]) => sum + n * { s: S, m: M, h: H, d: D }[u], 0);
          if (expected === 0) return assert.equal(ms, undefined, text);
          assert.equal(ms, expected, text);
          assert.equal(parseDuration(formatDuration(ms!)), ms);
        }),
        { numRuns: FC_RUNS },
      );
    });
  });

  describe('looksLikeDuration', () => {
    it('is the loose shape the command parser uses to tell a duration from a reason', () => {
      // Compound durations and near-misses both count, so a typo is refused instead of becoming the reason.
      for (const yes of ['2h', '90', '2x', ' 30m ', '1h30m', '1d2h3m4s', '1.5h', '2:30', '2H']) assert.equal(looksLikeDuration(yes), true, yes);
      for (const no of ['fix', 'h2', '', '2 h', '-1h', '"2h"', 'db-prod-1']) assert.equal(looksLikeDuration(no), false, no);
    });

    it('accepts everything parseDuration accepts (property)', () => {
      const part = fc.tuple(fc.integer({ min: 1, max: 999 }), fc.constantFrom('s', 'm', 'h', 'd', 'S', 'M', 'H', 'D'));
      fc.assert(
        fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
          const text = parts.map(([n, u]) => `${n}${u}`).join('');
          assert.notEqual(parseDuration(text), undefined, text);
          assert.equal(looksLikeDuration(text), true, text);
        }),
        { numRuns: FC_RUNS },
      );
    });
  });
});

describe('command', () => {
  /** What could not be read, as code and data (the Slack layer words it: test/slack/messages.test.ts). */
  function invalid(c: JumpCommand): RefusalDetail {
    assert.equal(c.kind, 'invalid', JSON.stringify(c));
    const { code, params } = c as RefusalDetail;
    return { code, params } as RefusalDetail;
  }

  describe('parseCommand: help', () => {
    it('answers an empty command, blanks and `help` with help', () => {
      for (const text of ['', '   ', '\n', 'help', 'HELP', '  help  ', 'help me please']) assert.deepEqual(parseCommand(text), { kind: 'help' }, JSON.stringify(text));
    });
  });

  describe('parseCommand: request', () => {
    it('reads host, duration and a plain reason', () => {
      assert.deepEqual(parseCommand('request db-prod-1 2h fix replication'), { kind: 'request', host: 'db-prod-1', duration: '2h', reason: 'fix replication' });
      assert.deepEqual(parseCommand('request db-prod-1 30m x'), { kind: 'request', host: 'db-prod-1', duration: '30m', reason: 'x' });
    });

    it('reads a compound duration such as 1h30m as the duration, not as the reason', () => {
      assert.deepEqual(parseCommand('request db-prod-1 1h30m fix replication'), { kind: 'request', host: 'db-prod-1', duration: '1h30m', reason: 'fix replication' });
      assert.deepEqual(parseCommand('request db-prod-1 1d2h3m4s x'), { kind: 'request', host: 'db-prod-1', duration: '1d2h3m4s', reason: 'x' });
    });

    it('treats a number-like second word as a duration to be checked, so a typo is not silently the reason', () => {
      for (const d of ['2x', '90', '1.5h', '2:30']) {
        const c = parseCommand(`request db-prod-1 ${d} fix`);
        assert.deepEqual(c, { kind: 'request', host: 'db-prod-1', duration: d, reason: 'fix' });
      }
    });

    it('reads a request without a duration: the whole rest is the reason', () => {
      assert.deepEqual(parseCommand('request db-prod-1 fix it now'), { kind: 'request', host: 'db-prod-1', reason: 'fix it now' });
      assert.deepEqual(parseCommand('request db-prod-1 h2 is down'), { kind: 'request', host: 'db-prod-1', reason: 'h2 is down' });
    });

    it('reads a request with neither duration nor reason', () => {
      assert.deepEqual(parseCommand('request db-prod-1'), { kind: 'request', host: 'db-prod-1', reason: '' });
      assert.deepEqual(parseCommand('  request   web-1  '), { kind: 'request', host: 'web-1', reason: '' });
      assert.deepEqual(parseCommand('request web-1 2h'), { kind: 'request', host: 'web-1', duration: '2h', reason: '' });
    });

    it('strips straight and “smart” quotes around the reason', () => {
      const expected = { kind: 'request', host: 'db-prod-1', duration: '2h', reason: 'fix replication' };
      for (const quoted of ['"fix replication"', "'fix replication'", '“fix replication”', '‘fix replication’', '" fix replication "', '”fix replication”'])
        assert.deepEqual(parseCommand(`request db-prod-1 2h ${quoted}`), expected, quoted);
      assert.deepEqual(parseCommand('request db-prod-1 “fix it”'), { kind: 'request', host: 'db-prod-1', reason: 'fix it' });
      assert.deepEqual(parseCommand("request db-prod-1 'it's down'"), { kind: 'request', host: 'db-prod-1', reason: "it's down" });
    });

    it('keeps quotes that do not wrap the whole reason, and a lone quote', () => {
      assert.deepEqual(parseCommand('request db-prod-1 2h fix "replication" now'), { kind: 'request', host: 'db-prod-1', duration: '2h', reason: 'fix "replication" now' });
      assert.deepEqual(parseCommand('request db-prod-1 2h "'), { kind: 'request', host: 'db-prod-1', duration: '2h', reason: '"' });
    });

    it('is case-insensitive in the verb but keeps the host as typed (the policy decides)', () => {
      assert.deepEqual(parseCommand('REQUEST DB-Prod-1 2H x'), { kind: 'request', host: 'DB-Prod-1', duration: '2H', reason: 'x' });
    });

    it('splits on any whitespace, tabs and newlines included', () => {
      assert.deepEqual(parseCommand('request\tdb-prod-1\t2h\tx'), { kind: 'request', host: 'db-prod-1', duration: '2h', reason: 'x' });
      assert.deepEqual(parseCommand('request db-prod-1\n2h\nx'), { kind: 'request', host: 'db-prod-1', duration: '2h', reason: 'x' });
    });

    it('passes hostile text through as data only (the policy refuses unknown hosts)', () => {
      const c = parseCommand('request <!channel> 2h <http://evil|click> & more');
      assert.deepEqual(c, { kind: 'request', host: '<!channel>', duration: '2h', reason: '<http://evil|click> & more' });
    });

    it('opens the request form when no host is given', () => {
      assert.deepEqual(parseCommand('request'), { kind: 'request-form' });
      assert.deepEqual(parseCommand('request   '), { kind: 'request-form' });
      assert.deepEqual(parseCommand('REQUEST'), { kind: 'request-form' });
    });
  });

  describe('parseCommand: key', () => {
    it('takes the whole key text after `key add`, spaces and comment included', () => {
      assert.deepEqual(parseCommand('key add ssh-ed25519 AAAA me@laptop'), { kind: 'key-add', keyText: 'ssh-ed25519 AAAA me@laptop' });
      assert.deepEqual(parseCommand('key add ssh-ed25519 AAAA my work laptop (2026)'), { kind: 'key-add', keyText: 'ssh-ed25519 AAAA my work laptop (2026)' });
      assert.deepEqual(parseCommand('KEY ADD   ssh-rsa\tAAAAB3  c'), { kind: 'key-add', keyText: 'ssh-rsa\tAAAAB3  c' });
    });

    it('keeps a pasted multi-line text intact so the key check can refuse it', () => {
      const pasted = 'ssh-ed25519 AAAA one\nssh-ed25519 BBBB two';
      assert.deepEqual(parseCommand(`key add ${pasted}`), { kind: 'key-add', keyText: pasted });
    });

    it('drops a private key wherever it stands, whatever the verb or the length (the text is not kept)', () => {
      const pasted = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
      for (const text of [`key add ${pasted}`, `request db-prod-1 2h ${pasted}`, pasted, `revoke ${pasted}`, `key add ${pasted}${'A'.repeat(MAX_COMMAND_TEXT)}`, 'key add b3BlbnNzaC1rZXktdjEAAAAABG5vbmU'])
        assert.deepEqual(parseCommand(text), { kind: 'private-key' }, text.slice(0, 60));
    });

    it('reads `key remove` and `key delete`', () => {
      for (const text of ['key remove', 'KEY REMOVE', 'key delete', 'key remove now']) assert.deepEqual(parseCommand(text), { kind: 'key-remove' }, text);
    });

    it('does not mistake an "add" inside the key for the sub-command', () => {
      assert.deepEqual(parseCommand('key add ssh-ed25519 AAAAadd me@add'), { kind: 'key-add', keyText: 'ssh-ed25519 AAAAadd me@add' });
    });

    it('shows the key for `key` and `key show`', () => {
      assert.deepEqual(parseCommand('key'), { kind: 'key-show' });
      assert.deepEqual(parseCommand('key show'), { kind: 'key-show' });
      assert.deepEqual(parseCommand('KEY SHOW'), { kind: 'key-show' });
    });

    it('asks for the key after a bare `key add`, and refuses unknown key sub-commands', () => {
      assert.deepEqual(invalid(parseCommand('key add')), { code: 'key-add-needs-key', params: {} });
      assert.deepEqual(invalid(parseCommand('key add    ')), { code: 'key-add-needs-key', params: {} });
      assert.deepEqual(invalid(parseCommand('key rotate')), { code: 'unknown-key-command', params: { text: 'rotate' } });
      assert.deepEqual(invalid(parseCommand('key addssh-ed25519')), { code: 'unknown-key-command', params: { text: 'addssh-ed25519' } });
    });
  });

  describe('parseCommand: list, revoke, unknown', () => {
    it('reads list (ignoring trailing words)', () => {
      assert.deepEqual(parseCommand('list'), { kind: 'list', all: false });
      assert.deepEqual(parseCommand('LIST all'), { kind: 'list', all: true });
      assert.deepEqual(parseCommand('list ALL'), { kind: 'list', all: true });
      assert.deepEqual(parseCommand('list mine'), { kind: 'list', all: false });
    });

    it('reads revoke and its cancel alias, with the id', () => {
      assert.deepEqual(parseCommand('revoke rabc123'), { kind: 'revoke', id: 'rabc123' });
      assert.deepEqual(parseCommand('cancel rabc123'), { kind: 'revoke', id: 'rabc123' });
      assert.deepEqual(parseCommand('revoke   rabc123   extra'), { kind: 'revoke', id: 'rabc123' });
      assert.deepEqual(invalid(parseCommand('revoke')), { code: 'revoke-needs-id', params: {} });
    });

    it('refuses unknown verbs, naming the verb', () => {
      assert.deepEqual(invalid(parseCommand('frobnicate now')), { code: 'unknown-command', params: { text: 'frobnicate' } });
      assert.deepEqual(invalid(parseCommand('approve rabc')), { code: 'unknown-command', params: { text: 'approve' } });
    });

    it('refuses text over the limit before looking at it, and accepts text at the limit', () => {
      assert.deepEqual(invalid(parseCommand(`request db ${'x'.repeat(MAX_COMMAND_TEXT)}`)), { code: 'command-too-long', params: { max: 4000 } });
      assert.deepEqual(invalid(parseCommand(`key add ${'A'.repeat(MAX_COMMAND_TEXT)}`)), { code: 'command-too-long', params: { max: 4000 } });
      const atLimit = `request db 2h ${'x'.repeat(MAX_COMMAND_TEXT - 'request db 2h '.length)}`;
      assert.equal(atLimit.length, MAX_COMMAND_TEXT);
      assert.equal(parseCommand(atLimit).kind, 'request');
    });
  });

  describe('parseCommand: property', () => {
    it('never throws, and every result is one of the documented shapes', () => {
      const word = fc.oneof(
        fc.constantFrom('request', 'key', 'add', 'show', 'list', 'revoke', 'cancel', 'help', '2h', '1h30m', '"', '“', '”', "'", 'db-prod-1'),
        fc.string({ maxLength: 12 }),
      );
      const text = fc.oneof(fc.array(word, { maxLength: 8 }).map((ws) => ws.join(' ')), fc.string({ maxLength: 200 }));
      fc.assert(
        fc.property(text, (t) => {
          const c = parseCommand(t);
          switch (c.kind) {
            case 'request':
              assert.ok(c.host.length > 0 && !/\s/.test(c.host));
              assert.equal(c.reason, c.reason.trim());
              if (c.duration !== undefined) assert.match(c.duration, /^\d/);
              break;
            case 'revoke':
              assert.ok(c.id.length > 0 && !/\s/.test(c.id));
              break;
            case 'key-add':
              assert.ok(c.keyText.length > 0 && c.keyText === c.keyText.trim());
              break;
            case 'invalid':
              assert.deepEqual(Object.keys(c).sort(), ['code', 'kind', 'params']);
              break;
            case 'list':
              assert.equal(typeof c.all, 'boolean');
              break;
            default:
              assert.deepEqual(Object.keys(c), ['kind']);
          }
        }),
        { numRuns: FC_RUNS },
      );
    });
  });
});

describe('access-policy', () => {
  const H = 3_600_000;
  const M = 60_000;
  const policy = samplePolicy(); // defaults: 1h, min 5m, max 4h, reason required, 1 approval
  const ok = { hostName: 'db-prod-1', duration: '1h', reason: 'fix replication', hasKey: true };

  /** The refusal's code and data (the Slack layer words it: test/slack/messages.test.ts). */
  function refusal<T>(d: Decision<T>): RefusalDetail {
    assert.equal(d.ok, false, 'expected a refusal');
    const { code, params } = d as RefusalDetail;
    return { code, params } as RefusalDetail;
  }

  function accepted<T>(d: Decision<T>): T {
    assert.ok(d.ok, d.ok ? '' : d.message);
    return d.value;
  }

  describe('hostRules', () => {
    it('takes per-host maxDuration, approvals and requireReason over the defaults', () => {
      const [db, web, cache] = policy.hosts;
      const ext = (maxDurationMs: number) => ({ maxTotalMs: 3 * maxDurationMs, selfExtendMs: 0, reasonPattern: undefined, reasonHint: undefined, requesters: undefined });
      assert.deepEqual(hostRules(policy, db!), { maxDurationMs: 2 * H, minDurationMs: 5 * M, approvals: 2, requireReason: true, ...ext(2 * H) });
      assert.deepEqual(hostRules(policy, web!), { maxDurationMs: 4 * H, minDurationMs: 5 * M, approvals: 1, requireReason: false, ...ext(4 * H) });
      assert.deepEqual(hostRules(policy, cache!), { maxDurationMs: 30 * M, minDurationMs: 5 * M, approvals: 1, requireReason: true, ...ext(30 * M) });
    });
  });

  describe('evaluateRequest', () => {
    it('accepts a valid request and carries the host’s rules into the draft', () => {
      const v = accepted(evaluateRequest(policy, ok));
      assert.equal(v.host.name, 'db-prod-1');
      assert.equal(v.durationMs, H);
      assert.equal(v.requiredApprovals, 2);
      assert.equal(v.reason, 'fix replication');
    });

    it('names the unknown host and lists every host that can be requested', () => {
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, hostName: 'nope' })), { code: 'unknown-host', params: { host: 'nope', known: ['db-prod-1', 'web-1', 'cache-1'] } });
      // host names are matched exactly (the policy's names are the only spelling)
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, hostName: 'DB-PROD-1' })), { code: 'unknown-host', params: { host: 'DB-PROD-1', known: ['db-prod-1', 'web-1', 'cache-1'] } });
      // a huge host name is clipped in the log detail (and in the reply: test/slack/messages.test.ts)
      const d = evaluateRequest(policy, { ...ok, hostName: 'h'.repeat(1000) });
      assert.ok(!d.ok && d.message.includes('h'.repeat(64)) && !d.message.includes('h'.repeat(65)), d.ok ? '' : d.message);
    });

    it('refuses more than the host’s maximum and suggests the maximum', () => {
      const tooLong = { code: 'duration-too-long', params: { host: 'db-prod-1', maxMs: 2 * H } };
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, duration: '3h' })), tooLong);
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, duration: '2h1s' })), tooLong);
      const d = evaluateRequest(policy, { ...ok, duration: '3h' });
      assert.equal(!d.ok && d.message, 'duration 3h of db-prod-1 over maxDuration 2h', 'the log detail says what was asked and allowed');
      accepted(evaluateRequest(policy, { ...ok, duration: '2h' })); // exactly the maximum is allowed
      // a host without its own maximum uses the default one
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, hostName: 'web-1', duration: '5h' })), { code: 'duration-too-long', params: { host: 'web-1', maxMs: 4 * H } });
      assert.equal(accepted(evaluateRequest(policy, { ...ok, hostName: 'web-1', duration: '4h' })).durationMs, 4 * H);
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, hostName: 'cache-1', duration: '31m' })), { code: 'duration-too-long', params: { host: 'cache-1', maxMs: 30 * M } });
    });

    it('refuses less than the minimum and suggests the minimum', () => {
      const tooShort = { code: 'duration-too-short', params: { host: 'db-prod-1', minMs: 5 * M } };
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, duration: '4m59s' })), tooShort);
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, duration: '30s' })), tooShort);
      assert.equal(accepted(evaluateRequest(policy, { ...ok, duration: '5m' })).durationMs, 5 * M);
    });

    it('refuses what is not a duration, naming it', () => {
      for (const d of ['2x', '1.5h', '0m', '90', '2:30']) assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, duration: d })), { code: 'bad-duration', params: { text: d } });
    });

    it('without a duration uses the default, capped by the host’s maximum', () => {
      const { duration: _, ...noDuration } = ok;
      assert.equal(accepted(evaluateRequest(policy, noDuration)).durationMs, H);
      assert.equal(accepted(evaluateRequest(policy, { ...noDuration, hostName: 'cache-1' })).durationMs, 30 * M);
    });

    it('requires a reason where the host (or the default) says so, and shows how to give one', () => {
      for (const reason of ['', '   ', '\n\t'])
        assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, reason })), { code: 'reason-required', params: { host: 'db-prod-1', durationMs: H } });
      // web-1 sets requireReason: false
      assert.equal(accepted(evaluateRequest(policy, { ...ok, hostName: 'web-1', reason: '' })).reason, '');
      // a host may also require one where the default does not
      const lax = validatePolicy({
        auditChannel: 'C0AUDIT',
        defaults: { requireReason: false },
        jumpHosts: [{ name: 'j', address: 'j.example', user: 'jump', hostKey: FINGERPRINT, privateKeyPath: '/k' }],
        hosts: [
          { name: 'a', address: '10.0.0.1', jumpHost: 'j', owners: ['S0X'] },
          { name: 'b', address: '10.0.0.2', jumpHost: 'j', owners: ['S0X'], requireReason: true },
        ],
      });
      accepted(evaluateRequest(lax, { hostName: 'a', reason: '', hasKey: true }));
      assert.deepEqual(refusal(evaluateRequest(lax, { hostName: 'b', reason: '', hasKey: true })), { code: 'reason-required', params: { host: 'b', durationMs: H } });
    });

    it('trims the reason and caps its length', () => {
      assert.equal(accepted(evaluateRequest(policy, { ...ok, reason: '  fix it \n' })).reason, 'fix it');
      assert.equal(accepted(evaluateRequest(policy, { ...ok, reason: 'x'.repeat(MAX_REASON_LENGTH) })).reason.length, MAX_REASON_LENGTH);
      assert.equal(accepted(evaluateRequest(policy, { ...ok, reason: ` ${'x'.repeat(MAX_REASON_LENGTH)} ` })).reason.length, MAX_REASON_LENGTH);
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, reason: 'x'.repeat(MAX_REASON_LENGTH + 1) })), {
        code: 'reason-too-long',
        params: { length: MAX_REASON_LENGTH + 1, max: MAX_REASON_LENGTH },
      });
    });

    it('asks for a registered key first', () => {
      assert.deepEqual(refusal(evaluateRequest(policy, { ...ok, hasKey: false })), { code: 'no-key', params: {} });
    });

    it('checks the host before anything else, so a typo in the host is what the user hears about', () => {
      assert.equal(refusal(evaluateRequest(policy, { hostName: 'nope', duration: 'zz', reason: '', hasKey: false })).code, 'unknown-host');
    });
  });

  describe('checkDecider', () => {
    const owners = new Set(['U0ALICE', 'U0BOB', 'U0CAROL']);
    const pending = request({ requester: 'U0ALICE', requiredApprovals: 2, approvers: ['U0BOB'] });

    it('refuses anyone who is not an owner, for approve and deny alike', () => {
      const notOwner = (action: 'approve' | 'deny') => ({ code: 'not-owner', params: { action, host: 'db-prod-1' } });
      assert.deepEqual(refusal(checkDecider(pending, 'U0MALLORY', owners, 'approve')), notOwner('approve'));
      assert.deepEqual(refusal(checkDecider(pending, 'U0MALLORY', owners, 'deny')), notOwner('deny'));
      assert.deepEqual(refusal(checkDecider(pending, 'U0ALICE', new Set<string>(), 'deny')), notOwner('deny'));
      // The requester who owns nothing is told it is their own request, not to go and find an owner.
      assert.deepEqual(refusal(checkDecider(pending, 'U0ALICE', new Set<string>(), 'approve')), { code: 'self-approval', params: {} });
    });

    it('does not let the requester approve their own request, even as an owner', () => {
      assert.deepEqual(refusal(checkDecider(pending, 'U0ALICE', owners, 'approve')), { code: 'self-approval', params: {} });
    });

    it('lets an owner-requester deny (withdraw) their own request', () => {
      assert.equal(checkDecider(pending, 'U0ALICE', owners, 'deny').ok, true);
    });

    it('refuses a second approval by the same owner and says how many are still needed', () => {
      assert.deepEqual(refusal(checkDecider(pending, 'U0BOB', owners, 'approve')), { code: 'already-approved', params: { remaining: 1 } });
      const three = request({ requester: 'U0ENG', requiredApprovals: 3, approvers: ['U0BOB'] });
      assert.deepEqual(refusal(checkDecider(three, 'U0BOB', owners, 'approve')), { code: 'already-approved', params: { remaining: 2 } });
    });

    it('allows another owner to approve, and an owner who approved to deny', () => {
      assert.deepEqual(checkDecider(pending, 'U0CAROL', owners, 'approve'), { ok: true, value: null });
      assert.deepEqual(checkDecider(pending, 'U0BOB', owners, 'deny'), { ok: true, value: null });
      assert.deepEqual(checkDecider(request({ requester: 'U0ENG' }), 'U0ALICE', owners, 'approve'), { ok: true, value: null });
    });
  });
});

describe('request-state', () => {
  // The documented state machine (README, DESIGN.md), written out independently of the table it checks.
  const ALLOWED: Record<RequestState, RequestState[]> = {
    pending: ['active', 'denied', 'cancelled', 'timed-out', 'extended'],
    active: ['expired', 'revoked', 'failed'],
    extended: [],
    expired: [],
    revoked: [],
    denied: [],
    cancelled: [],
    'timed-out': [],
    failed: [],
  };

  describe('request states', () => {
    it('has exactly the documented states, and no stored `approved` state', () => {
      assert.deepEqual([...REQUEST_STATES].sort(), ['active', 'cancelled', 'denied', 'expired', 'extended', 'failed', 'pending', 'revoked', 'timed-out']);
      assert.equal(INITIAL_STATE, 'pending');
      assert.equal(ACTIVE_STATE, 'active');
    });

    it('allows exactly the documented transitions (full table)', () => {
      for (const from of REQUEST_STATES)
        for (const to of REQUEST_STATES) assert.equal(canTransition(from, to), ALLOWED[from].includes(to), `${from} → ${to}`);
    });

    it('lists each transition once, between known states', () => {
      const seen = TRANSITIONS.map((t) => `${t.from}→${t.to}`);
      assert.equal(new Set(seen).size, seen.length);
      for (const t of TRANSITIONS) assert.ok(REQUEST_STATES.includes(t.from) && REQUEST_STATES.includes(t.to), `${t.from} → ${t.to}`);
    });

    it('never allows a state to move to itself (a double click does nothing twice)', () => {
      for (const s of REQUEST_STATES) assert.equal(canTransition(s, s), false, s);
    });

    it('never goes back to pending, and only a pending request becomes active', () => {
      assert.deepEqual(statesLeadingTo('pending'), []);
      assert.deepEqual(statesLeadingTo('active'), ['pending']);
      assert.equal(canTransition('denied', 'active'), false);
      assert.equal(canTransition('expired', 'active'), false);
    });

    it('says which states lead to each state (what the store checks atomically)', () => {
      assert.deepEqual(statesLeadingTo('expired'), ['active']);
      assert.deepEqual(statesLeadingTo('revoked'), ['active']);
      assert.deepEqual(statesLeadingTo('denied'), ['pending']);
      assert.deepEqual(statesLeadingTo('timed-out'), ['pending']);
      assert.deepEqual(statesLeadingTo('cancelled'), ['pending']);
      assert.deepEqual(statesLeadingTo('failed'), ['active']);
      for (const to of REQUEST_STATES)
        assert.deepEqual(
          statesLeadingTo(to),
          REQUEST_STATES.filter((from) => ALLOWED[from].includes(to)),
          to,
        );
    });

    it('names the audit events of each transition: one per end state, the decision and the grant on activation', () => {
      assert.deepEqual(auditEventsInto('active'), ['approved', 'activated']);
      for (const to of ['expired', 'revoked', 'denied', 'cancelled', 'timed-out', 'failed'] as const) assert.deepEqual(auditEventsInto(to), [to], to);
      assert.equal(auditEventsInto('pending'), undefined, 'nothing moves into pending');
      assert.deepEqual(transitionBetween('active', 'failed')?.audit, ['failed']);
      assert.equal(transitionBetween('pending', 'expired'), undefined);
    });

    it('marks the end states final and the others not', () => {
      for (const s of ['expired', 'revoked', 'denied', 'cancelled', 'timed-out', 'failed'] as const) assert.equal(isFinal(s), true, s);
      for (const s of ['pending', 'active'] as const) assert.equal(isFinal(s), false, s);
    });

    it('reaches a final state from every state (no request lives forever)', () => {
      for (const start of REQUEST_STATES) {
        const seen = new Set<RequestState>([start]);
        const queue: RequestState[] = [start];
        while (queue.length > 0) {
          const s = queue.shift()!;
          for (const next of REQUEST_STATES) if (canTransition(s, next) && !seen.has(next)) seen.add(next), queue.push(next);
        }
        assert.ok([...seen].some(isFinal), start);
      }
    });

    it('reaches every state from the initial one (no dead state)', () => {
      const seen = new Set<RequestState>([INITIAL_STATE]);
      const queue: RequestState[] = [INITIAL_STATE];
      while (queue.length > 0) {
        const s = queue.shift()!;
        for (const next of REQUEST_STATES) if (canTransition(s, next) && !seen.has(next)) seen.add(next), queue.push(next);
      }
      assert.deepEqual([...seen].sort(), [...REQUEST_STATES].sort());
    });
  });
});

describe('connect-instructions', () => {
  const policy = samplePolicy();
  const bastion = policy.jumpHosts[0]!; // address jump.internal, publicAddress bastion.example.com, port 22
  const edge = policy.jumpHosts[1]!; // 192.0.2.10:2222, no public address
  const [db, web, cache] = policy.hosts as [HostConfig, HostConfig, HostConfig];

  /** What the real ssh client makes of an argument list (`ssh -G` resolves the configuration without connecting). */
  function sshResolve(args: string[]): Map<string, string> {
    const out = execFileSync('ssh', ['-G', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return new Map(out.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
  }

  describe('connectInstructions', () => {
    it('gives the DESIGN.md command: the public jump address, port 22 left out', () => {
      const c = connectInstructions(db, bastion);
      assert.equal(c.command, 'ssh -J jump@bastion.example.com postgres@10.0.0.5');
      assert.equal(c.sshConfig, ['Host db-prod-1', '    HostName 10.0.0.5', '    User postgres', '    ProxyJump jump@bastion.example.com'].join('\n'));
    });

    it('writes non-22 ports as jump@host:port for the jump and -p / Port for the target', () => {
      const c = connectInstructions(web, { ...bastion, publicPort: 2222 });
      assert.equal(c.command, 'ssh -J jump@bastion.example.com:2222 -p 2200 root@10.0.0.7');
      assert.equal(c.sshConfig, ['Host web-1', '    HostName 10.0.0.7', '    Port 2200', '    User root', '    ProxyJump jump@bastion.example.com:2222'].join('\n'));
    });

    it('uses the broker’s address and port when no public ones are set', () => {
      const c = connectInstructions(cache, edge);
      assert.equal(c.command, 'ssh -J hop@192.0.2.10:2222 redis@10.0.0.9');
      assert.match(c.sshConfig, /^ {4}ProxyJump hop@192\.0\.2\.10:2222$/m);
    });

    it('prefers publicAddress and publicPort over address and port', () => {
      const c = connectInstructions(cache, { ...edge, publicAddress: 'hop.example.com', publicPort: 22 });
      assert.equal(c.command, 'ssh -J hop@hop.example.com redis@10.0.0.9');
      assert.ok(!c.command.includes('192.0.2.10') && !c.sshConfig.includes('192.0.2.10'));
      const onlyPort = connectInstructions(cache, { ...edge, publicPort: 443 });
      assert.equal(onlyPort.command, 'ssh -J hop@192.0.2.10:443 redis@10.0.0.9');
    });

    it('types the target address exactly as in permitopen (no resolution, no rewriting)', () => {
      const named: HostConfig = { ...db, address: 'db-1.internal.example' };
      const c = connectInstructions(named, bastion);
      assert.equal(c.command, 'ssh -J jump@bastion.example.com postgres@db-1.internal.example');
      assert.match(c.sshConfig, /^ {4}HostName db-1\.internal\.example$/m);
    });

    it('brackets an IPv6 jump address (ssh refuses it bare after -J) and leaves the target bare', () => {
      const v6jump: JumpHostConfig = { ...edge, address: 'fd00::1', port: 22 };
      const v6host: HostConfig = { ...db, address: 'fd00::5' };
      assert.equal(connectInstructions(v6host, v6jump).command, 'ssh -J hop@[fd00::1] postgres@fd00::5');
      assert.equal(connectInstructions(v6host, { ...v6jump, port: 2222 }).command, 'ssh -J hop@[fd00::1]:2222 postgres@fd00::5');
      // the policy may spell IPv6 with brackets: the target must lose them, the jump keep exactly one pair
      const bracketed = connectInstructions({ ...v6host, address: '[fd00::5]', port: 2200 }, { ...v6jump, publicAddress: '[fd00::1]' });
      assert.equal(bracketed.command, 'ssh -J hop@[fd00::1] -p 2200 postgres@fd00::5');
      assert.match(bracketed.sshConfig, /^ {4}HostName fd00::5$/m);
      assert.match(bracketed.sshConfig, /^ {4}ProxyJump hop@\[fd00::1\]$/m);
    });

    it('produces a command and a config block that the real ssh client reads as intended', () => {
      const cases: [HostConfig, JumpHostConfig, { hostname: string; port: string; user: string; proxyjump: string }][] = [
        [db, bastion, { hostname: '10.0.0.5', port: '22', user: 'postgres', proxyjump: 'jump@bastion.example.com' }],
        [web, { ...bastion, publicPort: 2222 }, { hostname: '10.0.0.7', port: '2200', user: 'root', proxyjump: 'jump@bastion.example.com:2222' }],
        [{ ...db, address: 'fd00::5' }, { ...edge, address: 'fd00::1' }, { hostname: 'fd00::5', port: '22', user: 'postgres', proxyjump: 'hop@[fd00::1]:2222' }],
        [{ ...web, address: '[fd00::7]' }, { ...bastion, publicAddress: 'fd00::1' }, { hostname: 'fd00::7', port: '2200', user: 'root', proxyjump: 'jump@[fd00::1]' }],
      ];
      const dir = mkdtempSync(join(tmpdir(), 'jit-connect-'));
      try {
        for (const [host, jump, expected] of cases) {
          const c = connectInstructions(host, jump);
          const args = c.command.split(' ');
          assert.equal(args[0], 'ssh');
          const fromCommand = sshResolve(['-F', '/dev/null', ...args.slice(1)]);
          const config = join(dir, 'config');
          writeFileSync(config, `${c.sshConfig}\n`);
          const fromConfig = sshResolve(['-F', config, host.name]);
          for (const [resolved, what] of [[fromCommand, 'command'], [fromConfig, 'config']] as const)
            for (const [k, v] of Object.entries(expected)) assert.equal(resolved.get(k), v, `${what} ${k}: ${c.command}`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
