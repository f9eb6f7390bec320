// The reconciler against a real installation: it repairs drift on the jump server, moves stuck requests on,
// alerts on hand edits and on an unreachable jump server, and `reconcile --dry-run` shows the same plan.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { BLOCK_BEGIN, BLOCK_END } from '../../src/domain/managed-block.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { Queue } from 'bullmq';
import { QUEUE_PREFIX } from '../../src/store/redis-keys.ts';
import { RECONCILE_QUEUE } from '../../src/scheduling/reconcile-jobs.ts';
import { auditTypes, blockLines, click, posts, postsAbout, requestAccess, until } from '../support/flow.ts';
import { writePolicyFile } from '../support/policy-file.ts';
import { AUDIT_CHANNEL, ENGINEER, OWNER, startWorld, type World } from '../support/world.ts';
import { asRequested } from '../support/approval-rules.ts';

const HAND_WRITTEN = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHandWrittenKeyHandWrittenKeyHandWrittenKeyX someone@laptop';

function draft(world: World, id: string, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id,
    requester: ENGINEER,
    host: 'internal-2',
    jumpHost: 'bastion',
    durationMs: 600_000, // minutes: outlives any test that does not override it, on a loaded machine too
    reason: 'reconciler test',
    state: 'pending',
    createdAt: Date.now(),
    requiredApprovals: 1,
    approvers: [],
    ...overrides,
  };
}

function alerts(world: World, pattern: RegExp) {
  return posts(world, AUDIT_CHANNEL).filter((c) => c.args.metadata?.event_type === 'jit_jump_host_alert' && pattern.test(c.args.text));
}

function connectDms(world: World, id: string) {
  return postsAbout(world, 'jit_grant_active', id, `D${ENGINEER}`);
}

