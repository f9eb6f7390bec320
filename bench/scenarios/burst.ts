// 5. Burst: `grants` people have asked for internal-2 (set up first, not timed); then the owner's Approve
// clicks are sent `concurrency` at a time as fast as the endpoint answers them, and the run ends when every
// line stands on the jump server. The broker runs in a process of its own (bench/broker-process.mjs, as
// `jit-jump start` runs it): the harness and the fake Slack stay in this one, so the throughput is the broker's,
// and its CPU time per approval (process.cpuUsage there) is its own. Writes are counted by inotify (each is a
// temp file renamed onto authorized_keys), beside the block's generation (taken per sync, so it may advance past
// the writes) and the broker's own sync counter (GET /metrics). BENCH_PROFILE=<prefix>: CPU profiles of the
// broker's process from the first click until every line is present (<prefix>-lines.cpuprofile), then until every
// follow-up is over (<prefix>-follow-ups.cpuprofile).
import { availableParallelism } from 'node:os';
import type { Redis } from 'ioredis';
import { blockGeneration } from '../../src/domain/managed-block.ts';
import { OWNER, type Environment } from '../../src/sandbox/environment.ts';
import { withBrokerChild, type BrokerChild } from '../broker-child.ts';
import { addKey, approvalMessages, prepareApprove, type Driven } from '../grants.ts';
import { KeysWatch, pool, until } from '../keys-watch.ts';
import { metricValue, summarize, type Row } from '../stats.ts';

async function syncCount(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return metricValue(text, 'jit_sync_duration_seconds_count', { jump_host: 'bastion' }) ?? 0;
}

/**
 * Until every request of `ids` has had a post whose metadata `is` what is waited for. Reads the fake's calls as
 * they come (each looked at once, nothing copied): cloning its message list on every poll would slow the fake
 * Slack, which serves the broker from this process.
 */
