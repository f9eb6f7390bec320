import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy } from '../../src/config/policy.ts';
import { checkDecider, evaluateRequest } from '../../src/domain/access-policy.ts';
import { parseCommand } from '../../src/domain/command.ts';
import { connectInstructions } from '../../src/domain/connect-instructions.ts';
import { formatDuration, parseDuration } from '../../src/domain/duration.ts';
import { canTransition, isFinal, statesLeadingTo, type AccessRequest } from '../../src/domain/request-state.ts';

const FP = `SHA256:${'A'.repeat(43)}`;
const policy = validatePolicy({
  auditChannel: 'C0AUDIT',
  defaults: { duration: '1h', maxDuration: '4h', requireReason: true },
  jumpHosts: [{ name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: FP, privateKeyPath: '/k', publicAddress: 'bastion.example.com' }],
  hosts: [
    { name: 'db-prod-1', address: '10.0.0.5', jumpHost: 'bastion', loginUser: 'postgres', owners: ['U0ALICE', 'U0BOB'], maxDuration: '2h', approvals: 2 },
    { name: 'web-1', address: '10.0.0.7', port: 2200, jumpHost: 'bastion', owners: ['U0ALICE'], requireReason: false },
  ],
});

describe('durations', () => {
  it('parses what people type and formats it back', () => {
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1D'), 86_400_000);
    assert.equal(formatDuration(5_400_000), '1h30m');
    for (const ms of [1000, 61_000, 3_600_000, 90_061_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
  });
  it('rejects what is not a duration', () => {
    for (const bad of ['', '0m', '2x', '1.5h', 'h', '-1h', '99999999999999999999h', '1h 30m', '30']) assert.equal(parseDuration(bad), undefined, bad);
  });
});

describe('parseCommand', () => {
  it('reads requests with and without duration and reason', () => {
    assert.deepEqual(parseCommand('request db-prod-1 2h "fix replication"'), { kind: 'request', host: 'db-prod-1', duration: '2h', reason: 'fix replication' });
    assert.deepEqual(parseCommand('request db-prod-1 fix it now'), { kind: 'request', host: 'db-prod-1', reason: 'fix it now' });
    assert.deepEqual(parseCommand('request db-prod-1 2h “smart quotes”'), { kind: 'request', host: 'db-prod-1', duration: '2h', reason: 'smart quotes' });
    assert.deepEqual(parseCommand('  request   web-1  '), { kind: 'request', host: 'web-1', reason: '' });
    assert.equal(parseCommand('request').kind, 'invalid');
  });
  it('reads key, list, revoke and help', () => {
    assert.deepEqual(parseCommand('key add ssh-ed25519 AAAA me@laptop'), { kind: 'key-add', keyText: 'ssh-ed25519 AAAA me@laptop' });
    assert.deepEqual(parseCommand('key'), { kind: 'key-show' });
    assert.deepEqual(parseCommand('list'), { kind: 'list' });
    assert.deepEqual(parseCommand('revoke rabc123'), { kind: 'revoke', id: 'rabc123' });
    assert.deepEqual(parseCommand(''), { kind: 'help' });
    assert.equal(parseCommand('key add').kind, 'invalid');
  });
  it('answers unknown or over-long input with a message', () => {
    const unknown = parseCommand('frobnicate now');
    assert.equal(unknown.kind, 'invalid');
    assert.match((unknown as { message: string }).message, /Unknown command "frobnicate"/);
    assert.equal(parseCommand(`request db ${'x'.repeat(5000)}`).kind, 'invalid');
  });
});

describe('evaluateRequest', () => {
  const ok = { hostName: 'db-prod-1', duration: '1h', reason: 'fix', hasKey: true };
  const message = (d: ReturnType<typeof evaluateRequest>) => (d.ok ? '' : d.message);
  it('accepts a valid request with the host’s rules', () => {
    const d = evaluateRequest(policy, ok);
    assert.ok(d.ok);
    assert.equal(d.value.durationMs, 3_600_000);
    assert.equal(d.value.requiredApprovals, 2);
  });
  it('says what is wrong and what to type instead', () => {
    assert.match(message(evaluateRequest(policy, { ...ok, hostName: 'nope' })), /Unknown host "nope"\. Hosts you can request: `db-prod-1`, `web-1`\./);
    assert.match(message(evaluateRequest(policy, { ...ok, duration: '3h' })), /db-prod-1 allows at most 2h\. Try `\/jump request db-prod-1 2h …`/);
    assert.match(message(evaluateRequest(policy, { ...ok, duration: '30s' })), /shortest grant is 1m/);
    assert.match(message(evaluateRequest(policy, { ...ok, duration: '2y' })), /not a duration/);
    assert.match(message(evaluateRequest(policy, { ...ok, reason: '  ' })), /A reason is required for db-prod-1/);
    assert.match(message(evaluateRequest(policy, { ...ok, reason: 'x'.repeat(501) })), /too long/);
    assert.match(message(evaluateRequest(policy, { ...ok, hasKey: false })), /Register your public key first/);
  });
  it('uses the default duration capped by the host maximum, and per-host reason rules', () => {
    const d = evaluateRequest(policy, { hostName: 'web-1', reason: '', hasKey: true });
    assert.ok(d.ok);
    assert.equal(d.value.durationMs, 3_600_000);
    assert.equal(d.value.requiredApprovals, 1);
  });
});

describe('checkDecider', () => {
  const req: AccessRequest = {
    id: 'r1', requester: 'U0ALICE', host: 'db-prod-1', jumpHost: 'bastion', durationMs: 1, reason: '', state: 'pending',
    createdAt: 0, requiredApprovals: 2, approvers: ['U0BOB'],
  };
  const owners = new Set(['U0ALICE', 'U0BOB', 'U0CAROL']);
  it('lets only other owners approve, once each', () => {
    assert.match((checkDecider(req, 'U0MALLORY', owners, 'approve') as { message: string }).message, /Only the owners of db-prod-1/);
    assert.match((checkDecider(req, 'U0ALICE', owners, 'approve') as { message: string }).message, /cannot approve your own/);
    assert.match((checkDecider(req, 'U0BOB', owners, 'approve') as { message: string }).message, /already approved/);
    assert.equal(checkDecider(req, 'U0CAROL', owners, 'approve').ok, true);
    assert.equal(checkDecider(req, 'U0BOB', owners, 'deny').ok, true);
    assert.equal(checkDecider(req, 'U0MALLORY', owners, 'deny').ok, false);
  });
});

describe('request states', () => {
  it('allows only the documented transitions', () => {
    assert.ok(canTransition('pending', 'approved'));
    assert.ok(canTransition('active', 'expired'));
    assert.ok(!canTransition('expired', 'active'));
    assert.ok(!canTransition('denied', 'approved'));
    assert.ok(!canTransition('pending', 'active'));
    assert.deepEqual(statesLeadingTo('revoked'), ['active']);
    assert.deepEqual(statesLeadingTo('cancelled'), ['pending', 'approved']);
    for (const s of ['expired', 'revoked', 'denied', 'cancelled', 'timed-out', 'failed'] as const) assert.ok(isFinal(s));
    assert.ok(!isFinal('active'));
  });
});

describe('connect instructions', () => {
  it('use the public jump address and the exact permitopen address', () => {
    const [db, web] = policy.hosts;
    const c = connectInstructions(db!, policy.jumpHosts[0]!);
    assert.equal(c.command, 'ssh -J jump@bastion.example.com postgres@10.0.0.5');
    assert.equal(c.sshConfig, 'Host db-prod-1\n    HostName 10.0.0.5\n    User postgres\n    ProxyJump jump@bastion.example.com');
    const w = connectInstructions(web!, { ...policy.jumpHosts[0]!, publicPort: 2222 });
    assert.equal(w.command, 'ssh -J jump@bastion.example.com:2222 -p 2200 root@10.0.0.7');
    assert.match(w.sshConfig, /Port 2200/);
  });
});
