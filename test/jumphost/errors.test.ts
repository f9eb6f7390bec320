// The jump-host adapter's coded errors: what the operator reads, and the codes callers branch on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostKeyMismatchError, JumpHostUnavailableError } from '../../src/jumphost/errors.ts';

describe('jump-host errors', () => {
  it('a host key mismatch names the jump host, both fingerprints and that nothing connected', () => {
    const e = new HostKeyMismatchError('bastion', 'SHA256:pinned', 'SHA256:presented');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'HostKeyMismatchError');
    assert.equal(e.code, 'HOST_KEY_MISMATCH');
    assert.deepEqual([e.jumpHost, e.expected, e.actual], ['bastion', 'SHA256:pinned', 'SHA256:presented']);
    assert.equal(e.message, 'jump host bastion presented host key SHA256:presented, but SHA256:pinned is pinned: refusing to connect');
  });

  it('an unavailable jump host keeps the cause for the logs', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new JumpHostUnavailableError('bastion', 'connect failed', { cause });
    assert.equal(e.name, 'JumpHostUnavailableError');
    assert.equal(e.code, 'JUMP_HOST_UNAVAILABLE');
    assert.equal(e.jumpHost, 'bastion');
    assert.equal(e.message, 'jump host bastion unavailable: connect failed');
    assert.equal(e.cause, cause);
  });
});
