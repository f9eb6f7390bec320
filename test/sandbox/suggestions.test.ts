// The console's suggestions guide a newcomer: the sandbox key's exact `/jump key add` first, the request for
// SANDBOX_DURATION once the audit channel says the engineer has a key (read by metadata, not wording).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasRegisteredKey, suggestions } from '../../src/sandbox/suggestions.ts';
import { auditMetadata } from '../../src/slack/message-metadata.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake engineer_ed25519@test';
const context = { engineer: 'U0ENGINEER', publicKey: KEY, duration: '45s' };
const keyLine = (type: 'key-added' | 'key-replaced' | 'key-removed', actor: string) => ({ text: 'anything', metadata: auditMetadata({ type, at: 1, actor }, '1-0') });

describe('console suggestions', () => {
  it('the engineer without a key: the exact /jump key add of the sandbox key comes first, and no request yet', () => {
    const s = suggestions('U0ENGINEER', false, context);
    assert.equal(s[0], `/jump key add ${KEY}`);
    assert.ok(!s.some((c) => c.startsWith('/jump request')));
  });

  it('the engineer with a key: the request for SANDBOX_DURATION comes first; others get help and list', () => {
    assert.equal(suggestions('U0ENGINEER', true, context)[0], '/jump request internal-1 45s checking the sandbox');
    assert.deepEqual(suggestions('U0OWNER1', false, context), ['/jump help', '/jump list']);
  });

  it('a key counts as registered after the person’s latest key line says added or replaced, not removed', () => {
    assert.equal(hasRegisteredKey([], 'U0ENGINEER'), false);
    assert.equal(hasRegisteredKey([keyLine('key-added', 'U0OWNER1')], 'U0ENGINEER'), false, 'someone else’s key');
    assert.equal(hasRegisteredKey([keyLine('key-added', 'U0ENGINEER')], 'U0ENGINEER'), true);
    assert.equal(hasRegisteredKey([keyLine('key-added', 'U0ENGINEER'), keyLine('key-removed', 'U0ENGINEER')], 'U0ENGINEER'), false);
    assert.equal(hasRegisteredKey([keyLine('key-removed', 'U0ENGINEER'), keyLine('key-replaced', 'U0ENGINEER')], 'U0ENGINEER'), true);
    const prose: { text: string; metadata?: unknown }[] = [{ text: 'U0ENGINEER added a key' }];
    assert.equal(hasRegisteredKey(prose, 'U0ENGINEER'), false, 'wording alone is not read');
  });
});
