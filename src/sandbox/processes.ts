// Child processes started by tests: free ports, waiting for readiness, and never leaving one behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.pid) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
});

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export function spawnTracked(cmd: string, args: string[], opts: Parameters<typeof spawn>[2] = {}): ChildProcess {
  return track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }));
}

/** Where a server keeps its files, and whether Ctrl-C in a terminal reaches it directly. */
export interface ServerProcessOptions {
  /** make the server's temp dir inside this one (default: the system temp dir) */
  parentDir?: string;
  /**
   * Start the server in a process group of its own. Ctrl-C in a terminal signals the whole foreground group:
   * without this, Redis and sshd would die before the broker that uses them has stopped, and its stop would
   * wait on a Redis that is gone. The `exit` hook above still kills them if the owner exits early.
   */
  ownProcessGroup?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when a TCP connect succeeds and, if given, the first bytes start with `greeting`. */
export async function waitForPort(port: number, greeting: string | undefined, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ port, host: '127.0.0.1' });
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(1000, () => done(false));
      sock.on('error', () => done(false));
      sock.on('connect', () => {
        if (!greeting) done(true);
      });
      sock.on('data', (d) => done(d.toString().startsWith(greeting ?? '')));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not become ready`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
