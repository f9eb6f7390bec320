// The authorization table, checked exhaustively: every action × every way an actor can stand to a request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDecider } from '../../src/domain/access-policy.ts';
import { ACTIONS, authorize, PERMISSIONS, rolesOf, type Action } from '../../src/domain/authorization.ts';
import { request } from './fixtures.ts';

const REQUESTER = 'U0REQ';
const OWNER = 'U0OWN';
const STRANGER = 'U0STRANGER';

/** The actor's standing: who they are relative to the request. */
const STANDINGS = {
  stranger: { actor: STRANGER, owners: [OWNER] },
  requester: { actor: REQUESTER, owners: [OWNER] },
  owner: { actor: OWNER, owners: [OWNER] },
  'requester who is also an owner': { actor: REQUESTER, owners: [OWNER, REQUESTER] },
} as const;
type Standing = keyof typeof STANDINGS;

// Written out by hand, independently of the table: what the product promises (README "Security").
const EXPECTED: Record<Action, Record<Standing, boolean>> = {
  help: { stranger: true, requester: true, owner: true, 'requester who is also an owner': true },
  list: { stranger: true, requester: true, owner: true, 'requester who is also an owner': true },
  'key-show': { stranger: true, requester: true, owner: true, 'requester who is also an owner': true },
  'key-add': { stranger: true, requester: true, owner: true, 'requester who is also an owner': true },
  'key-remove': { stranger: true, requester: true, owner: true, 'requester who is also an owner': true },
  request: { stranger: true, requester: true, owner: true, 'requester who is also an owner': true },
  approve: { stranger: false, requester: false, owner: true, 'requester who is also an owner': false },
  deny: { stranger: false, requester: false, owner: true, 'requester who is also an owner': true },
  cancel: { stranger: false, requester: true, owner: true, 'requester who is also an owner': true },
  revoke: { stranger: false, requester: true, owner: true, 'requester who is also an owner': true },
  'request-again': { stranger: false, requester: true, owner: false, 'requester who is also an owner': true },
  extend: { stranger: false, requester: true, owner: false, 'requester who is also an owner': true },
  acknowledge: { stranger: false, requester: false, owner: true, 'requester who is also an owner': false },
  // An owner of the host reads its audit trail (auditors: below); nobody else.
  audit: { stranger: false, requester: false, owner: true, 'requester who is also an owner': true },
};