/** jit-jump reconcile --dry-run as an operator runs it, against the world's Redis and jump server. */
function dryRun(world: World): { code: number | null; out: string } {
  const policyPath = writePolicyFile(world, 'dry-run-policy.yaml');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'reconcile', '--dry-run', '--config', policyPath], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', REDIS_URL: world.redisUrl },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('reconciler', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ reconcileInterval: '1s', approvalTimeout: '1h', tuning: { activationLeaseMs: 1500 } });
    await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    await world?.stop();
  });

  it('removes orphan lines, restores missing ones, alerts on hand edits; the dry run shows the same plan first', async () => {
    // Two grants through the normal flow, then drift: one grant ends in the store without a sync (a broker
    // killed mid-revocation), the other's line is deleted by hand, and a stranger's key is pasted into the block.
    // Minutes: it must stay active through the dry run (a process of its own) and the repair on a loaded machine.
    const kept = await requestAccess(world, ENGINEER, 'request internal-2 10m stays');
    await click(world, kept, OWNER);
    await until('kept line', () => blockLines(world).some((l) => l.includes(kept)));
    const line = blockLines(world).find((l) => l.includes(kept))!;
    const fileBefore = world.jump.readAuthorizedKeys();
    const outside = fileBefore.split(BLOCK_BEGIN)[0]!;

    // The reconciler is paused while the dry run looks, so that it sees the drift.
    const reconcileQueue = new Queue(RECONCILE_QUEUE, { connection: { url: world.redisUrl }, prefix: QUEUE_PREFIX });
    await reconcileQueue.pause();
    // Not a pause of our own: a reconcile already running finishes, and no other starts on a paused queue.
    await until('no reconcile running', async () => (await reconcileQueue.getActiveCount()) === 0 || undefined, 60_000, 50);
    world.jump.writeAuthorizedKeys(`${outside}${BLOCK_BEGIN}\n${HAND_WRITTEN}\n${BLOCK_END}\n`);
    const plan = dryRun(world);
    assert.equal(blockLines(world)[0], HAND_WRITTEN, 'the dry run changed nothing');
    await reconcileQueue.resume();
    await reconcileQueue.close();
    assert.equal(plan.code, 0, plan.out);
    console.log(plan.out);
    assert.match(plan.out, /jump host bastion:/);
    assert.match(plan.out, /\+ add \(active grant missing\): .*jit:r/);
    assert.match(plan.out, /- remove \(not written by jit-jump, edited by hand\): .*ssh-ed25519 AAAAC3NzaC1lZDI1/);

    // The reconciler (every second) restores the line and removes the stranger's key, and says so in the audit channel.
    await until('block repaired', () => {
      const lines = blockLines(world);
      return lines.length === 1 && lines[0] === line;
    });
    assert.equal(world.jump.readAuthorizedKeys().split(BLOCK_BEGIN)[0], outside, 'lines outside the block untouched');
    const alert = await until('hand-edit alert', () => alerts(world, /did not write \(edited by hand\)/)[0]);
    assert.match(alert.args.text, /on `bastion`/);
    assert.doesNotMatch(alert.args.text, /HandWrittenKeyHandWrittenKey/, 'the alert names the key type, not the whole key');
    const repaired = await until('drift-repaired event', () =>
      posts(world, AUDIT_CHANNEL).find((c) => c.args.metadata?.event_payload.audit_type === 'drift-repaired' && c.args.metadata.event_payload.host === 'bastion'),
    );
    assert.match(repaired.args.text, /1 line\(s\) jit-jump did not write removed from the block/);

    // A grant that ended in the store while its line stayed (crash between the transition and the sync).
    await world.broker.requests.transition({ id: kept, jumpHost: 'bastion' }, 'revoked', { type: 'revoked', at: Date.now(), requestId: kept, actor: ENGINEER }, { endedAt: Date.now() });
    await until('orphan removed', () => blockLines(world).length === 0 || undefined);
    // A wrong alert would come from the reconcile that removed the orphan: let two more finish before counting.
    const last = (await world.broker.requests.lastReconcile()) ?? 0;
    await until('two more reconciles', async () => ((await world.broker.requests.lastReconcile()) ?? 0) > last + 1500 || undefined, 60_000, 100);
    assert.equal(alerts(world, /did not write/).length, 1, 'an orphan the broker wrote is removed without a hand-edit alert');
  });

  it('finishes an activation whose replica died: line, revoke job and exactly one connect message', async () => {
    // The approval won in the store, then the process died before any follow-up (no job, no line, no message).
    const id = 'rstuckactivation1';
    const store = world.broker.requests;
    await store.create(draft(world, id), { type: 'requested', at: Date.now(), requestId: id, requester: ENGINEER, host: 'internal-2' });
    const outcome = await store.approve((await store.get(id))!, OWNER, Date.now(), asRequested((await store.get(id))!));
    assert.ok(outcome.ok && outcome.value.activated);
    await until('line installed by the reconciler', () => blockLines(world).some((l) => l.includes(id)), 60_000);
    await until('connect message', () => connectDms(world, id).length === 1 || undefined);
    // The follow-up leaves the activating index after its message is posted: wait for that, then nothing is owed.
    await until('nothing owed any more', async () => (await store.activationsOwed()).length === 0 || undefined, 60_000, 100);
    // Reconciles keep running: still one message.
    const last = (await store.lastReconcile()) ?? 0;
    await until('two more reconciles', async () => ((await store.lastReconcile()) ?? 0) > last + 1500 || undefined, 60_000, 100);
    assert.equal(connectDms(world, id).length, 1);
    await world.sender.command(ENGINEER, `revoke ${id}`);
    await until('line gone', () => !blockLines(world).some((l) => l.includes(id)) || undefined);
  });

  it('expires a grant whose revoke job was lost, and times out a request whose timeout job was never scheduled', async () => {
    const store = world.broker.requests;
    const id = 'rlostrevokejob1';
    await store.create(draft(world, id, { durationMs: 2000 }), { type: 'requested', at: Date.now(), requestId: id, requester: ENGINEER, host: 'internal-2' });
    await store.approve((await store.get(id))!, OWNER, Date.now(), asRequested((await store.get(id))!));
    await store.finishActivation(id); // as if the follow-up ran but its revoke job vanished
    await until('expired by the reconciler', async () => (await store.get(id))?.state === 'expired' || undefined, 60_000, 100);
    await until('expiry DM', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`).length > 0 || undefined);

    const pending = 'rlosttimeout1';
    // Made two hours ago (the approval timeout is one hour), and its timeout job never scheduled.
    await store.create(draft(world, pending, { createdAt: Date.now() - 2 * 3_600_000 }), { type: 'requested', at: Date.now(), requestId: pending });
    await until('timed out by the reconciler', async () => (await store.get(pending))?.state === 'timed-out' || undefined, 60_000, 100);
    await until('audit events posted', () =>
      auditTypes(world, pending).includes('timed-out') && auditTypes(world, id).includes('expired'),
    );
    assert.equal(auditTypes(world, id).filter((t) => t === 'expired').length, 1);
  });

  it('alerts once when the jump server is unreachable, naming the grants, and syncs it when it returns', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-2 10m through an outage');
    await click(world, id, OWNER);
    await until('line', () => blockLines(world).some((l) => l.includes(id)));
    await world.jump.kill9();
    // While it is down, the grant is revoked: its line cannot be taken out yet.
    const res = await world.sender.command(ENGINEER, `revoke ${id}`);
    assert.match(res.json.text, /revoked/);
    const alert = await until('unreachable alert', () => alerts(world, /unreachable after retries/)[0], 60_000, 100);
    assert.match(alert.args.text, /on `bastion`/);
    assert.match(alert.args.text, new RegExp(`line may remain.*${id}`));
    await world.jump.restart();
    await until('back alert', () => alerts(world, /reachable again/)[0], 60_000, 100);
    assert.equal(blockLines(world).some((l) => l.includes(id)), false, 'the revoked grant’s line went once the server returned');
    assert.equal(alerts(world, /unreachable after retries/).length, 1, 'one alert per outage');
  });
});
