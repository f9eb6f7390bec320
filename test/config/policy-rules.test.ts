// Host labels and rules, reason patterns and requesters in the policy file: each host takes the fields of the
// rules its labels match (in order; its own fields win), and the result is checked as a whole, naming the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyError, validatePolicy } from '../../src/config/policy.ts';
import { effectivePolicyLines } from '../../src/domain/effective-policy.ts';

const H = 3_600_000;
const FP = `SHA256:${'A'.repeat(43)}`;
const base = (extra: Record<string, unknown> = {}, hosts: Record<string, unknown>[] = []) => ({
  auditChannel: 'C0AUDIT',
  jumpHosts: [{ name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: FP, privateKeyPath: '/k' }],
  hosts,
  ...extra,
});
const host = (name: string, o: Record<string, unknown> = {}) => ({ name, address: '10.0.0.5', jumpHost: 'bastion', ...o });
function issues(raw: unknown): string[] {
  try {
    validatePolicy(raw);
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    return err.message.split('\n').slice(1).map((l) => l.trim());
  }
  return [];
}

describe('policy: host labels and rules', () => {
  const rules = [
    { match: { env: 'prod' }, owners: ['S0SRE'], approvals: 2, maxDuration: '2h', requireReason: true },
    { match: { env: 'prod', team: 'db' }, owners: ['S0DBA'], reasonPattern: '^(INC|CHG)-[0-9]+', reasonHint: 'start with a ticket id such as INC-1234' },
  ];

  it('a host takes the fields of every rule its labels match, later rules over earlier ones, its own fields over all', () => {
    const p = validatePolicy(
      base({ rules }, [
        host('db-prod-1', { labels: { env: 'prod', team: 'db' } }),
        host('web-prod-1', { labels: { env: 'prod' }, maxDuration: '4h' }),
        host('db-staging-1', { labels: { env: 'staging', team: 'db' }, owners: ['U0ALICE'] }),
      ]),
    );
    const [db, web, staging] = p.hosts;
    assert.deepEqual([db!.owners, db!.approvals, db!.maxDuration, db!.reasonPattern, db!.appliedRules], [['S0DBA'], 2, 2 * H, '^(INC|CHG)-[0-9]+', [0, 1]]);
    assert.deepEqual([web!.owners, web!.approvals, web!.maxDuration, web!.reasonPattern, web!.appliedRules], [['S0SRE'], 2, 4 * H, undefined, [0]]);
    assert.deepEqual([staging!.owners, staging!.approvals, staging!.appliedRules], [['U0ALICE'], undefined, undefined], 'no rule matches: its own fields and the defaults');
    assert.deepEqual(p.rules.map((r) => r.match), [{ env: 'prod' }, { env: 'prod', team: 'db' }], 'the rules are kept for check-config');
  });

  it('a host without owners of its own needs a rule that gives them; checks run on the result', () => {
    assert.deepEqual(issues(base({ rules }, [host('lonely', { labels: { env: 'dev' } })])), ['hosts[0].owners: no owners: give owners, or labels that match a rule giving them']);
    const twoNamed = [{ match: { env: 'prod' }, owners: ['U0ALICE'], approvals: 2 }];
    assert.deepEqual(issues(base({ rules: twoNamed }, [host('db', { labels: { env: 'prod' } })])), ['hosts[0].approvals: needs 2 approvals but lists only 1 owners']);
    assert.deepEqual(issues(base({ rules: [{ match: {}, owners: ['U0A'] }] }, [host('db', { owners: ['U0A'] })])), ['rules[0].match: must name at least one label']);
    assert.deepEqual(issues(base({ rules: [{ match: { env: 'prod' }, colour: 'red' }] }, [host('db', { owners: ['U0A'] })])), ['rules[0].colour: unknown field (a typo?)']);
    assert.deepEqual(issues(base({}, [host('db', { owners: ['U0A'], labels: { 'bad label': 'x' } })])).length, 1);
  });

  it('reasonPattern must be a regular expression; requesters Slack IDs; both in defaults, rules and hosts', () => {
    assert.deepEqual(issues(base({ defaults: { reasonPattern: '(' } }, [host('db', { owners: ['U0A'] })])), [
      'defaults.reasonPattern: must be a valid regular expression (JavaScript syntax), such as "^(INC|CHG)-[0-9]+"',
    ]);
    assert.deepEqual(issues(base({ rules: [{ match: { env: 'prod' }, reasonPattern: '[' }] }, [host('db', { owners: ['U0A'] })])).map((l) => l.split(':')[0]), ['rules[0].reasonPattern']);
    assert.deepEqual(issues(base({}, [host('db', { owners: ['U0A'], requesters: ['not an id'] })])).map((l) => l.split(':')[0]), ['hosts[0].requesters[0]']);
    const p = validatePolicy(base({ defaults: { requesters: ['S0ENG'], reasonPattern: '^T-' } }, [host('db', { owners: ['U0A'] })]));
    assert.deepEqual([p.defaults.requesters, p.defaults.reasonPattern], [['S0ENG'], '^T-']);
  });

  it('check-config’s lines: each host’s effective policy, naming the rules it took', () => {
    const p = validatePolicy(
      base({ rules, defaults: { selfExtend: '30m', requesters: ['S0ENG'] } }, [host('db-prod-1', { labels: { env: 'prod', team: 'db' } }), host('web', { owners: ['U0A'], requireReason: false })]),
    );
    assert.deepEqual(effectivePolicyLines(p), [
      'host db-prod-1: owners S0DBA; 2 approval(s); duration 1m–2h; at most 6h with extensions (30m without approval); reason required; reason matching ^(INC|CHG)-[0-9]+; requesters S0ENG; from rules rules[0], rules[1]',
      'host web: owners U0A; 1 approval(s); duration 1m–8h; at most 1d with extensions (30m without approval); reason optional; requesters S0ENG',
    ]);
  });
});
