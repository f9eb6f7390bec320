// Several broker processes on one Redis, as behind a load balancer: each replica keeps its port across
// restarts, and requests go to a live replica at random, retried elsewhere when one dies mid-request
// (as a load balancer with health checks, or a person clicking again, would do).
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerTuning } from '../../src/broker.ts';
import { freePort, spawnTracked, stopProcess, waitForPort } from '../../src/sandbox/processes.ts';
import type { LocalSlackApi } from '../../src/sandbox/local-slack-api.ts';
import { createSlackSender, type ButtonClick, type SlackResponse } from '../../src/sandbox/slack-sender.ts';

export interface FleetOptions {
  replicas: number;
  dir: string;
  env: Record<string, string>;
  tuning?: BrokerTuning;
  slack: LocalSlackApi;
  signingSecret: string;
  teamId: string;
  random?: () => number;
}

interface Replica {
  index: number;
  port: number;
  child?: ChildProcess;
  /** we killed or stopped it: its exit is expected */
  expectedExit: boolean;
  /** listening (start-up finished) */
  serving: boolean;
  logPath: string;
  sender: ReturnType<typeof createSlackSender>;
}

export interface Fleet {
  alive(): number[];
  /** alive and done starting */
  serving(): number[];
  kill9(index: number): Promise<void>;
  start(index: number): Promise<void>;
  /** SIGTERM, as an orchestrator stops a replica */
  stop(index: number): Promise<void>;
  /** replicas that exited without being told to (a crash) */
  unexpectedExits: string[];
  pid(index: number): number | undefined;
  log(index: number): string;
  command(user: string, text: string): Promise<SlackResponse>;
  blockAction(user: string, click: ButtonClick): Promise<SlackResponse>;
  stopAll(): Promise<void>;
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const random = o.random ?? Math.random;
  const replicas: Replica[] = [];
  const unexpectedExits: string[] = [];
  for (let i = 0; i < o.replicas; i++) {
    const port = await freePort();
    replicas.push({
      index: i,
      port,
      expectedExit: false,
      serving: false,
      logPath: join(o.dir, `broker-${i}.log`),
      sender: createSlackSender({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: o.signingSecret, teamId: o.teamId, fake: o.slack }),
    });
  }

  const start = async (index: number) => {
    const r = replicas[index]!;
    const child = spawnTracked(process.execPath, ['--import', 'tsx', 'test/support/broker-process.ts'], {
      env: { ...o.env, PORT: String(r.port), JIT_TEST_TUNING: JSON.stringify(o.tuning ?? {}) },
    });
    const log = createWriteStream(r.logPath, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    r.child = child;
    r.expectedExit = false;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        if (!r.expectedExit) unexpectedExits.push(`replica ${index} (pid ${child.pid}) exited by itself: code ${code} signal ${signal}`);
        if (r.child === child) {
          r.child = undefined;
          r.serving = false;
        }
        resolve();
      }),
    );
    // Killed again while starting (chaos does that): not an error, it is simply down.
    await Promise.race([waitForPort(r.port, undefined, 120_000).then(() => (r.serving = r.child === child)), exited]);
  };

  const alive = () => replicas.filter((r) => r.child).map((r) => r.index);

  /** Sends to a random live replica; a connection refused or cut mid-request is retried on another. */
  const balanced = async (send: (r: Replica) => Promise<SlackResponse>): Promise<SlackResponse> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const live = replicas.filter((r) => r.child);
      const r = live[Math.floor(random() * live.length)];
      if (r) {
        try {
          return await send(r);
        } catch {
          /* died under us, or not listening yet */
        }
      }
      if (Date.now() > deadline) throw new Error('no replica answered for 60 s');
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  await Promise.all(replicas.map((r) => start(r.index)));
  return {
    alive,
    serving: () => replicas.filter((r) => r.child && r.serving).map((r) => r.index),
    start,
    async kill9(index) {
      const r = replicas[index]!;
      if (!r.child) return;
      r.expectedExit = true;
      await stopProcess(r.child, 'SIGKILL');
    },
    async stop(index) {
      const r = replicas[index]!;
      if (!r.child) return;
      r.expectedExit = true;
      await stopProcess(r.child, 'SIGTERM', 20_000);
    },
    unexpectedExits,
    pid: (index) => replicas[index]?.child?.pid,
    log: (index) => {
      try {
        return readFileSync(replicas[index]!.logPath, 'utf8');
      } catch {
        return '';
      }
    },
    command: (user, text) => balanced((r) => r.sender.command(user, text)),
    blockAction: (user, click) => balanced((r) => r.sender.blockAction(user, click)),
    async stopAll() {
      await Promise.all(
        replicas.map(async (r) => {
          if (!r.child) return;
          r.expectedExit = true;
          await stopProcess(r.child, 'SIGTERM', 15_000);
        }),
      );
    },
  };
}
