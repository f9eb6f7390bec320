// The rest of a request's life: time-outs, expiry warnings, list, early revocation, and a key change ending grants.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { approvalMessage, blockLines, click, posts, postsAbout, requestAccess, runJobNow, until } from '../support/flow.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { AUDIT_CHANNEL, ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';

describe('request lifecycle', () => {
  let world: World;
  before(async () => {
    // Real-clock defaults (1h time-out, 10m warning): no request times out or expires under a test by accident.
    // The tests about a time-out or a warning run that job on cue (runJobNow) instead of waiting for the clock.
    world = await startWorld();
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    await world?.stop();
  });

  it('times out a request nobody decides, and tells the requester', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-2 10m nobody home');
    await runJobNow(world, 'timeout', id);
    const timedOut = await until('time-out DM', () => postsAbout(world, 'jit_request_closed', id, `D${ENGINEER}`)[0], 60_000);
    assert.equal(timedOut.args.metadata.event_payload.state, 'timed-out');
    assert.equal((await world.broker.requests.get(id))?.state, 'timed-out');
    await until('message updated', () => /Timed out/.test(JSON.stringify(world.slack.messages(`D${OWNER}`).find((m) => JSON.stringify(m.blocks).includes(id))?.blocks)));
  });

  it('warns before expiry, lists the grant, and revokes it early on request', async () => {
    // Longer than twice the 10m warning, or no warning is scheduled.
    const id = await requestAccess(world, ENGINEER, 'request internal-2 30m warn me');
    await click(world, id, OWNER);
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    const list = await world.sender.command(ENGINEER, 'list');
    assert.match(list.json.text, new RegExp(`\`${id}\` \\*internal-2\\* active until`));
    await runJobNow(world, 'expiry-warning', id);
    await until('warning', () => postsAbout(world, 'jit_grant_warning', id, `D${ENGINEER}`)[0], 60_000);
    const other = await world.sender.command(OWNER, `revoke ${id}`);
    assert.match(other.json.text, /revoked/, 'an owner of the host may revoke');
    await until('line removed', () => blockLines(world).length === 0 || undefined);
    const again = await world.sender.command(ENGINEER, `revoke ${id}`);
    assert.match(again.json.text, /is revoked; nothing to revoke/);
    const late = await sshHop({ jump: world.jump, target: world.internal2, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(late.outcome, 'refused-auth', describeSsh(late));
    const told = await until('requester told', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`)[0]);
    assert.deepEqual([told.args.metadata.event_payload.state, told.args.metadata.event_payload.decided_by], ['revoked', 'U0OWNER1']);
    assert.match(told.args.text, /revoked by <@U0OWNER1>/);
  });

  it('cancels a pending request, and refuses to touch someone else’s', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-2 10m changed my mind');
    const stranger = await world.sender.command('U0STRANGER', `revoke ${id}`);
    assert.match(stranger.json.text, new RegExp(`No request \`${id}\` of yours`));
    const res = await world.sender.command(ENGINEER, `revoke ${id}`);
    assert.match(res.json.text, /cancelled/);
    assert.equal((await world.broker.requests.get(id))?.state, 'cancelled');
  });

  it('ends active grants when the key is replaced: the new key gets no access without a new approval', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-2 10m rotate');
    // The owner approves the key they see: its fingerprint stands in the approval message.
    const registered = await world.broker.keys.get(ENGINEER);
    const shown = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    assert.ok(JSON.stringify(shown.blocks).includes(registered!.fingerprint), JSON.stringify(shown.blocks));
    await click(world, id, OWNER);
    await until('key line', () => blockLines(world).find((l) => l.endsWith(`jit:${id}`)));
    const fresh = generateUserKey(world.dir, 'engineer_new');
    world.internal2.writeAuthorizedKeys(`${world.engineerKey.publicKey}\n${fresh.publicKey}\n`);
    const res = await world.sender.command(ENGINEER, `key add ${fresh.publicKey}`);
    assert.match(res.json.text, /^Key replaced: .* Your 1 active grant\(s\) ended: access is granted for the key that was approved only/);
    await until('line removed', () => blockLines(world).length === 0 || undefined);
    const req = await world.broker.requests.get(id);
    assert.deepEqual([req?.state, req?.endReason], ['revoked', 'key-changed']);
    const told = await until('requester told', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`)[0]);
    assert.match(told.args.text, /ended because your key changed/);
    await until('audited', () => posts(world, AUDIT_CHANNEL).find((c) => new RegExp(`\\*revoked\\*.*${id}.*\\(key changed\\)`).test(c.args.text)));
    await until('approval message shows it', () => /key changed/.test(JSON.stringify(approvalMessage(world, `D${OWNER}`, id)?.blocks)));
    // internal2 accepts both keys: a refusal can only come from the jump server.
    for (const identityFile of [fresh.privateKeyPath, world.engineerKey.privateKeyPath]) {
      const hop = await sshHop({ jump: world.jump, target: world.internal2, identityFile });
      assert.equal(hop.outcome, 'refused-auth', describeSsh(hop));
    }
    // Leave the engineer as the other tests expect: the original key, no grant.
    assert.match((await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`)).json.text, /^Key replaced: [^.]*\.$/);
  });
});