describe('authorization table', () => {
  it('lists every action exactly once, each with a rule and a description', () => {
    assert.deepEqual(Object.keys(PERMISSIONS).sort(), [...ACTIONS].sort());
    assert.deepEqual(Object.keys(EXPECTED).sort(), [...ACTIONS].sort(), 'the expectations cover every action');
    for (const a of ACTIONS) {
      assert.ok(PERMISSIONS[a].anyOf.length > 0, a);
      assert.ok(PERMISSIONS[a].who.length > 10, a);
    }
  });

  for (const action of ACTIONS)
    for (const standing of Object.keys(STANDINGS) as Standing[])
      it(`${action} by a ${standing}: ${EXPECTED[action][standing] ? 'allowed' : 'refused'}`, () => {
        const s = STANDINGS[standing];
        const r = authorize(action, { actor: s.actor, requester: REQUESTER, owners: new Set(s.owners), host: 'db-prod-1' });
        assert.equal(r.ok, EXPECTED[action][standing]);
        if (!r.ok) {
          assert.ok(
            r.code === 'self-approval' || (r.code === 'not-owner' && r.params.action === action && r.params.host === 'db-prod-1') || (action === 'audit' && r.code === 'not-auditor' && r.params.host === 'db-prod-1'),
            JSON.stringify(r),
          );
          assert.ok(r.message.length > 5, 'the log detail says why');
          assert.doesNotMatch(r.message, /undefined/);
        }
      });

  it("Request again is the requester's alone: an owner, or anyone else, is refused", () => {
    const subject = (actor: string) => ({ actor, requester: REQUESTER, owners: new Set([OWNER]), host: 'db-prod-1' });
    assert.equal(authorize('request-again', subject(REQUESTER)).ok, true);
    for (const actor of [OWNER, STRANGER]) {
      const r = authorize('request-again', subject(actor));
      assert.deepEqual(r.ok ? r : [r.code, r.params], ['not-owner', { action: 'request-again', host: 'db-prod-1' }], actor);
    }
  });

  it('gives the specific reason for each refused decision: code, data, and a log detail', () => {
    const owners = new Set([OWNER]);
    const refusal = (action: Action, actor: string, o = owners) => {
      const r = authorize(action, { actor, requester: REQUESTER, owners: o, host: 'db-prod-1' });
      assert.equal(r.ok, false);
      return r;
    };
    const notOwner = (action: Action, message: string) => ({ ok: false, code: 'not-owner', message, params: { action, host: 'db-prod-1' } });
    assert.deepEqual(refusal('approve', STRANGER), notOwner('approve', 'not an owner of db-prod-1'));
    assert.deepEqual(refusal('approve', REQUESTER, new Set([OWNER, REQUESTER])), { ok: false, code: 'self-approval', message: 'own request', params: {} });
    assert.deepEqual(refusal('approve', REQUESTER, new Set([OWNER])), { ok: false, code: 'self-approval', message: 'own request', params: {} }, 'not an owner: told the same');
    assert.deepEqual(refusal('deny', STRANGER), notOwner('deny', 'not an owner of db-prod-1'));
    assert.deepEqual(refusal('revoke', STRANGER), notOwner('revoke', 'neither the requester nor an owner of db-prod-1'));
    assert.deepEqual(refusal('cancel', OWNER + 'X'), notOwner('cancel', 'neither the requester nor an owner of db-prod-1'));
  });

  it('audit: an auditor reads any host without owning it; anyone else is refused not-auditor, naming the host if one was asked', () => {
    assert.equal(authorize('audit', { actor: STRANGER, auditor: true }).ok, true);
    assert.equal(authorize('audit', { actor: STRANGER, auditor: true, owners: new Set([OWNER]), host: 'db-prod-1' }).ok, true);
    assert.deepEqual([...rolesOf({ actor: STRANGER, auditor: true })].sort(), ['auditor', 'member']);
    const r = authorize('audit', { actor: STRANGER });
    assert.deepEqual(r.ok ? r : [r.code, r.params, r.message], ['not-auditor', {}, 'neither an auditor nor an owner of any host']);
    const h = authorize('audit', { actor: STRANGER, owners: new Set([OWNER]), host: 'db-prod-1' });
    assert.deepEqual(h.ok ? h : [h.code, h.params], ['not-auditor', { host: 'db-prod-1' }]);
  });

  it('derives roles only from exact id matches (no prefix, case or empty-id tricks)', () => {
    assert.deepEqual([...rolesOf({ actor: 'U0OWN', requester: 'U0OWNX', owners: new Set(['u0own']) })], ['member']);
    assert.deepEqual([...rolesOf({ actor: '', owners: new Set(['U0OWN']) })], ['member']);
    assert.deepEqual([...rolesOf({ actor: 'U0OWN' })].sort(), ['member'], 'no request: no requester role even for undefined');
    assert.deepEqual([...rolesOf({ actor: 'U0OWN', requester: 'U0OWN', owners: new Set(['U0OWN']) })].sort(), ['member', 'owner', 'requester']);
  });

  it('checkDecider applies the same table, plus "one approval per owner"', () => {
    const req = request({ requester: REQUESTER, approvers: [OWNER], requiredApprovals: 2 });
    const owners = new Set([OWNER, 'U0OWN2', REQUESTER]);
    assert.equal(checkDecider(req, 'U0OWN2', owners, 'approve').ok, true);
    assert.equal(checkDecider(req, STRANGER, owners, 'approve').ok, false);
    assert.equal(checkDecider(req, REQUESTER, owners, 'approve').ok, false);
    const again = checkDecider(req, OWNER, owners, 'approve');
    assert.equal(again.ok, false);
    assert.deepEqual(again.ok === false && again.params, { remaining: 1 });
    assert.equal(checkDecider(req, OWNER, owners, 'deny').ok, true, 'an owner who approved may still deny before the last approval');
  });

  it('every refusal carries a code: self-approval, not-owner, already-approved', () => {
    const req = request({ requester: REQUESTER, approvers: [OWNER], requiredApprovals: 2 });
    const code = (r: { ok: boolean }) => (r as { code?: string }).code;
    assert.equal(code(checkDecider(req, REQUESTER, new Set([OWNER, REQUESTER]), 'approve')), 'self-approval');
    assert.equal(code(checkDecider(req, REQUESTER, new Set([OWNER]), 'approve')), 'self-approval', 'the requester is told it is their own, owner or not');
    assert.equal(code(checkDecider(req, STRANGER, new Set([OWNER]), 'deny')), 'not-owner');
    assert.equal(code(authorize('revoke', { actor: STRANGER, requester: REQUESTER, owners: new Set([OWNER]) })), 'not-owner');
    assert.equal(code(checkDecider(req, OWNER, new Set([OWNER]), 'approve')), 'already-approved');
    // Once decided, an earlier approver's late click is not "already approved, 0 more needed": the store says the state.
    assert.equal(checkDecider({ ...req, state: 'active', approvers: [OWNER, 'U0OWN2'] }, OWNER, new Set([OWNER]), 'approve').ok, true);
  });
});
