// The broker of the scale and burst scenarios, in a process of its own so that its memory and its CPU time are
// measured apart from the harness, the fake Slack and the seeding: started as `jit-jump start` starts it (from its
// environment), with the scenario's policy as validated (JSON in BENCH_POLICY_FILE: the validated form is not
// the YAML one), then driven over the IPC channel (bench/broker-child.ts is the other end). Asked `reconcile`,
// it runs one full Reconciler pass and answers its duration and outcome; `memory`: collects garbage and answers
// process.memoryUsage(); `cpu`: process.cpuUsage() so far; `profile-start` / `profile-stop`: a CPU profile of
// what it does in between, written to the file named.
// To see where time and memory go: SCALE_CPU_PROFILE=<prefix> writes each reconcile's CPU profile, and
// SCALE_MEMORY_DEBUG=1 prints the memory after start, after each pass and by heap space on stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { runInNewContext } from 'node:vm';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { startBroker } from '../src/broker.ts';
import { readEnv } from '../src/config/env.ts';
import type { Policy } from '../src/config/policy.ts';
import { createLogger } from '../src/logger.ts';

export type BrokerAsk = { ask: 'reconcile' } | { ask: 'memory' } | { ask: 'cpu' } | { ask: 'profile-start' } | { ask: 'profile-stop'; file: string };
export type BrokerAnswer =
  | { ready: true; port: number }
  | { ask: 'reconcile'; ms: number; failed: string[]; lines: number; changed: number }
  | { ask: 'memory'; rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
  | { ask: 'cpu'; user: number; system: number }
  | { ask: 'profile-start' }
  | { ask: 'profile-stop' }
  | { error: string };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const env = readEnv(process.env);
const logger = createLogger({ level: env.LOG_LEVEL, secrets: [env.SLACK_BOT_TOKEN, env.SLACK_SIGNING_SECRET] });
const policy = JSON.parse(readFileSync(process.env.BENCH_POLICY_FILE!, 'utf8')) as Policy;
const broker = await startBroker({ env, policy, logger, host: '127.0.0.1' });
// The start-up sync of every jump server is left behind it: what is measured next starts from a quiet broker.
await broker.sync.syncAll();
if (process.env.SCALE_MEMORY_DEBUG) console.error('after start', JSON.stringify(process.memoryUsage()));
const send = (a: BrokerAnswer) => process.send!(a);

/** A CPU profile from now until the function returned is called with the file to write it to. */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

let profiles = 0;
let profiling: ((file: string) => Promise<void>) | undefined;

async function answer(m: BrokerAsk): Promise<BrokerAnswer> {
  switch (m.ask) {
    case 'memory': {
      gc();
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      if (process.env.SCALE_MEMORY_DEBUG) console.error(JSON.stringify({ rss, heapTotal, heapUsed, external, arrayBuffers, spaces: getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1e6), Math.round(s.space_used_size / 1e6)]) }));
      return { ask: 'memory', rss, heapUsed, heapTotal, external, arrayBuffers };
    }
    case 'cpu':
      return { ask: 'cpu', ...process.cpuUsage() };
    case 'profile-start':
      profiling ??= await startProfile();
      return { ask: 'profile-start' };
    case 'profile-stop':
      await profiling?.(m.file);
      profiling = undefined;
      return { ask: 'profile-stop' };
    case 'reconcile': {
      const perPass = process.env.SCALE_CPU_PROFILE ? await startProfile() : undefined;
      const t0 = performance.now();
      const report = await broker.reconciler.run();
      const ms = performance.now() - t0;
      await perPass?.(`${process.env.SCALE_CPU_PROFILE}-${++profiles}.cpuprofile`);
      if (process.env.SCALE_MEMORY_DEBUG) console.error('after reconcile', JSON.stringify(process.memoryUsage()));
      const failed = report.jumpHosts.flatMap((j) => (j.error ? [`${j.jumpHost}: ${j.error}`] : []));
      const lines = report.jumpHosts.reduce((n, j) => n + (j.result?.lines ?? 0), 0);
      return { ask: 'reconcile', ms, failed, lines, changed: report.jumpHosts.filter((j) => j.result?.changed).length };
    }
  }
}

process.on('message', (m: BrokerAsk) => {
  answer(m).then(send, (err: unknown) => send({ error: String((err as Error)?.stack ?? err) }));
});
process.once('SIGTERM', () => {
  broker.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
send({ ready: true, port: broker.port! });
