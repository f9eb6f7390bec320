// The daily digest's run on a real Redis: one post per local date however many runs race or retry, the window
// from the previous digest's end, a run that died between claim and mark taken over (posting only if the audit
// channel does not have it yet), a refused post retried, and an unreadable jump server named, not fatal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { DailyDigest, DigestBusy, type DigestPoster } from '../../src/audit/daily-digest.ts';
import type { AuditDigest } from '../../src/domain/audit-digest.ts';
import { AuditLog } from '../../src/store/audit-log.ts';
import { DigestStore } from '../../src/store/digest-store.ts';
import { RequestStore } from '../../src/store/request-store.ts';
import { samplePolicy } from '../domain/fixtures.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

const DAY = 86_400_000;
// Events are selected by the time Redis stored them (its own clock): the scheduler fired a second ago, and the test's clock (FIRED + 5 s) is just ahead of Redis's.
const FIRED = Date.now() - 1_000;
/** the policy's digest zone is UTC: the local date of an instant */
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const D0 = dateOf(FIRED);
const D1 = dateOf(FIRED + DAY);

/** The audit channel as the digest sees it: what was posted, by date; `fail` refuses the next posts. */
class FakeChannel implements DigestPoster {
  posts: { date: string; digest: AuditDigest }[] = [];
  fail = 0;
  lookedUp = 0;
  async postDigest(digest: AuditDigest, date: string): Promise<void> {
    if (this.fail > 0) {
      this.fail--;
      throw new Error('slack said no');
    }
    this.posts.push({ date, digest });
  }
  async digestPosted(date: string): Promise<boolean> {
    this.lookedUp++;
    return this.posts.some((p) => p.date === date);
  }
}

describe('daily digest run', () => {
  const db = useFreshRedis();
  let now = FIRED + 5_000;

  function digestOn(redis: Redis, channel: FakeChannel, standing = async () => [{ jumpHost: 'bastion', keys: [] }, { jumpHost: 'edge', keys: [] }]) {
    return new DailyDigest({ store: new DigestStore(redis), poster: channel, policy: samplePolicy(), standing, clock: { now: () => now }, logger: pino({ level: 'silent' }), leaseMs: 300 });
  }

  it('posts once per local date however many runs race and retry; the next window starts where this one ended', async () => {
    now = FIRED + 5_000;
    const requests = new RequestStore(db.redis);
    await requests.appendAudit({ type: 'requested', at: now - 1000, requestId: 'r1', requester: 'U0ENG', host: 'db-prod-1' });
    await requests.appendAudit({ type: 'refused', at: now - 500, actor: 'U0ENG', code: 'rate-limited' });
    const head = await new AuditLog(db.redis).head();
    const channel = new FakeChannel();
    const connections = Array.from({ length: 5 }, () => new Redis(db.url));
    try {
      const outcomes = await Promise.allSettled(connections.map((c) => digestOn(c, channel).run(FIRED)));
      const settled = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason instanceof DigestBusy ? 'busy' : String(o.reason)));
      assert.equal(settled.filter((s) => s === 'posted').length, 1, settled.join());
      assert.ok(settled.every((s) => ['posted', 'busy', 'already-posted'].includes(s)), settled.join());
      // Retries and a duplicate job of the same day, later that day: nothing more.
      now += 3_600_000;
      assert.equal(await digestOn(db.redis, channel).run(FIRED), 'already-posted');
      assert.equal(await digestOn(db.redis, channel).run(FIRED + 60_000), 'already-posted');
    } finally {
      for (const c of connections) c.disconnect();
    }
    assert.equal(channel.posts.length, 1);
    const [first] = channel.posts;
    assert.equal(first!.date, D0);
    assert.deepEqual(first!.digest.chainHead, { seq: head!.seq, hash: head!.hash });
    assert.deepEqual(first!.digest.counts, { requested: 1, refused: 1 });
    assert.equal(first!.digest.since, FIRED + 5_000 - DAY, 'the first digest covers the last 24 h');
    // The next day: its window starts where the first ended.
    now = FIRED + DAY + 2_000;
    assert.equal(await digestOn(db.redis, channel).run(FIRED + DAY), 'posted');
    assert.equal(channel.posts[1]!.date, D1);
    assert.equal(channel.posts[1]!.digest.since, first!.digest.until);
    assert.deepEqual(channel.posts[1]!.digest.counts, {}, 'the first window’s events are not counted again');
  });

  it('a run that died after claiming: busy while its lease holds, then taken over; posted only if Slack does not have it', async () => {
    now = FIRED + 5_000;
    const store = new DigestStore(db.redis);
    const channel = new FakeChannel();
    // Died before posting.
    assert.equal((await store.claim(D0, 300)).status, 'fresh');
    await assert.rejects(digestOn(db.redis, channel).run(FIRED), DigestBusy);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await digestOn(db.redis, channel).run(FIRED), 'posted');
    assert.equal(channel.lookedUp, 1, 'looked in the channel before posting');
    assert.equal(channel.posts.length, 1);
    // Died after posting, before marking it: the next day's digest is in the channel already.
    assert.equal((await store.claim(D1, 300)).status, 'fresh');
    channel.posts.push({ date: D1, digest: channel.posts[0]!.digest });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await digestOn(db.redis, channel).run(FIRED + DAY), 'found-in-slack');
    assert.equal(channel.posts.length, 2, 'not posted again');
    assert.equal(await digestOn(db.redis, channel).run(FIRED + DAY), 'already-posted');
  });

  it('a post Slack refuses lets the lease go: the next try posts, once', async () => {
    now = FIRED + 5_000;
    const channel = new FakeChannel();
    channel.fail = 1;
    await assert.rejects(digestOn(db.redis, channel).run(FIRED), /slack said no/);
    assert.equal(await digestOn(db.redis, channel).run(FIRED), 'posted');
    assert.equal(channel.posts.length, 1);
  });

  it('a jump server that cannot be read is named in the digest, which still posts', async () => {
    now = FIRED + 5_000;
    const channel = new FakeChannel();
    const run = digestOn(db.redis, channel, async () => {
      throw new Error('no route to host');
    });
    assert.equal(await run.run(FIRED), 'posted');
    assert.deepEqual(channel.posts[0]!.digest.standing, [
      { jumpHost: 'bastion', keys: [], error: 'no route to host' },
      { jumpHost: 'edge', keys: [], error: 'no route to host' },
    ]);
  });
});
