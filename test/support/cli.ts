// The jit-jump command line as an operator runs it: the real CLI in a child process, asynchronously (a broker
// under test in this process keeps running), with a generous deadline (the machine may be loaded).
import { spawn } from 'node:child_process';

export interface CliRun {
  code: number | null;
  /** standard output and standard error as they came */
  out: string;
  stdout: string;
  stderr: string;
}

export function jitJump(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => ((out += d), (stdout += d)));
    child.stderr.on('data', (d) => ((out += d), (stderr += d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, stdout, stderr });
    });
  });
}