async function postedForEach(env: Environment, ids: readonly string[], what: string, is: (m: { event_type: string; event_payload: Record<string, unknown> }) => boolean, timeoutMs: number): Promise<void> {
  const left = new Set(ids);
  let next = 0;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const calls = env.slack.calls;
    for (; next < calls.length; next++) {
      const m = calls[next]!.method === 'chat.postMessage' ? calls[next]!.args.metadata : undefined;
      if (m && is(m)) left.delete(String(m.event_payload.request_id));
    }
    if (left.size === 0) return;
    if (performance.now() > deadline) throw new Error(`timed out: ${left.size} of ${ids.length} requests without ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** redis-server's CPU time so far (ms, user + system, INFO cpu): Redis runs commands and scripts on one core. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** CPU time (user + system, ms) the process used between two process.cpuUsage() readings. */
const cpuMs = (a: { user: number; system: number }, b: { user: number; system: number }) => (b.user - a.user + b.system - a.system) / 1000;

export interface BurstResult {
  rows: Row[];
  /** grants per second, first click sent → every line present */
  throughput: number;
}

export function burst(env: Environment, grants: number, concurrency: number): Promise<BurstResult> {
  return withBrokerChild(env, (driven, broker, redis) => timedBurst(env, driven, broker, redis, grants, concurrency));
}

async function timedBurst(env: Environment, driven: Driven, broker: BrokerChild, redis: Redis, grants: number, concurrency: number): Promise<BurstResult> {
  const users = Array.from({ length: grants }, (_, i) => `U0BURST${i}`);
  const asked = new Set(users);
  await pool(users, 20, (u) => addKey(driven, u));
  await pool(users, 20, (u) => driven.sender.command(u, 'request internal-2 1h benchmark burst'));
  const msgs = await until('every burst request asked of the owner', () => {
    // Counted in the calls first (cheap): the fake's messages are copied when read.
    const asking = env.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === `D${OWNER}` && c.args.metadata?.event_type === 'jit_request_pending' && asked.has(c.args.metadata.event_payload.requester));
    if (asking.length < grants) return undefined;
    const mine = [...approvalMessages(env)].filter(([, m]) => asked.has(m.requester));
    return mine.length === grants && mine;
  });
  const ids = msgs.map(([id]) => id);
  // The requests' own follow-up (approval messages, audit lines) is over before the clock starts.
  await postedForEach(env, ids, 'the requested audit line', (m) => m.event_type === 'jit_audit' && m.event_payload.audit_type === 'requested', 120_000);
  const watch = new KeysWatch(env.jump.authorizedKeysPath);
  try {
    const [syncsBefore, genBefore] = [await syncCount(broker.port), blockGeneration(env.jump.readAuthorizedKeys()) ?? 0];
    const allPresent = watch.until(`all ${grants} burst lines`, (on) => ids.every((id) => on.has(id)), 300_000);
    const renamesBefore = watch.renames;
    const ack: number[] = [];
    let lastAck = 0;
    const clicks = msgs.map(([, m]) => prepareApprove(driven, m));
    if (process.env.BENCH_PROFILE) await broker.ask({ ask: 'profile-start' });
    const callsBefore = env.slack.calls.length;
    const [cpu0, redis0] = [await broker.ask({ ask: 'cpu' }), await redisCpuMs(redis)];
    const here0 = process.cpuUsage();
    const t0 = performance.now();
    await pool(clicks, concurrency, async (click) => {
      const { sent, answered } = click();
      await answered;
      lastAck = performance.now();
      ack.push(lastAck - sent);
    });
    const done = await allPresent;
    const [cpuLines, hereLines, redisLines] = [await broker.ask({ ask: 'cpu' }), process.cpuUsage(), await redisCpuMs(redis)];
    const profile = process.env.BENCH_PROFILE;
    if (profile) await broker.ask({ ask: 'profile-stop', file: `${profile}-lines.cpuprofile` });
    if (profile) await broker.ask({ ask: 'profile-start' });
    // Every activation's follow-up is over: the approval thread's `active` step is its last post.
    await postedForEach(env, ids, 'the activation follow-up', (m) => m.event_type === 'jit_request_step' && m.event_payload.state === 'active', 600_000);
    if (profile) await broker.ask({ ask: 'profile-stop', file: `${profile}-follow-ups.cpuprofile` });
    const cpuAll = await broker.ask({ ask: 'cpu' });
    const calls = new Map<string, number>();
    for (const c of env.slack.calls.slice(callsBefore)) calls.set(c.method, (calls.get(c.method) ?? 0) + 1);
    const slackCalls = [...calls].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${(n / grants).toFixed(2)}`).join(', ');
    const seconds = (done.mono - t0) / 1000;
    const generations = (blockGeneration(env.jump.readAuthorizedKeys()) ?? 0) - genBefore;
    const writes = watch.renames - renamesBefore;
    const syncs = (await syncCount(broker.port)) - syncsBefore;
    const throughput = grants / seconds;
    const wallMs = done.mono - t0;
    // What every process on this machine spent per approval to every line: with the cores it has, the most any
    // broker could reach here end to end (each process's CPU is what it needs, wherever it runs).
    const perApproval = { broker: cpuMs(cpu0, cpuLines) / grants, bench: cpuMs(here0, hereLines) / grants, redis: (redisLines - redis0) / grants };
    const allMs = perApproval.broker + perApproval.bench + perApproval.redis;
    const cores = availableParallelism();
    return {
      throughput,
      rows: [
        { figure: `burst: Approve click → endpoint answered (${concurrency} at once)`, unit: 'ms', summary: summarize(ack) },
        { figure: `burst: ${grants} approvals, first click → every line present`, unit: 'grants/s', value: throughput, targets: [{ stat: 'value', op: '>=', limit: 1000 }] },
        { figure: 'burst: last answer → every line present', unit: 'ms', value: Math.max(0, done.mono - lastAck), targets: [{ stat: 'value', op: '<=', limit: 250 }] },
        // "A handful, not 1,000": 10 is this harness's reading of a handful.
        { figure: 'burst: SFTP writes (renames onto authorized_keys)', unit: 'writes', value: writes, targets: [{ stat: 'value', op: '<=', limit: 10 }], note: `generation +${generations}, ${syncs} syncs by /metrics` },
        { figure: 'burst: broker process CPU per approval, first click → every line present', unit: 'ms', value: perApproval.broker, note: `${((cpuMs(cpu0, cpuLines) / wallMs) * 100).toFixed(0)} % of one core; the bench process (harness, fake Slack) ${perApproval.bench.toFixed(2)} ms per approval; redis-server ${perApproval.redis.toFixed(2)} ms per approval (${(((redisLines - redis0) / wallMs) * 100).toFixed(0)} % of its one core)` },
        {
          figure: `burst: CPU per approval, every process (broker + redis-server + bench), first click → every line present`,
          unit: 'ms',
          value: allMs,
          note: `${cores} cores ÷ that: at most ${Math.round((cores * 1000) / allMs)} grants/s end to end on this machine; with a broker that cost nothing, redis-server and the bench alone: ${Math.round((cores * 1000) / (perApproval.bench + perApproval.redis))} grants/s`,
        },
        { figure: 'burst: broker process CPU per approval, follow-ups included (every activation told in Slack)', unit: 'ms', value: cpuMs(cpu0, cpuAll) / grants, note: `Slack calls per approval: ${slackCalls}` },
      ],
    };
  } finally {
    watch.close();
  }
}
