// A real redis-server on a free loopback port with its own temp dir.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export async function startRedis(opts: { appendonly?: boolean } & ServerProcessOptions = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(opts.parentDir ?? tmpdir(), 'jit-redis-'));
  let child: ChildProcess;
  let output = '';
  const launch = async () => {
    output = '';
    child = spawnTracked('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', opts.appendonly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction',
      '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning',
    ], { detached: opts.ownProcessGroup });
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    try {
      await waitForPort(port, undefined);
    } catch (err) {
      throw new Error(`redis-server did not start: ${output}`, { cause: err });
    }
  };
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
      await launch();
    },
  };
}
