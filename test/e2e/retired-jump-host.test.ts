// A jump server leaves the policy while a grant stands on it (real sshd, real Redis): the start stops naming
// it; put back with `retired: true`, its grant ends, its block is emptied on the real file, its record goes,
// the audit channel says the entry may be removed, and its hosts take no new requests.
// test-timeout: 8m
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { checkConfig } from '../../src/check-config.ts';
import { PolicyError, type Policy } from '../../src/config/policy.ts';
import { JumpHostRegistry } from '../../src/store/jump-host-registry.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import { blockLines, click, metadata, posts, postsAbout, requestAccess, until } from '../support/flow.ts';
import { writePolicyFile } from '../support/policy-file.ts';
import { AUDIT_CHANNEL, ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';

describe('retiring a jump server (end to end)', () => {
  let world: World;
  let redis: Redis;
  before(async () => {
    world = await startWorld();
    redis = new Redis(world.redisUrl);
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    redis?.disconnect();
    await world?.stop();
  });

  it('refuses to start without it, then retires it: grant ended, block emptied, record gone, no new requests', async () => {
    const original = world.policy;
    const bastion = original.jumpHosts[0]!;
    const registry = new JumpHostRegistry(redis, world.redisPrefix);
    const requests = new RequestStore(redis, world.redisPrefix);
    const id = await requestAccess(world, ENGINEER, 'request internal-2 30m retire me');
    await click(world, id, OWNER);
    const line = await until('key line', () => blockLines(world).find((l) => l.endsWith(`jit:${id}`)));
    assert.deepEqual((await registry.recorded()).map((r) => r.name), ['bastion'], 'the broker recorded the server it wrote to');

    // Removed from the policy (its hosts moved to a new entry): the start stops, naming it and the way out.
    const elsewhere = join(world.dir, 'elsewhere_authorized_keys');
    const moved: Policy = {
      ...original,
      jumpHosts: [{ ...bastion, name: 'bastion-new', authorizedKeysPath: elsewhere }],
      hosts: original.hosts.map((h) => ({ ...h, jumpHost: 'bastion-new' })),
    };
    await assert.rejects(world.restartBroker(moved), (err: Error) => {
      assert.ok(err instanceof PolicyError, String(err));
      assert.match(err.message, /jump server "bastion" is missing from the policy but it holds 1 key line\(s\) and 1 active grant\(s\)/);
      assert.match(err.message, /Put it back with `retired: true`/);
      return true;
    });
    // Same name, another file: the old file still holds the line.
    await assert.rejects(world.restartBroker({ ...original, jumpHosts: [{ ...bastion, authorizedKeysPath: elsewhere }] }), (err: Error) => {
      assert.match(err.message, /jump server "bastion" changed authorizedKeysPath/);
      assert.match(err.message, /Keep the old entry unchanged with `retired: true` and add the new one under a new name/);
      return true;
    });
    // check-config with REDIS_URL says the same before a deploy.
    const movedFile = writePolicyFile(world, 'moved.yaml', {
      jumpHosts: [{ name: 'bastion-new', address: bastion.address, port: bastion.port, user: bastion.user, hostKey: bastion.hostKey, privateKeyPath: bastion.privateKeyPath, authorizedKeysPath: elsewhere }],
      hosts: original.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, jumpHost: 'bastion-new', loginUser: h.loginUser, owners: h.owners })),
    });
    const printed: string[] = [];
    const code = await checkConfig(movedFile, { offline: true, print: (l) => printed.push(l), redisUrl: world.redisUrl, redisPrefix: world.redisPrefix });
    assert.equal(code, 1, printed.join('\n'));
    assert.ok(printed.some((l) => /^error jump server "bastion" is missing from the policy/.test(l) && /retired: true/.test(l)), printed.join('\n'));
    assert.deepEqual(blockLines(world), [line], 'a refused start changes nothing');
    assert.equal((await requests.get(id))?.state, 'active');

    // Put back retired: the grant ends, the block is emptied through the sync, and then the record is dropped.
    await world.restartBroker({ ...original, jumpHosts: [{ ...bastion, retired: true }] });
    const ended = await until('grant ended', async () => {
      const r = await requests.get(id);
      return r?.state === 'revoked' && r;
    }, 60_000);
    assert.equal(ended.endReason, 'jump-host-retired');
    await until('block emptied on the jump server', () => blockLines(world).length === 0 || undefined, 60_000);
    assert.ok(!world.jump.readAuthorizedKeys().includes(line), 'the line is gone from the real file');
    await until('record dropped', async () => (await registry.recorded()).length === 0 || undefined, 60_000);
    const alert = await until('audit: the entry may be removed', () =>
      posts(world, AUDIT_CHANNEL).find((c) => metadata(c)?.event_payload.audit_type === 'jump-host-alert' && /may now be removed from the policy/.test(String(c.args.text))),
    );
    assert.equal(metadata(alert)?.event_payload.host, 'bastion');
    const revokedAudit = await until('audit: revoked', () => posts(world, AUDIT_CHANNEL).find((c) => metadata(c)?.event_payload.request_id === id && metadata(c)?.event_payload.audit_type === 'revoked'));
    assert.match(String(revokedAudit.args.text), /jump server retired/);
    const dm = await until('requester told', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`)[0]);
    assert.match(String(dm.args.text), /jump server retired/);

    // Its hosts take no new requests.
    const refused = await world.sender.command(ENGINEER, 'request internal-1 10m after retirement');
    assert.match(refused.json.text, /internal-1 is reached through the jump server bastion, which is being retired/);
    // A restart now is clean: the record is gone, so nothing stops it.
    await world.restartBroker();
  });
});
