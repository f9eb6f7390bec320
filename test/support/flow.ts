// Helpers for end-to-end tests: waiting, reading the jump server's block, finding messages, clicking.
import assert from 'node:assert/strict';
import { Queue, type Job } from 'bullmq';
import { jobId, QUEUE_NAME } from '../../src/scheduling/access-jobs.ts';
import type { AccessJobName } from '../../src/service/ports.ts';
import { queuePrefix, queuePrefixFor } from '../../src/store/redis-keys.ts';
import { asCommandClient, createRedisClient, parseRedisUrl } from '../../src/store/redis-connection.ts';
import { parseAuthorizedKeys } from '../../src/domain/managed-block.ts';
import type { SlackCall } from '../../src/sandbox/local-slack-api.ts';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { AUDIT_CHANNEL, type World } from './world.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function blockLines(world: World): string[] {
  // The BEGIN marker carries the write's generation: find it the way the broker does.
  return parseAuthorizedKeys(world.jump.readAuthorizedKeys()).block ?? [];
}

export function posts(world: World, channel?: string): SlackCall[] {
  return world.slack.calls.filter((c) => c.method === 'chat.postMessage' && (channel === undefined || c.args.channel === channel));
}

/** The metadata a post carried (every message the broker posts has some). */
export function metadata(call: SlackCall): { event_type: string; event_payload: Record<string, any> } | undefined {
  return call.args.metadata;
}

/** Audit event types posted to the audit channel, in order (read from the posts' metadata). */
export function auditTypes(world: World, requestId?: string): string[] {
  return posts(world, AUDIT_CHANNEL)
    .map((c) => metadata(c)?.event_payload)
    .filter((p) => requestId === undefined || p?.request_id === requestId)
    .map((p) => String(p?.audit_type ?? '?'));
}

/** Posts of one event type about one request (metadata), e.g. the connect instructions: 'jit_grant_active'. */
export function postsAbout(world: World, eventType: string, requestId: string, channel?: string): SlackCall[] {
  return posts(world, channel).filter((c) => metadata(c)?.event_type === eventType && metadata(c)?.event_payload.request_id === requestId);
}

/** Request ids of every approval message posted so far, with their requesters. */
function pendingRequests(world: World): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of posts(world)) {
    const m = metadata(c);
    if (m?.event_type === 'jit_request_pending') out.set(String(m.event_payload.request_id), String(m.event_payload.requester));
  }
  return out;
}

/** The approval message for a request, as it looks now, in a given channel. */
export function approvalMessage(world: World, channel: string, requestId: string) {
  return world.slack.messages(channel).find((m) => JSON.stringify(m.blocks ?? []).includes(requestId));
}

/**
 * Sends `/jump request …` and returns the new request's id, read from the approval message's metadata (the
 * ephemeral reply carries none). One request at a time per person: two new ones would be ambiguous.
 */
export async function requestAccess(world: World, user: string, text: string): Promise<string> {
  const known = new Set(pendingRequests(world).keys());
  const res = await world.sender.command(user, text);
  assert.equal(res.status, 200);
  const fresh = await until(`approval message for ${user}'s request (reply: ${res.body})`, () => {
    const ids = [...pendingRequests(world)].filter(([id, requester]) => requester === user && !known.has(id)).map(([id]) => id);
    return ids.length > 0 && ids;
  });
  assert.equal(fresh.length, 1, `one new request expected, got ${fresh.join(', ')}`);
  return fresh[0]!;
}


/** Waits for the approval message in `owner`'s DM and clicks Approve (or Deny) as that owner. */
export async function click(world: World, id: string, owner: string, actionId = 'jit_approve', channel = `D${owner}`): Promise<void> {
  const msg = await until('approval message', () => approvalMessage(world, channel, id));
  const b = findButton(msg.blocks, actionId);
  const res = await world.sender.blockAction(owner, { actionId: b.actionId, value: b.value, blockId: b.blockId, message: { channel: msg.channel, ts: msg.ts } });
  assert.equal(res.status, 200);
}

/** The broker's job queue, through the broker's own client factory (a single server, a Sentinel set or a Cluster alike). */
async function withQueue<T>(world: World, fn: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = asCommandClient(createRedisClient(parseRedisUrl(world.redisUrl), 'blocking', { connectionName: 'jit-jump:test' }));
  const queue = new Queue(QUEUE_NAME, { connection, prefix: queuePrefix(queuePrefixFor(world.redisPrefix)) });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** A request's job as it stands (a warning's id names the grant end it is for: the latest one). */
async function findJob(queue: Queue, name: AccessJobName, requestId: string): Promise<Job | undefined> {
  if (name !== 'expiry-warning') return (await queue.getJob(jobId(name, requestId))) ?? undefined;
  const jobs = await queue.getJobs(['delayed', 'wait', 'active', 'completed']);
  return jobs.filter((j) => j?.name === name && j.data.requestId === requestId).sort((a, b) => b.timestamp - a.timestamp)[0];
}

/**
 * Runs a request's delayed job (revoke at expiry, expiry warning, approval time-out) now, through the broker's own
 * worker and handler: a test about what expiry does, not about the clock, neither waits for it nor races it.
 * Waits until the job exists (the broker schedules it after the click or request returns).
 */
export async function runJobNow(world: World, name: AccessJobName, requestId: string): Promise<void> {
  await withQueue(world, async (queue) => {
    const job = await until(`the ${name} job of ${requestId}`, () => findJob(queue, name, requestId), 60_000);
    // promote() refuses a job that is no longer delayed: then it is running or done, which is what we want.
    if (await job.isDelayed()) await job.promote().catch(async (err: unknown) => assert.ok(!(await job.isDelayed()), String(err)));
  });
}

/** Waits until the request's job is delayed (again) with data `matches` accepts: its data then. */
export function delayedJobData(world: World, name: AccessJobName, requestId: string, matches: (data: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return withQueue(world, (queue) =>
    until(`the ${name} job of ${requestId} delayed`, async () => {
      const job = await findJob(queue, name, requestId);
      return job && (await job.isDelayed()) && matches(job.data) && job.data;
    }, 60_000),
  );
}

/** Removes a request's delayed job, as if it were lost; whether there was one to remove. */
export function removeJob(world: World, name: AccessJobName, requestId: string): Promise<boolean> {
  return withQueue(world, async (queue) => (await queue.remove(jobId(name, requestId))) === 1);
}

/** A request's job as BullMQ holds it: its state, the attempts it made so far and why the last one failed. */
export function jobStatus(world: World, name: AccessJobName, requestId: string): Promise<{ state: string; attemptsMade: number; failedReason?: string } | undefined> {
  return withQueue(world, async (queue) => {
    const job = await findJob(queue, name, requestId);
    return job && { state: await job.getState(), attemptsMade: job.attemptsMade, failedReason: job.failedReason };
  });
}
