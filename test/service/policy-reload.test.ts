// The access service holds the policy source's live view, not a copy: a reload reaches the same running service
// at its next decision (no restart), and a refused reload leaves its decisions as they were.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicySource } from '../../src/config/policy-source.ts';
import { PolicyError, type Policy } from '../../src/config/policy.ts';
import { ALICE, ENG, HOUR, inMemoryService, unitPolicy } from '../support/in-memory/service.ts';

/** A source whose "file" is whatever `next` says at the time of the reload (a policy, or a validation error). */
function sourceOf(initial: Policy) {
  let next: Policy | PolicyError = initial;
  const source = new PolicySource(initial, {
    path: 'jit.config.yaml',
    load: () => {
      if (next instanceof PolicyError) throw next;
      return next;
    },
  });
  return { source, fileSays: (p: Policy | PolicyError) => (next = p) };
}

describe('a running access service after a policy reload', () => {
  it('a refused reload changes nothing; an applied one sets the limit of the next request and of a pending one when it is approved', async () => {
    const { source, fileSays } = sourceOf(unitPolicy());
    const h = inMemoryService({ policy: source.view });
    await h.registerKey(ENG);

    fileSays(new PolicyError('jit.config.yaml is invalid:\n  defaults.approvals: Too small'));
    assert.equal(source.reload('SIGHUP').ok, false);
    const pending = await h.request(ENG, 'web-1 3h under the old 4h maximum');

    fileSays(unitPolicy({ defaults: { duration: '1h', minDuration: '5m', maxDuration: '1h', approvalTimeout: '1h' } }));
    assert.equal(source.reload('SIGHUP').ok, true);
    const next = await h.run(h.service.command(ENG, 'request web-1 2h over the new maximum'));
    assert.deepEqual(next.reply, { kind: 'refused', code: 'duration-too-long', params: { host: 'web-1', maxMs: HOUR } });

    const decided = await h.run(h.service.approve(pending, ALICE));
    assert.equal(decided.reply?.kind, 'refused');
    assert.equal((decided.reply as { code: string }).code, 'approval-over-max-duration');
    assert.equal((await h.requests.get(pending))?.state, 'denied');
    assert.equal((await h.requests.get(pending))?.policyMaxMs, HOUR);
  });
});
