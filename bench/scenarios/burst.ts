// 5. Burst: `grants` people have asked for internal-2 (set up first, not timed); then the owner's Approve
// clicks are sent `concurrency` at a time as fast as the endpoint answers them, and the run ends when every
// line stands on the jump server. Writes are counted by inotify (each is a temp file renamed onto
// authorized_keys), beside the block's generation (taken per sync, so it may advance past the writes) and the
// broker's own sync counter (GET /metrics).
import { blockGeneration } from '../../src/domain/managed-block.ts';
import type { Environment } from '../../src/sandbox/environment.ts';
import { addKey, approvalMessages, prepareApprove } from '../grants.ts';
import { KeysWatch, pool, until } from '../keys-watch.ts';
import { metricValue, summarize, type Row } from '../stats.ts';

async function syncCount(env: Environment): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${env.broker.port}/metrics`)).text();
  return metricValue(text, 'jit_sync_duration_seconds_count', { jump_host: 'bastion' }) ?? 0;
}

/** BENCH_PROFILE=<file>: a CPU profile of this process (broker, fake Slack, harness) over the timed burst. */
async function profileIf(file: string | undefined): Promise<{ stop(): Promise<void> } | undefined> {
  if (!file) return undefined;
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

export interface BurstResult {
  rows: Row[];
  /** grants per second, first click sent → every line present */
  throughput: number;
}

export async function burst(env: Environment, grants: number, concurrency: number): Promise<BurstResult> {
  const users = Array.from({ length: grants }, (_, i) => `U0BURST${i}`);
  const asked = new Set(users);
  await pool(users, 20, (u) => addKey(env, u));
  await pool(users, 20, (u) => env.sender.command(u, 'request internal-2 1h benchmark burst'));
  const msgs = await until('every burst request asked of the owner', () => {
    const mine = [...approvalMessages(env)].filter(([, m]) => asked.has(m.requester));
    return mine.length === grants && mine;
  });
  const ids = msgs.map(([id]) => id);
  const watch = new KeysWatch(env.jump.authorizedKeysPath);
  try {
    const [syncsBefore, genBefore] = [await syncCount(env), blockGeneration(env.jump.readAuthorizedKeys()) ?? 0];
    const allPresent = watch.until(`all ${grants} burst lines`, (on) => ids.every((id) => on.has(id)), 300_000);
    const renamesBefore = watch.renames;
    const ack: number[] = [];
    let lastAck = 0;
    // Built and signed before the clock starts: the harness shares this process with the broker.
    const clicks = msgs.map(([, m]) => prepareApprove(env, m));
    const profile = await profileIf(process.env.BENCH_PROFILE);
    const t0 = performance.now();
    await pool(clicks, concurrency, async (click) => {
      const { sent, answered } = click();
      await answered;
      lastAck = performance.now();
      ack.push(lastAck - sent);
    });
    const done = await allPresent;
    await profile?.stop();
    const seconds = (done.mono - t0) / 1000;
    const generations = (blockGeneration(env.jump.readAuthorizedKeys()) ?? 0) - genBefore;
    const writes = watch.renames - renamesBefore;
    const syncs = (await syncCount(env)) - syncsBefore;
    const throughput = grants / seconds;
    return {
      throughput,
      rows: [
        { figure: `burst: Approve click → endpoint answered (${concurrency} at once)`, unit: 'ms', summary: summarize(ack) },
        { figure: `burst: ${grants} approvals, first click → every line present`, unit: 'grants/s', value: throughput, targets: [{ stat: 'value', op: '>=', limit: 1000 }] },
        { figure: 'burst: last answer → every line present', unit: 'ms', value: Math.max(0, done.mono - lastAck), targets: [{ stat: 'value', op: '<=', limit: 250 }] },
        // "A handful, not 1,000": 10 is this harness's reading of a handful.
        { figure: 'burst: SFTP writes (renames onto authorized_keys)', unit: 'writes', value: writes, targets: [{ stat: 'value', op: '<=', limit: 10 }], note: `generation +${generations}, ${syncs} syncs by /metrics` },
      ],
    };
  } finally {
    watch.close();
  }
}
