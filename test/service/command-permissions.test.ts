// Self-service commands go through the permission table, as decisions do. No rule refuses them today (every
// member may use them), so the table is narrowed here: a command its rule refuses is answered with the refusal,
// audited, and does nothing. This is what keeps a future rule (say, key changes for some role only) enforced.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PERMISSIONS, type Action, type Rule } from '../../src/domain/authorization.ts';
import { ENG, inMemoryService, publicKeyLine, type Harness } from '../support/in-memory/service.ts';

const table = PERMISSIONS as Record<Action, Rule>;
const asShipped = { ...PERMISSIONS };
const ownersOnly: Rule = { anyOf: ['owner'], noneOf: [], who: 'owners only (narrowed by this test)' };

const SELF_SERVICE: [Action, string][] = [
  ['help', 'help'],
  ['list', 'list'],
  ['key-show', 'key'],
  ['key-add', `key add ${publicKeyLine()}`],
  ['key-remove', 'key remove'],
  ['request', 'request web-1 30m'],
];

describe('self-service commands and the permission table', () => {
  let h: Harness;
  beforeEach(async () => {
    h = inMemoryService();
    await h.registerKey(ENG);
  });
  afterEach(() => void Object.assign(table, asShipped));

  for (const [action, text] of SELF_SERVICE)
    it(`\`/jump ${text.split(' ').slice(0, 2).join(' ')}\` refused by its rule is answered with the refusal, audited, and does nothing`, async () => {
      const key = await h.keys.get(ENG);
      const auditBefore = h.audit.length;
      table[action] = ownersOnly;
      const out = await h.service.command(ENG, text);
      assert.deepEqual(out.reply, { kind: 'refused', code: 'not-allowed', params: {} });
      assert.equal(out.after, undefined);
      assert.deepEqual(h.audit.slice(auditBefore), [{ type: 'refused', at: h.clock.now(), actor: ENG, code: 'not-allowed', detail: `${action}: not allowed as member` }]);
      assert.deepEqual(await h.keys.get(ENG), key, 'the key is unchanged');
      assert.equal(h.requests.requests.size, 0, 'no request stored');
    });

  it('another action’s rule does not refuse a command', async () => {
    table['key-add'] = ownersOnly;
    assert.equal((await h.service.command(ENG, 'list')).reply?.kind, 'list');
    assert.equal((await h.service.command(ENG, 'key')).reply?.kind, 'key');
  });
});
