// The jit-jump command line as an operator runs it: the real CLI in a child process, asynchronously (a broker
// under test in this process keeps running), with a generous deadline (the machine may be loaded). It goes through
// the package's bin (bin/jit-jump.mjs, what `npx jit-jump` and the npm scripts run), or through npx itself.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliRun {
  code: number | null;
  /** standard output and standard error as they came */
  out: string;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** `bin` (default): node bin/jit-jump.mjs; `npx`: npx jit-jump from the checkout, as the README says */
  via?: 'bin' | 'npx';
  /** another checkout (a copy) to run in; default this one */
  cwd?: string;
  /** runs the command as this user (uid and gid alike), as root drops to it */
  asUser?: number;
}

export function jitJump(args: string[], env: Record<string, string> = {}, o: CliOptions = {}): Promise<CliRun> {
  // --offline: the checkout's own bin, never a package of that name from the registry.
  const [cmd, argv] = o.via === 'npx' ? ['npx', ['--offline', 'jit-jump', ...args]] : [process.execPath, ['bin/jit-jump.mjs', ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: o.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      ...(o.asUser === undefined ? {} : { uid: o.asUser, gid: o.asUser }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => ((out += d), (stdout += d)));
    child.stderr.on('data', (d) => ((out += d), (stderr += d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => { // after the output streams ended: 'exit' may come before the last output
      clearTimeout(timer);
      resolve({ code, out, stdout, stderr });
    });
  });
}
