// A grant's end against the real broker, sshd, Redis and BullMQ: the line leaves at the grant's end even when
// its revoke job is lost (the jump server's expiry timer), people are told of an end only once its line is gone,
// and an expiry whose sync fails is still told, retried by its job, and finished when the server is back.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { auditTypes, blockLines, click, jobStatus, postsAbout, removeJob, requestAccess, runJobNow, until } from '../support/flow.ts';
import { ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';

describe('punctual ends', () => {
  let world: World;
  before(async () => {
    // No reconcile pass during a test: whatever ends a grant here is the expiry timer or the revoke job.
    // Short sync retries: an unreachable jump server fails a sync in well under a second.
    world = await startWorld({ reconcileInterval: '10m', tuning: { syncAttempts: 2, syncRetryBaseMs: 50 } });
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    await world?.stop();
  });

  const hasLine = (id: string) => blockLines(world).some((l) => l.includes(id));
  /** When authorized_keys last got new content (the temp file's write, before its rename onto the path). */
  const writtenAt = () => statSync(world.jump.authorizedKeysPath).mtimeMs;
  /** The file clock is coarse (a tick, a few ms, behind): allowance when comparing it with Date.now(). */
  const FILE_CLOCK_MS = 20;

  async function activeGrant(text: string): Promise<string> {
    const id = await requestAccess(world, ENGINEER, text);
    await click(world, id, OWNER);
    await until('key line', () => hasLine(id), 60_000);
    return id;
  }

  it('the line leaves at the grant’s end even when its revoke job is lost', { timeout: 120_000 }, async () => {
    // Long enough for the approval to land and the job to be taken away before the end, on a loaded machine.
    const id = await activeGrant('request internal-2 10s its job gets lost');
    // The revoke job is scheduled right after the line is written: taken away as soon as it is there.
    await until('revoke job removed', async () => (await removeJob(world, 'revoke', id)) || undefined, 30_000);
    const expiresAt = (await world.broker.requests.get(id))?.expiresAt;
    assert.ok(expiresAt !== undefined);
    await until('line gone without its job', () => !hasLine(id) || undefined, 60_000, 10);
    assert.ok(writtenAt() >= expiresAt - FILE_CLOCK_MS, `written ${writtenAt() - expiresAt} ms after the end: not before it`);
    // The expiry timer took it out: no job ran, or one ran only after the line was gone (once in a loaded run the
    // job was back in the queue; the line had left 60 ms before it ran all the same).
    const after = await world.broker.requests.get(id);
    if (after?.state !== 'active') assert.ok((after?.endedAt ?? 0) >= writtenAt() - FILE_CLOCK_MS, `the grant was ${after?.state} ${writtenAt() - (after?.endedAt ?? 0)} ms before its line went`);
  });

  it('the requester is told of an expiry or an owner’s revocation only once the line is gone', { timeout: 120_000 }, async () => {
    // Minutes: the expiry timer stays out of it; the job is run now.
    const expiring = await activeGrant('request internal-2 10m told after');
    await runJobNow(world, 'revoke', expiring);
    const expired = await until('expiry DM', () => postsAbout(world, 'jit_grant_ended', expiring, `D${ENGINEER}`)[0], 60_000);
    assert.equal(expired.args.metadata.event_payload.state, 'expired');
    assert.equal(hasLine(expiring), false);
    assert.ok(writtenAt() <= expired.at + FILE_CLOCK_MS, `line taken out ${writtenAt() - expired.at} ms after the DM`);

    const revoked = await activeGrant('request internal-2 10m revoked by an owner');
    await world.sender.command(OWNER, `revoke ${revoked}`);
    const told = await until('revocation DM', () => postsAbout(world, 'jit_grant_ended', revoked, `D${ENGINEER}`)[0], 60_000);
    assert.equal(told.args.metadata.event_payload.state, 'revoked');
    assert.equal(hasLine(revoked), false);
    assert.ok(writtenAt() <= told.at + FILE_CLOCK_MS, `line taken out ${writtenAt() - told.at} ms after the DM`);
  });

  it('an expiry whose sync fails is told, retried by its job, and its line goes when the server is back', { timeout: 180_000 }, async () => {
    const id = await activeGrant('request internal-2 10m through an outage');
    await world.jump.kill9();
    try {
      await runJobNow(world, 'revoke', id);
      const told = await until('expiry DM while the server is down', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`)[0], 60_000);
      assert.equal(told.args.metadata.event_payload.state, 'expired');
      assert.equal((await world.broker.requests.get(id))?.state, 'expired');
      const failed = await until('the job failed and waits for its retry', async () => {
        const s = await jobStatus(world, 'revoke', id);
        return s && s.attemptsMade >= 1 && s.state !== 'failed' && s;
      }, 60_000, 50);
      assert.ok(failed.failedReason, 'the failure is recorded on the job');
      assert.equal(hasLine(id), true, 'nothing could take the line out yet');
    } finally {
      await world.jump.restart();
    }
    await until('line gone once the server is back', () => !hasLine(id) || undefined, 90_000, 50);
    await until('the job completed', async () => (await jobStatus(world, 'revoke', id))?.state === 'completed' || undefined, 60_000, 100);
    await until('expiry audited', () => auditTypes(world, id).includes('expired') || undefined, 60_000);
    assert.equal(postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`).length, 1, 'told once, not at every retry');
    assert.equal(auditTypes(world, id).filter((t) => t === 'expired').length, 1);
  });
});
