// The access decision as a table: who × host × request × time → how it is granted (owners, auto-approval rule N,
// break-glass) or the refusal that says why not. One pure function serves the slash command, the request form,
// auto-approval and break-glass; the rows below are written out by hand from the policy, not computed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy } from '../../src/config/policy.ts';
import { decideAccess, type AccessAsk } from '../../src/domain/access-decision.ts';

const MIN = 60_000;
// Monday 2026-11-23 10:00 UTC (11:00 in Berlin).
const MON_10Z = Date.UTC(2026, 10, 23, 10, 0);
const SAT_10Z = Date.UTC(2026, 10, 28, 10, 0);

const policy = validatePolicy({
  auditChannel: 'C0AUDIT',
  defaults: { duration: '1h', minDuration: '5m', maxDuration: '4h', requireReason: true },
  jumpHosts: [
    { name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: `SHA256:${'A'.repeat(43)}`, privateKeyPath: '/k' },
    { name: 'old', address: 'old.internal', user: 'jump', hostKey: `SHA256:${'B'.repeat(43)}`, privateKeyPath: '/k', retired: true },
  ],
  rules: [{ match: { env: 'prod' }, owners: ['S0SRE'], approvals: 2, maxDuration: '2h', reasonPattern: '^INC-[0-9]+', reasonHint: 'start with INC-1234', requesters: ['S0ENG'] }],
  hosts: [
    { name: 'db-prod', address: '10.0.0.5', jumpHost: 'bastion', labels: { env: 'prod' } },
    { name: 'db-staging', address: '10.0.0.6', jumpHost: 'bastion', owners: ['U0DBA'], labels: { env: 'staging' } },
    { name: 'legacy', address: '10.0.0.7', jumpHost: 'old', owners: ['U0DBA'] },
  ],
  autoApprove: [{ users: ['S0ENG'], hosts: [{ env: 'staging' }], maxDuration: '1h', hours: '08:00-18:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'], timezone: 'Europe/Berlin' }],
  breakGlass: { users: ['U0ONCALL'], maxDuration: '1h', reviewWithin: '24h' },
});

// S0ENG: Erin and the on-call engineer; Mallory is in no group; S0OPS cannot be listed now.
const GROUPS: Record<string, string[] | undefined> = { S0ENG: ['U0ERIN', 'U0ONCALL'], S0SRE: ['U0SRE'] };
const member = (user: string) => (ids: readonly string[]) => {
  if (ids.includes(user)) return true;
  const groups = ids.filter((id) => id.startsWith('S'));
  if (groups.some((g) => GROUPS[g] === undefined)) return undefined;
  return groups.some((g) => GROUPS[g]!.includes(user));
};

type Row = [who: string, ask: string, when: number, expected: string];
// ask: "host duration reason", "!" before the host: break-glass; "-" as duration: none given.
const ROWS: Row[] = [
  ['U0ERIN', 'db-prod 1h INC-1 fix', MON_10Z, 'owners (2 approvals, 1h)'],
  ['U0ERIN', 'db-prod 3h INC-1 fix', MON_10Z, 'refused duration-too-long'],
  ['U0ERIN', 'db-prod 1h fixing', MON_10Z, 'refused reason-mismatch'],
  ['U0ERIN', 'db-prod 1h', MON_10Z, 'refused reason-required'],
  ['U0MALLORY', 'db-prod 1h INC-1 fix', MON_10Z, 'refused not-a-requester'],
  ['U0ERIN', 'db-staging 30m look', MON_10Z, 'auto-approved rule 1 (30m)'],
  ['U0ERIN', 'db-staging 2h look', MON_10Z, 'owners (1 approvals, 2h)'],
  ['U0ERIN', 'db-staging 30m look', SAT_10Z, 'owners (1 approvals, 30m)'],
  ['U0MALLORY', 'db-staging 30m look', MON_10Z, 'owners (1 approvals, 30m)'],
  ['U0ERIN', 'legacy 30m x', MON_10Z, 'refused jump-host-retired'],
  ['U0ERIN', 'nope 30m x', MON_10Z, 'refused unknown-host'],
  ['U0ONCALL', '!db-prod 30m INC-9 down', SAT_10Z, 'break-glass (30m, review in 1440m)'],
  ['U0ONCALL', '!db-prod - INC-9 down', SAT_10Z, 'break-glass (60m, review in 1440m)'],
  ['U0ONCALL', '!db-prod 2h INC-9 down', SAT_10Z, 'refused break-glass-too-long'],
  ['U0ONCALL', '!db-prod 30m', SAT_10Z, 'refused reason-required'],
  ['U0ERIN', '!db-prod 30m INC-9 down', SAT_10Z, 'refused not-break-glass'],
  ['U0MALLORY', '!db-prod 30m INC-9 down', SAT_10Z, 'refused not-a-requester'],
];

function ask(user: string, text: string): AccessAsk {
  const [host = '', duration = '-', ...reason] = text.split(' ');
  return { user, hostName: host.replace(/^!/, ''), duration: duration === '-' ? undefined : duration, reason: reason.join(' '), hasKey: true, breakGlass: host.startsWith('!') };
}

function outcome(user: string, text: string, when: number, m = member(user)): string {
  const d = decideAccess(policy, ask(user, text), m, when);
  if (!d.ok) return `refused ${d.code}`;
  const v = d.value;
  if (v.route === 'auto-approved') return `auto-approved rule ${v.rule} (${v.durationMs / MIN}m)`;
  if (v.route === 'break-glass') return `break-glass (${v.durationMs / MIN}m, review in ${v.reviewWithinMs / MIN}m)`;
  return `owners (${v.requiredApprovals} approvals, ${v.durationMs / MIN >= 60 ? `${v.durationMs / 3_600_000}h` : `${v.durationMs / MIN}m`})`;
}

describe('the access decision', () => {
  for (const [who, text, when, expected] of ROWS)
    it(`${who} ${text} (${new Date(when).toISOString().slice(0, 16)}) → ${expected}`, () => {
      assert.equal(outcome(who, text, when), expected);
    });

  it('a group it cannot list now: requesters refuse (fail closed), auto-approval and break-glass grant nothing', () => {
    const unknown = () => undefined;
    assert.equal(outcome('U0ERIN', 'db-prod 1h INC-1 fix', MON_10Z, unknown), 'refused requesters-unavailable');
    assert.equal(outcome('U0ERIN', 'db-staging 30m look', MON_10Z, unknown), 'owners (1 approvals, 30m)');
    assert.equal(outcome('U0ONCALL', '!db-staging 30m down', MON_10Z, unknown), 'refused not-break-glass');
  });

  it('no key: refused after who-may-ask, so a person who may not ask hears that first', () => {
    assert.equal(decideAccess(policy, { ...ask('U0ERIN', 'db-staging 30m x'), hasKey: false }, member('U0ERIN'), MON_10Z).ok, false);
    const stranger = decideAccess(policy, { ...ask('U0MALLORY', 'db-prod 1h INC-1 x'), hasKey: false }, member('U0MALLORY'), MON_10Z);
    assert.equal(!stranger.ok && stranger.code, 'not-a-requester');
  });
});
