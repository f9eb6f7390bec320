// The bench's end of bench/broker-process.mjs: the broker started in a process of its own, as `jit-jump start`
// runs it (the compiled dist/, rebuilt first if stale, with the broker's node flags), against an environment's
// Redis, fake Slack and sshd, with `policy`; then asked over IPC.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Policy } from '../src/config/policy.ts';
import { BOT_TOKEN, SIGNING_SECRET, TEAM_ID, type Environment } from '../src/sandbox/environment.ts';
import { spawnTracked, stopProcess } from '../src/sandbox/processes.ts';
import { createSlackSender } from '../src/sandbox/slack-sender.ts';
import { KeyStore } from '../src/store/key-store.ts';
import { RequestStore } from '../src/store/request-store.ts';
import { BROKER_NODE_FLAGS } from '../src/system/heap-tuning.ts';
import type { Driven } from './grants.ts';

/**
 * Runs `fn` against a broker in a process of its own: the environment's broker steps aside (it shares Redis and the
 * jump server) and is back at the end. The harness, the fake Slack and the jump-server watch stay in this process,
 * as Slack and the jump server are elsewhere in production: what is timed is the broker's work, not theirs.
 */
export async function withBrokerChild<T>(env: Environment, fn: (driven: Driven, broker: BrokerChild, redis: Redis) => Promise<T>, policy: Policy = env.policy): Promise<T> {
  await env.broker.stop();
  const redis = new Redis(env.redisUrl);
  let broker: BrokerChild | undefined;
  try {
    broker = await startBrokerChild(env, policy);
    const url = `http://127.0.0.1:${broker.port}/slack/events`;
    const driven: Driven = {
      slack: env.slack,
      sender: createSlackSender({ url, signingSecret: SIGNING_SECRET, teamId: TEAM_ID, fake: env.slack }),
      broker: { port: broker.port, keys: new KeyStore(redis, env.redisPrefix), requests: new RequestStore(redis, env.redisPrefix) },
    };
    return await fn(driven, broker, redis);
  } finally {
    await broker?.stop();
    redis.disconnect();
    await env.restartBroker();
  }
}

/** What bench/broker-process.mjs is asked over its IPC channel, and what it answers. */
export type BrokerAsk = { ask: 'reconcile' } | { ask: 'memory' } | { ask: 'cpu' } | { ask: 'profile-start' } | { ask: 'profile-stop'; file: string };
export type BrokerAnswer =
  | { ready: true; port: number }
  | { ask: 'reconcile'; ms: number; failed: string[]; lines: number; changed: number }
  | { ask: 'memory'; rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
  | { ask: 'cpu'; user: number; system: number }
  | { ask: 'profile-start' }
  | { ask: 'profile-stop' }
  | { error: string };

export interface BrokerChild {
  /** the broker's HTTP port */
  port: number;
  ask<A extends BrokerAsk>(a: A): Promise<Extract<BrokerAnswer, { ask: A['ask'] }>>;
  stop(): Promise<void>;
}

export async function startBrokerChild(env: Environment, policy: Policy): Promise<BrokerChild> {
  const policyPath = join(env.dir, 'bench.policy.json');
  writeFileSync(policyPath, JSON.stringify(policy));
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' }); // dist/ as src/ is now
  // The node flags `npm start` and the image start the broker with; SCALE_NODE_ARGS: more for the broker alone,
  // or others in their place (V8 flags on trial, --heap-prof, …).
  const nodeArgs = [...BROKER_NODE_FLAGS, ...(process.env.SCALE_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const child: ChildProcess = spawnTracked(process.execPath, [...nodeArgs, 'bench/broker-process.mjs'], {
    stdio: ['ignore', 'pipe', process.env.SCALE_MEMORY_DEBUG ? 'inherit' : 'pipe', 'ipc'],
    env: { ...process.env, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: env.slack.apiUrl, REDIS_URL: env.redisUrl, PORT: '0', BENCH_POLICY_FILE: policyPath, LOG_LEVEL: 'warn' },
  });
  // Its last lines, for an error message: the warnings of a broker under this load are not the figures.
  const tail: string[] = [];
  const keep = (chunk: Buffer) => tail.push(...chunk.toString().split('\n').filter(Boolean)) > 40 && tail.splice(0, tail.length - 40);
  child.stdout!.on('data', keep);
  child.stderr?.on('data', keep);
  const next = () =>
    new Promise<BrokerAnswer>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`broker process exited (${code}): ${tail.join('\n')}`));
      child.once('exit', onExit);
      child.once('message', (m: BrokerAnswer) => {
        child.off('exit', onExit);
        if ('error' in m) reject(new Error(`broker process: ${m.error}`));
        else resolve(m);
      });
    });
  const ready = await next(); // started, and its start-up sync of every jump server done
  if (!('ready' in ready)) throw new Error(`broker process: expected ready, got ${JSON.stringify(ready)}`);
  return {
    port: ready.port,
    async ask(a) {
      const answer = next();
      child.send(a);
      return (await answer) as never;
    },
    stop: () => stopProcess(child, 'SIGTERM', 15_000),
  };
}
