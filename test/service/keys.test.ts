// `/jump key …` against in-memory ports: one key per person; a grant is bound to the key that was approved, so a
// key change ends the person's grants and pending requests.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { ALICE, BOB, ENG, HOUR, inMemoryService, publicKeyLine, type Harness } from '../support/in-memory/service.ts';

describe('keys', () => {
  let h: Harness;
  beforeEach(() => {
    h = inMemoryService();
  });

  it('registers, shows and replaces a key', async () => {
    assert.deepEqual((await h.service.command(ENG, 'key')).reply, { kind: 'no-key' });
    const line = publicKeyLine();
    const added = await h.run(h.service.command(ENG, `key add ${line}`));
    assert.equal(added.reply?.kind === 'key-saved' && added.reply.replaced, false);
    const shown = await h.service.command(ENG, 'key');
    assert.equal(shown.reply?.kind === 'key' && shown.reply.key.line, line.split(' ').slice(0, 2).join(' '), 'stored without the comment');
    const replaced = await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`));
    assert.deepEqual(replaced.reply && { ...replaced.reply, fingerprint: '' }, { kind: 'key-saved', type: 'ssh-ed25519', fingerprint: '', replaced: true, endedGrants: 0, cancelledRequests: 0 });
    assert.deepEqual(h.audit.filter((e) => e.actor === ENG && e.type.startsWith('key-')).map((e) => e.type), ['key-added', 'key-replaced']);
  });

  it('refuses a key someone else registered', async () => {
    const line = publicKeyLine();
    await h.run(h.service.command(ENG, `key add ${line}`));
    assert.deepEqual((await h.service.command(BOB, `key add ${line}`)).reply, { kind: 'key-taken' });
    assert.equal(await h.keys.get(BOB), undefined);
  });

  it('refuses the broker’s own key and a key standing outside the block, says why, audits it and stores nothing', async () => {
    const broker = publicKeyLine('broker');
    const standing = publicKeyLine('ops');
    const fp = (line: string) => {
      const c = checkUserPublicKey(line, { minRsaBits: 3072 });
      assert.ok(c.ok);
      return c.value.fingerprint;
    };
    h.standingKeys.byFingerprint.set(fp(broker), { kind: 'broker-key', jumpHost: 'bastion' });
    h.standingKeys.byFingerprint.set(fp(standing), { kind: 'outside-block', jumpHost: 'bastion' });
    assert.deepEqual((await h.run(h.service.command(ENG, `key add ${broker}`))).reply, { kind: 'refused', code: 'key-is-broker-key', params: { jumpHost: 'bastion' } });
    assert.deepEqual((await h.run(h.service.command(ENG, `key add ${standing}`))).reply, { kind: 'refused', code: 'key-stands-outside-block', params: { jumpHost: 'bastion' } });
    assert.equal(await h.keys.get(ENG), undefined);
    assert.deepEqual(
      h.audit.map((e) => [e.type, e.actor, e.code, e.detail]),
      [
        ['refused', ENG, 'key-is-broker-key', `key-add: ${fp(broker)} is the broker key of bastion`],
        ['refused', ENG, 'key-stands-outside-block', `key-add: ${fp(standing)} stands outside the block on bastion`],
      ],
    );
    assert.equal((await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`))).reply?.kind, 'key-saved', 'any other key is fine');
  });

  it('refuses a pasted private key without storing or logging it, and audits the refusal', async () => {
    const secret = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const out = await h.service.command(ENG, `key add ${secret}`);
    assert.equal(out.reply?.kind === 'refused' && out.reply.code, 'private-key-pasted');
    assert.equal(await h.keys.get(ENG), undefined);
    assert.deepEqual(h.audit.map((e) => [e.type, e.code]), [['refused', 'private-key-pasted']]);
    assert.ok(!JSON.stringify([h.audit, h.logs]).includes('b3BlbnNzaC1rZXktdjEA'), 'the text is in no log or audit event');
  });

  it('refuses text that is not a public key with the domain’s reason', async () => {
    const out = await h.service.command(ENG, 'key add ssh-dss AAAAB3NzaC1kc3M=');
    assert.deepEqual(out.reply, { kind: 'refused', code: 'key-dsa', params: {} });
    assert.equal(h.keys.keys.size, 0);
  });

  it('records the fingerprint of the key at request time: the key the owners approve', async () => {
    await h.registerKey(ENG);
    const id = await h.request(ENG, 'web-1 1h');
    assert.equal((await h.requests.get(id))?.keyFingerprint, (await h.keys.get(ENG))?.fingerprint);
    assert.equal(h.notifier.of('requestPending', id)[0]?.request.keyFingerprint, (await h.keys.get(ENG))?.fingerprint);
  });

  const endsGrantsAndPending = async (change: 'key add' | 'key remove') => {
    await h.registerKey(ENG);
    const active = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(active, ALICE));
    const pending = await h.request(ENG, 'web-1 1h');
    assert.deepEqual(h.sync.blocks.get('bastion'), [active]);
    const out = await h.run(h.service.command(ENG, change === 'key add' ? `key add ${publicKeyLine()}` : 'key remove'));
    const reply = out.reply as { endedGrants?: number; cancelledRequests?: number };
    assert.deepEqual([out.reply?.kind, reply.endedGrants, reply.cancelledRequests], [change === 'key add' ? 'key-saved' : 'key-removed', 1, 1]);
    const [a, p] = [await h.requests.get(active), await h.requests.get(pending)];
    assert.deepEqual([a?.state, a?.endReason, a?.decidedBy], ['revoked', 'key-changed', ENG]);
    assert.deepEqual([p?.state, p?.endReason], ['cancelled', 'key-changed']);
    assert.deepEqual(h.sync.blocks.get('bastion'), [], 'the line is gone (the normal sync path)');
    assert.equal(h.jobs.scheduled.has(`revoke:${active}`), false);
    assert.equal(h.notifier.of('grantEnded', active)[0]?.request.endReason, 'key-changed', 'the person is told (DM)');
    assert.ok(h.notifier.of('requestChanged', active).length > 0 && h.notifier.of('requestChanged', pending).length > 0, 'approval messages updated');
    assert.deepEqual(
      h.audit
        .filter((e) => e.type === 'revoked' || e.type === 'cancelled')
        .map((e) => [e.type, e.requestId, e.actor, e.detail])
        .sort(),
      [
        ['cancelled', pending, ENG, 'key changed'],
        ['revoked', active, ENG, 'key changed'],
      ],
    );
  };
  it('`key add` ends active grants (revoked, key changed) and cancels pending requests: lines out, person and audit told', () => endsGrantsAndPending('key add'));
  it('`key remove` ends active grants and cancels pending requests the same way', () => endsGrantsAndPending('key remove'));

  it('registering the same key again ends nothing', async () => {
    const line = publicKeyLine();
    await h.run(h.service.command(ENG, `key add ${line}`));
    const id = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(id, ALICE));
    const again = await h.run(h.service.command(ENG, `key add ${line}`));
    assert.deepEqual(again.reply?.kind === 'key-saved' && [again.reply.endedGrants, again.reply.cancelledRequests], [0, 0]);
    assert.equal((await h.requests.get(id))?.state, 'active');
    assert.deepEqual(h.sync.blocks.get('bastion'), [id]);
  });

  it('a grant whose key stands outside the block (seen at sync) is not installed: it fails naming the key', async () => {
    await h.registerKey(ENG);
    const id = await h.request(ENG, 'web-1 1h');
    const fingerprint = (await h.keys.get(ENG))!.fingerprint;
    h.sync.standing.add(fingerprint);
    await h.run(h.service.approve(id, ALICE));
    assert.equal((await h.requests.get(id))?.state, 'failed');
    assert.equal(h.audit.find((e) => e.type === 'failed')?.detail, `key ${fingerprint} stands in authorized_keys outside the managed block (access outside jit-jump): not installed`);
  });

  it('a grant approved while its key changed is not installed with the new key: it fails with the reason', async () => {
    await h.registerKey(ENG);
    const id = await h.request(ENG, 'web-1 1h');
    // The key changes between the request and the approval without the key-change path running (a race).
    const other = checkUserPublicKey(publicKeyLine(), { minRsaBits: 3072 });
    assert.ok(other.ok);
    await h.keys.set(ENG, other.value, h.clock.now());
    await h.run(h.service.approve(id, ALICE));
    const req = await h.requests.get(id);
    assert.deepEqual([req?.state, req?.endReason], ['failed', 'key-changed']);
    assert.deepEqual(h.sync.blocks.get('bastion'), []);
    assert.match(h.audit.find((e) => e.type === 'failed')?.detail ?? '', /the requester’s key changed after the request \(approved SHA256:/);
    assert.equal(h.notifier.of('grantNotActivated', id)[0]?.request.endReason, 'key-changed');
  });

  it('rate-limits key changes per person', async () => {
    for (let i = 0; i < 3; i++) await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`));
    const out = await h.service.command(ENG, `key add ${publicKeyLine()}`);
    assert.equal(out.reply?.kind === 'rate-limited' && out.reply.what, 'key-change');
    assert.equal((await h.service.command(ENG, 'key remove')).reply?.kind, 'rate-limited');
    assert.ok(await h.keys.get(ENG), 'the key stays');
    h.clock.advance(HOUR + 1);
    assert.equal((await h.service.command(ENG, 'key remove')).reply?.kind, 'key-removed');
  });
});
