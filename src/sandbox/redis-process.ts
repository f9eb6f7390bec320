// A real redis-server (or redis-sentinel) on a free loopback port with its own temp dir.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnTracked, stopProcess, waitForPort, type ServerProcessOptions } from './processes.ts';

export interface RedisProcess {
  url: string;
  port: number;
  dir: string;
  readonly pid: number;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

export interface RedisProcessOptions extends ServerProcessOptions {
  appendonly?: boolean;
  /** more redis-server arguments, e.g. ['--replicaof', '127.0.0.1', '6379'] or ['--cluster-enabled', 'yes'] */
  args?: string[];
  /** start `redis-server <file> --sentinel` with this config text instead (its port line is added here) */
  sentinelConfig?: string;
}

export async function startRedis(opts: RedisProcessOptions = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(opts.parentDir ?? tmpdir(), 'jit-redis-'));
  let child: ChildProcess;
  let output = '';
  const launch = async () => {
    output = '';
    child = spawnTracked('redis-server', opts.sentinelConfig === undefined ? [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', opts.appendonly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction',
      '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning', ...(opts.args ?? []),
    ] : [sentinelConfigFile(), '--sentinel'], { detached: opts.ownProcessGroup });
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    try {
      await waitForPort(port, undefined);
    } catch (err) {
      throw new Error(`redis-server did not start: ${output}`, { cause: err });
    }
  };
  // Sentinel rewrites its config file (what it learnt about replicas and peers): written once, kept on restart.
  const sentinelConfigFile = () => join(dir, 'sentinel.conf');
  if (opts.sentinelConfig !== undefined) {
    writeFileSync(sentinelConfigFile(), `port ${port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir ${dir}\nloglevel warning\n${opts.sentinelConfig}\n`);
  }
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return child.pid ?? -1;
    },
    async stop() {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async kill9() {
      await stopProcess(child, 'SIGKILL');
    },
    async restart() {
      await stopProcess(child);
      // Sentinel rewrites its config file (what it learnt about replicas and peers): written once, kept on restart.
  const sentinelConfigFile = () => join(dir, 'sentinel.conf');
  if (opts.sentinelConfig !== undefined) {
    writeFileSync(sentinelConfigFile(), `port ${port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir ${dir}\nloglevel warning\n${opts.sentinelConfig}\n`);
  }
  await launch();
    },
  };
}
