// The broker of the scale and burst scenarios, in a process of its own so that its memory and its CPU time are
// measured apart from the harness, the fake Slack and the seeding: started as `jit-jump start` starts it (the
// compiled code in dist/ under plain node, with its node flags and heap growth: bench/broker-child.ts starts it;
// from its environment), with the scenario's policy as validated (JSON in BENCH_POLICY_FILE: the validated form is not
// the YAML one), then driven over the IPC channel (bench/broker-child.ts is the other end). Asked `reconcile`,
// it runs one full Reconciler pass and answers its duration and outcome; `memory`: collects garbage and answers
// process.memoryUsage() once RSS stops falling; `cpu`: process.cpuUsage() so far; `profile-start` / `profile-stop`: a CPU profile of
// what it does in between, written to the file named.
// To see where time and memory go: SCALE_CPU_PROFILE=<prefix> writes each reconcile's CPU profile, and
// SCALE_MEMORY_DEBUG=1 prints the memory after start, after each pass, by heap space and resident memory by kind
// of mapping on stderr; SCALE_ALLOC_PROFILE=<file> writes what the start-up allocated, garbage included.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { runInNewContext } from 'node:vm';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { startBroker } from '../dist/broker.js';
import { readEnv } from '../dist/config/env.js';
import { createLogger } from '../dist/logger.js';
import { limitHeapGrowth } from '../dist/system/heap-tuning.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
limitHeapGrowth(); // as `jit-jump start` does
const env = readEnv(process.env);
const logger = createLogger({ level: env.LOG_LEVEL, secrets: [env.SLACK_BOT_TOKEN, env.SLACK_SIGNING_SECRET] });
const policy = JSON.parse(readFileSync(process.env.BENCH_POLICY_FILE, 'utf8'));
const allocations = process.env.SCALE_ALLOC_PROFILE ? await startAllocationProfile() : undefined;
const broker = await startBroker({ env, policy, logger, host: '127.0.0.1' });
// The start-up sync of every jump server is left behind it (as the broker runs it: a few at a time): what is
// measured next starts from a quiet broker.
await broker.sync.syncAll();
await allocations?.();
if (process.env.SCALE_MEMORY_DEBUG) console.error('after start', JSON.stringify(process.memoryUsage()));
const send = (a) => process.send(a);

/** Resident MB by kind of mapping (/proc/self/smaps): the node binary, malloc's main heap ([heap]), anonymous
 *  mappings (the JS heap's pages, other threads' malloc arenas, mmap'd buffers) by size class, the rest. */
function residentByMapping() {
  const out = {};
  let kind = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const size = (parseInt(m[2], 16) - parseInt(m[1], 16)) / 1e6;
      const name = m[3];
      kind = name ? (name.startsWith('/') ? (name.includes('node') ? 'node binary' : 'other files') : name) : size >= 60 ? 'anon ≥ 60 MB' : size >= 1 ? 'anon 1–60 MB' : size === 0.262144 ? 'anon 256 KiB (JS heap pages)' : 'anon other < 1 MB';
    } else if (line.startsWith('Rss:')) out[kind] = (out[kind] ?? 0) + Number(line.split(/\s+/)[1]) / 1e3;
  }
  return Object.fromEntries(Object.entries(out).filter(([, mb]) => mb >= 0.1).map(([k, mb]) => [k, Math.round(mb * 10) / 10]));
}

/** Resolves when two readings of RSS 250 ms apart differ by less than 1 MB (at most 5 s). */
async function rssSettled() {
  let last = process.memoryUsage.rss();
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = process.memoryUsage.rss();
    if (Math.abs(now - last) < 1e6) return;
    last = now;
  }
}

/** SCALE_ALLOC_PROFILE=<file>: what the start (and its first sync of every jump server) allocated, garbage
 *  included (a sampling heap profile, every 32 KiB): where a peak of short-lived objects comes from. */
async function startAllocationProfile() {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(process.env.SCALE_ALLOC_PROFILE, JSON.stringify(profile));
    session.disconnect();
  };
}

/** A CPU profile from now until the function returned is called with the file to write it to. */
async function startProfile() {
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
let profiling;

async function answer(m) {
  switch (m.ask) {
    case 'memory': {
      gc();
      // V8 gives the pages a GC emptied back to the system from a thread of its own, after the GC returns: RSS
      // read at once counted up to 70 MB about to go (measured at 10,000 grants). Read once it stops falling.
      await rssSettled();
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      if (process.env.SCALE_MEMORY_DEBUG) console.error(JSON.stringify({ rss, heapTotal, heapUsed, external, arrayBuffers, spaces: getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1e6), Math.round(s.space_used_size / 1e6)]), resident: residentByMapping() }));
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

process.on('message', (m) => {
  answer(m).then(send, (err) => send({ error: String(err?.stack ?? err) }));
});
process.once('SIGTERM', () => {
  broker.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
send({ ready: true, port: broker.port });
