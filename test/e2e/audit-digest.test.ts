// test-timeout: 8m
// The daily digest across three broker replicas on one Redis: the policy file is changed while they run so the
// digest is due within the next minute or two in a non-UTC time zone (a live reload reschedules it), and exactly
// one jit_audit_digest post lands in the audit channel, from one replica, whose chain head `audit verify
// --checkpoint` accepts against an export. A duplicate job of the same day posts nothing more.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { localDate } from '../../src/domain/audit-digest.ts';
import { DIGEST_QUEUE, DIGEST_SCHEDULER_ID, firedAt } from '../../src/scheduling/digest-jobs.ts';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { QUEUE_PREFIX } from '../../src/store/redis-keys.ts';
import { startFleet, type Fleet } from '../support/broker-fleet.ts';
import { jitJump } from '../support/cli.ts';
import { approvalMessage, metadata, posts, until } from '../support/flow.ts';
import { brokerEnv, writePolicyFile } from '../support/policy-file.ts';
import { AUDIT_CHANNEL, ENGINEER, OWNER, SIGNING_SECRET, TEAM_ID, startWorld, type World } from '../support/world.ts';

const TZ = 'Asia/Kolkata'; // UTC+05:30: a local date and time that is not UTC's
const POLICY = 'digest-policy.yaml';

/** "HH:MM:SS" of `ms` in TZ. */
function localHHMMSS(ms: number): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(ms);
}

describe('daily audit digest across three replicas', () => {
  let world: World;
  let fleet: Fleet;
  let redis: Redis;
  let queue: Queue;
  before(async () => {
    world = await startWorld();
    // The world's in-process broker would be a fourth replica: only the three broker processes run.
    await world.broker.stop();
    redis = new Redis(world.redisUrl);
    queue = new Queue(DIGEST_QUEUE, { connection: redis, prefix: QUEUE_PREFIX });
    // Scheduled far from now at start: only the reload below brings it near.
    const far = localHHMMSS(Date.now() + 12 * 3_600_000).slice(0, 5);
    fleet = await startFleet({
      replicas: 3,
      dir: world.dir,
      slack: world.slack,
      signingSecret: SIGNING_SECRET,
      teamId: TEAM_ID,
      env: brokerEnv(world, POLICY, { audit: { digest: { at: far, timezone: TZ } } }),
    });
  });
  after(async () => {
    await fleet?.stopAll();
    await queue?.close();
    redis?.disconnect();
    await world?.stop();
  });

  const digestCalls = () => posts(world, AUDIT_CHANNEL).filter((c) => metadata(c)?.event_type === 'jit_audit_digest');
  /** the digests Slack took (a refused call is recorded too, with its error) */
  const digests = () => digestCalls().filter((c) => !c.error);

  it('posts exactly one digest at the configured local time, with a chain head that verify accepts', async () => {
    // Something to summarise: a key, a request approved into an active grant.
    assert.match((await fleet.command(ENGINEER, `key add ${world.engineerKey.publicKey}`)).json?.text ?? '', /Key registered/);
    const res = await fleet.command(ENGINEER, 'request internal-2 30m digest material');
    const id = /Request `(r[a-z0-9]+)`/.exec(res.json?.text ?? '')?.[1];
    assert.ok(id, res.body);
    const msg = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id), 30_000);
    await fleet.blockAction(OWNER, { ...findButton(msg.blocks, 'jit_approve'), message: { channel: msg.channel, ts: msg.ts } });
    await until('activated in the audit channel', () => posts(world, AUDIT_CHANNEL).some((c) => metadata(c)?.event_payload.audit_type === 'activated'), 60_000);

    // Due 20 s from now (a whole second), in TZ; every replica reloads the changed file and reschedules first.
    const due = Math.ceil((Date.now() + 20_000) / 1000) * 1000;
    const at = localHHMMSS(due);
    writePolicyFile(world, POLICY, { audit: { digest: { at, timezone: TZ } } });
    await until(
      'the scheduler moved to the new time',
      async () => {
        const s = await queue.getJobScheduler(DIGEST_SCHEDULER_ID);
        return s?.pattern === `${Number(at.slice(6))} ${Number(at.slice(3, 5))} ${Number(at.slice(0, 2))} * * *` && s.tz === TZ;
      },
      60_000,
      200,
    );
    const delayed = await queue.getDelayed();
    assert.deepEqual(delayed.map((j) => firedAt(j)), [due], 'one job, at the new time: the old one went with the reschedule');

    const [post] = await until('the digest in the audit channel', () => (digests().length > 0 ? digests() : undefined), 180_000, 200);
    const payload = metadata(post!)!.event_payload;
    assert.equal(payload.digest_date, localDate(due, TZ));
    assert.ok(payload.count_requested >= 1 && payload.count_approved >= 1, JSON.stringify(payload));
    assert.ok(String(post!.args.text).includes(`\`${id}\``), 'the active grant is among the longest');
    assert.match(String(post!.args.text), /Standing access[^\n]*\n• `bastion`: none/);

    // The chain head is a checkpoint: an export passes through it, a wrong hash at that seq fails.
    const checkpoint = `${payload.chain_seq}:${payload.chain_hash}`;
    assert.match(checkpoint, /^[1-9][0-9]*:[0-9a-f]{64}$/);
    const exported = await jitJump(['audit', 'export', '--since', '2020-01-01'], { REDIS_URL: world.redisUrl });
    assert.equal(exported.code, 0, exported.stderr);
    const file = join(world.dir, 'digest-export.jsonl');
    writeFileSync(file, exported.stdout);
    const ok = await jitJump(['audit', 'verify', file, '--checkpoint', checkpoint]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /passes through 1 checkpoint/);
    const forged = await jitJump(['audit', 'verify', file, '--checkpoint', `${payload.chain_seq}:${'0'.repeat(64)}`]);
    assert.equal(forged.code, 1);

    // A duplicate job of the same day (a retry, a second scheduler tick) runs to completion and posts nothing.
    const again = await queue.add('digest', {}, { attempts: 1 });
    const states: string[] = [];
    await until('the duplicate job ran', async () => {
      const state = await again.getState();
      if (states.at(-1) !== state) states.push(state);
      return state === 'completed' ? true : undefined;
    }, 60_000, 200).catch((err: Error) => {
      throw new Error(`${err.message}: states ${states.join(' → ')}; ${fleet.log(0).split('\n').filter((l) => /digest/i.test(l)).slice(-5).join('\n')}`);
    });
    assert.equal(digests().length, 1, 'exactly one digest in the audit channel');
    assert.deepEqual(digestCalls().map((c) => c.error), [undefined], 'and no other attempt');
    const posters = [0, 1, 2].filter((i) => /"msg":"audit digest posted"/.test(fleet.log(i)));
    assert.equal(posters.length, 1, `posted by one replica: ${posters.join()}`);
    assert.deepEqual(fleet.unexpectedExits, []);
  });
});
