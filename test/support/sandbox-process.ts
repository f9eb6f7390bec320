// Runs the real `npm run sandbox` command line (node bin/jit-jump.mjs sandbox) as a child process, the way a person
// runs it in a terminal, and reads what it prints: the console URL, the temp dir, the processes it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { until } from './flow.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SandboxRun {
  child: ChildProcess;
  /** everything printed so far, stdout and stderr interleaved */
  output(): string;
  /** resolves with the exit code (null when a signal ended it) and the signal */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** what a terminal's Ctrl-C does: SIGINT to the whole foreground process group */
  interrupt(signal?: NodeJS.Signals): void;
}

export interface SandboxInfo {
  url: string;
  dir: string;
  sshConfig: string;
  /** redis-server and the sshds, as printed */
  pids: number[];
  /** the sandbox's own process (the broker runs in it), as printed */
  sandboxPid: number;
  /** the exact `/jump key add …` of the sandbox key, as printed */
  keyAdd: string;
}

// A sandbox runs in its own process group, so it would outlive a test process that dies: Ctrl-C it then.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) try { process.kill(-c.pid!, 'SIGINT'); } catch { /* gone */ }
});

/** `npm: true` runs `npm run sandbox` itself (npm, then the shell that runs the script, then the sandbox). */
export function runSandbox(env: Record<string, string> = {}, opts: { path?: string; npm?: boolean } = {}): SandboxRun {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, SANDBOX_PORT: '0', npm_config_update_notifier: 'false', ...env };
  delete childEnv.REDIS_URL;
  if (opts.path !== undefined) childEnv.PATH = opts.path;
  // The command line of `npm run sandbox`, with node by its path so that a test can shrink PATH; in a process
  // group of its own, like a job in a terminal.
  const [cmd, args] = opts.npm ? ['npm', ['run', 'sandbox']] : [process.execPath, ['bin/jit-jump.mjs', 'sandbox']];
  const child = spawn(cmd, args, { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      if (!opts.npm) live.delete(child); // npm's group may still hold the sandbox
      resolve({ code, signal });
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    interrupt(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, signal);
    },
  };
}

/** Waits (generously: the machine is shared) until the sandbox says it is running, and reads what it printed. */
export async function sandboxStarted(run: SandboxRun, timeoutMs = 90_000): Promise<SandboxInfo> {
  let exitedEarly = false;
  void run.exited.then(() => (exitedEarly = true));
  await until(
    'the sandbox to print its console URL',
    () => {
      if (exitedEarly) throw new Error(`the sandbox exited before it was running:\n${run.output()}`);
      return /stop with Ctrl-C/.test(run.output());
    },
    timeoutMs,
    50,
  );
  const out = run.output();
  const field = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`the sandbox did not print ${re}:\n${out}`);
    return m[1]!;
  };
  return {
    url: field(/Open the console: (http:\/\/\S+)/),
    dir: field(/temp dir: (\S+)/),
    sshConfig: field(/ssh config for the sandbox key: (\S+)/),
    pids: [...field(/processes: ([^;\n]+)/).matchAll(/(?:redis-server|sshd) (\d+)/g)].map((m) => Number(m[1])),
    sandboxPid: Number(field(/the broker runs in this process \((\d+)\)/)),
    keyAdd: field(/^ +(\/jump key add .+)$/m),
  };
}

/** Stops a sandbox a test left running (a failed assertion): Ctrl-C first, then SIGKILL. */
export async function stopSandbox(run: SandboxRun | undefined): Promise<void> {
  if (!run) return;
  if (run.child.exitCode !== null || run.child.signalCode !== null) {
    // npm gone, the sandbox behind it perhaps not: Ctrl-C what is left of its process group.
    try { process.kill(-run.child.pid!, 'SIGINT'); } catch { /* nothing left */ }
    return;
  }
  run.interrupt();
  const timer = setTimeout(() => run.interrupt('SIGKILL'), 30_000);
  await run.exited;
  clearTimeout(timer);
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PIDs of live processes whose command line mentions `text` (sshd's names its config file in the temp dir). */
export function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}
