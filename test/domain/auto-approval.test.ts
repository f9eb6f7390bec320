// Which autoApprove rules could grant a request: host by name or labels, at most maxDuration, within local hours
// and weekdays in the rule's time zone (an overnight span too). Pure; the clock is a parameter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy } from '../../src/config/policy.ts';
import { localTime, matchingRules, parseHours, withinWindow } from '../../src/domain/auto-approval.ts';

const H = 3_600_000;
// Monday 2026-11-23, 07:30 UTC = 08:30 in Berlin (CET, UTC+1).
const MON_0730Z = Date.UTC(2026, 10, 23, 7, 30);

describe('auto-approval rules', () => {
  it('reads local hours and weekdays in the rule’s time zone', () => {
    assert.deepEqual(localTime(MON_0730Z, 'Europe/Berlin'), { day: 'mon', minute: 8 * 60 + 30 });
    assert.deepEqual(localTime(MON_0730Z, 'America/Los_Angeles'), { day: 'sun', minute: 23 * 60 + 30 });
    assert.deepEqual(parseHours('08:00-18:00'), { start: 480, end: 1080 });
    for (const bad of ['8-18', '08:00', '25:00-26:00', '08:00-08:00']) assert.equal(parseHours(bad), undefined, bad);
  });

  it('within hours and days: start inclusive, end exclusive; overnight spans midnight', () => {
    const berlin = { timezone: 'Europe/Berlin', hours: '08:00-18:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[] };
    assert.equal(withinWindow(berlin, MON_0730Z), true);
    assert.equal(withinWindow(berlin, MON_0730Z - 31 * 60_000), false, '07:59 local');
    assert.equal(withinWindow(berlin, Date.UTC(2026, 10, 23, 17, 0)), false, '18:00 local: the end is not in');
    assert.equal(withinWindow(berlin, Date.UTC(2026, 10, 22, 9, 0)), false, 'a Sunday');
    const night = { timezone: 'UTC', hours: '22:00-06:00' };
    assert.deepEqual([23, 3, 6, 12].map((h) => withinWindow(night, Date.UTC(2026, 10, 23, h))), [true, true, false, false]);
    assert.equal(withinWindow({ timezone: 'UTC' }, MON_0730Z), true, 'no hours, no days: always');
  });

  it('matches by host name or label selector and duration, in policy order; refuses a bad zone or host at load', () => {
    const raw = {
      auditChannel: 'C0AUDIT',
      jumpHosts: [{ name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: `SHA256:${'A'.repeat(43)}`, privateKeyPath: '/k' }],
      hosts: [
        { name: 'db-staging-1', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0A'], labels: { env: 'staging' } },
        { name: 'db-prod-1', address: '10.0.0.6', jumpHost: 'bastion', owners: ['U0A'], labels: { env: 'prod' } },
      ],
      autoApprove: [
        { users: ['S0DB'], hosts: ['db-staging-1'], maxDuration: '2h', hours: '08:00-18:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'], timezone: 'Europe/Berlin' },
        { users: ['U0ONCALL'], hosts: [{ env: 'staging' }], maxDuration: '4h' },
      ],
    };
    const p = validatePolicy(raw);
    const [staging, prod] = p.hosts;
    assert.deepEqual(matchingRules(p, staging!, H, MON_0730Z), [0, 1]);
    assert.deepEqual(matchingRules(p, staging!, 3 * H, MON_0730Z), [1], 'over the first rule’s maxDuration');
    assert.deepEqual(matchingRules(p, staging!, H, MON_0730Z - H), [1], 'outside the first rule’s hours');
    assert.deepEqual(matchingRules(p, prod!, H, MON_0730Z), []);
    assert.throws(() => validatePolicy({ ...raw, autoApprove: [{ ...raw.autoApprove[1], timezone: 'Mars/Olympus' }] }), /autoApprove\[0\]\.timezone: must be an IANA time zone/);
    assert.throws(() => validatePolicy({ ...raw, autoApprove: [{ ...raw.autoApprove[1], hosts: ['nope'] }] }), /autoApprove\[0\]\.hosts\[0\]: no host named "nope"/);
    assert.throws(() => validatePolicy({ ...raw, autoApprove: [{ ...raw.autoApprove[0], hours: '9-5' }] }), /autoApprove\[0\]\.hours: must be a local time span/);
  });
});
