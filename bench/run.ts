// `npm run bench [-- --quick] [-- --only floor,access,…]`: the figures of issue #17 against real redis-server and
// real sshd on loopback, through the broker's real HTTP endpoint with signed requests (the local fake stands in
// for Slack). Prints the machine, the load during the run, and one table: p50 / p99 / max, the ratio to the
// floor measured in the same run, the issue's target and by how much it is missed. Not part of `npm test`.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { Environment } from '../src/sandbox/environment.ts';
import { SSHD } from '../src/sandbox/sshd-process.ts';
import { benchEnvironment } from './grants.ts';
import { access } from './scenarios/access.ts';
import { burst } from './scenarios/burst.ts';
import { expiry } from './scenarios/expiry.ts';
import { floor } from './scenarios/floor.ts';
import { naive } from './scenarios/naive.ts';
import { scale } from './scenarios/scale.ts';
import { sessionEnd } from './scenarios/session.ts';
import { fmt, formatTable, parseArgs, type Row, type ScenarioName } from './stats.ts';

const SIZES = {
  // A real ssh login costs about a second on a busy 2-core machine: the hop is tried on every 4th round, and the
  // naive baseline and live sessions get fewer rounds, to keep the full run near ten minutes.
  full: { floor: 500, access: 200, hopEvery: 4, expiry: 200, naive: 50, naiveBurst: 100, burst: 1000, concurrency: 50, session: 40, scaleLevels: [10, 1000, 10_000], jumpServers: 100 },
  quick: { floor: 100, access: 10, hopEvery: 2, expiry: 10, naive: 5, naiveBurst: 10, burst: 100, concurrency: 50, session: 3, scaleLevels: [10, 100], jumpServers: 2 },
};

function machine(): string {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  // sshd -V prints its version on stderr (and exits 1 on older releases).
  const sshd = spawnSync(SSHD, ['-V'], { encoding: 'utf8' }).stderr.trim().split('\n')[0] || '?';
  const redis = execFileSync('redis-server', ['--version']).toString().trim().split(' ').slice(0, 3).join(' ');
  return `${execFileSync('nproc').toString().trim()} cores (nproc), ${model}; Node ${process.version}; ${sshd}; ${redis}`;
}

/** The 1-minute load average, sampled every 5 s while the run lasts. */
function sampleLoad(): { stop(): string } {
  const seen = [loadavg()[0]!];
  const timer = setInterval(() => seen.push(loadavg()[0]!), 5000);
  return {
    stop() {
      clearInterval(timer);
      seen.push(loadavg()[0]!);
      const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
      return `1-min load average during the run: min ${fmt(Math.min(...seen))}, mean ${fmt(mean)}, max ${fmt(Math.max(...seen))} (${seen.length} samples)`;
    },
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const size = args.quick ? SIZES.quick : SIZES.full;
  const on = (s: ScenarioName) => args.only.includes(s);
  const started = performance.now();
  const load = sampleLoad();
  const rows: Row[] = [];
  const progress = (what: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0)} s] ${what}`);
  let floorP50: number | undefined;
  let brokerPerS: number | undefined;
  let naivePerS: number | undefined;
  let env: Environment | undefined;
  try {
    // Scale first: its RSS is then the broker's, the fake's and the harness's, not what earlier scenarios left.
    const scaleRows: Row[] = [];
    if (on('scale')) {
      progress(`scale: ${size.scaleLevels.join(' / ')} grants over ${size.jumpServers} jump servers`);
      scaleRows.push(...(await scale(size.scaleLevels, size.jumpServers)));
    }
    if (on('floor') || on('access') || on('expiry') || on('naive') || on('burst')) env = await benchEnvironment();
    if (env && on('floor')) {
      progress(`floor: ${size.floor} warm SFTP writes`);
      const r = await floor(env, size.floor);
      floorP50 = r[0]!.summary!.p50;
      rows.push(...r);
    }
    if (env && on('access')) {
      progress(`time to access: ${size.access} rounds`);
      rows.push(...(await access(env, size.access, size.hopEvery)));
    }
    if (env && on('expiry')) {
      progress(`revocation lag after expiry: ${size.expiry} grants`);
      rows.push(...(await expiry(env, size.expiry)));
    }
    if (env && on('naive')) {
      progress(`naive baseline: ${size.naive} grants and revocations`);
      const r = await naive(env, size.naive, size.naiveBurst, size.concurrency);
      naivePerS = r.throughput;
      rows.push(...r.rows);
    }
    if (env && on('burst')) {
      progress(`burst: ${size.burst} approvals, ${size.concurrency} at once`);
      const r = await burst(env, size.burst, size.concurrency);
      brokerPerS = r.throughput;
      rows.push(...r.rows);
    }
    await env?.stop();
    env = undefined;
    if (brokerPerS !== undefined && naivePerS !== undefined)
      rows.push({ figure: 'burst throughput ÷ naive throughput (same sshd)', unit: '×', value: brokerPerS / naivePerS, targets: [{ stat: 'value', op: '>=', limit: 100 }] });
    if (on('session')) {
      progress(`live session ending: ${size.session} rounds`);
      rows.push(...(await sessionEnd(size.session)));
    }
    rows.push(...scaleRows);
  } finally {
    await env?.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${args.quick ? 'QUICK run (fewer samples than the ≥ 200 of a full run)' : 'Full run'}: ${seconds.toFixed(0)} s; ${machine()}`);
  console.log(load.stop());
  console.log(`floor p50 ${floorP50 === undefined ? 'not measured (no ratios)' : `${fmt(floorP50)} ms`}\n`);
  console.log(formatTable(rows, floorP50));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
