// `/jump key …` against in-memory ports: one key per person, a key change reaches the active grants at once.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { ALICE, BOB, ENG, HOUR, inMemoryService, publicKeyLine, type Harness } from '../support/in-memory/service.ts';

describe('keys', () => {
  let h: Harness;
  beforeEach(() => {
    h = inMemoryService();
  });

  it('registers, shows and replaces a key; a replacement re-renders the blocks of the active grants', async () => {
    assert.deepEqual((await h.service.command(ENG, 'key')).reply, { kind: 'no-key' });
    const line = publicKeyLine();
    const added = await h.run(h.service.command(ENG, `key add ${line}`));
    assert.equal(added.reply?.kind === 'key-saved' && added.reply.replaced, false);
    const shown = await h.service.command(ENG, 'key');
    assert.equal(shown.reply?.kind === 'key' && shown.reply.key.line, line.split(' ').slice(0, 2).join(' '), 'stored without the comment');
    const id = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(id, ALICE));
    const syncs = h.sync.synced.length;
    const replaced = await h.run(h.service.command(ENG, `key add ${publicKeyLine()}`));
    assert.equal(replaced.reply?.kind === 'key-saved' && replaced.reply.replaced, true);
    assert.equal(h.sync.synced.length, syncs + 1, 'the active grant now renders with the new key');
    assert.deepEqual(h.audit.filter((e) => e.actor === ENG && e.type.startsWith('key-')).map((e) => e.type), ['key-registered', 'key-replaced']);
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

  it('removing the key ends every active grant’s line at once', async () => {
    assert.deepEqual((await h.service.command(ENG, 'key remove')).reply, { kind: 'no-key-to-remove' });
    await h.registerKey(ENG);
    const id = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(id, ALICE));
    assert.deepEqual(h.sync.blocks.get('bastion'), [id]);
    const out = await h.run(h.service.command(ENG, 'key remove'));
    assert.equal(out.reply?.kind === 'key-removed' && out.reply.activeGrants, 1);
    assert.deepEqual(h.sync.blocks.get('bastion'), [], 'the line is gone');
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
