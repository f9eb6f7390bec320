// A real OpenSSH sshd whose monitor's "User child is on pid N" line can be held back while its user child logs
// (hold-user-child-line.c, an LD_PRELOAD compiled here): the order in which a loaded machine sometimes logs a
// connection's lines, the tunnel line before the line that says whose process logged it, made certain for a test.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SSHD } from './sshd.ts';

export interface LateChildLineSshd {
  /** the sshd binary to start (a wrapper that preloads the shim) */
  binary: string;
  /** from now on, "User child is on pid" lines wait (at most 60 s each) … */
  hold(): void;
  /** … until this */
  release(): void;
}

/** Builds the shim and its wrapper in `dir`; undefined (with why) where no C compiler is installed. */
export function lateChildLineSshd(dir: string): LateChildLineSshd | { unavailable: string } {
  const compiler = ['cc', 'gcc'].find((c) => {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!compiler) return { unavailable: 'no C compiler (cc) to build the LD_PRELOAD shim' };
  const shim = join(dir, 'hold-user-child-line.so');
  execFileSync(compiler, ['-shared', '-fPIC', '-O1', '-o', shim, join(import.meta.dirname, 'hold-user-child-line.c'), '-ldl']);
  const binary = join(dir, 'sshd-late-child-line');
  // sshd re-executes itself by its absolute path for each connection: exec keeps that path and the environment.
  writeFileSync(binary, `#!/bin/sh\nLD_PRELOAD='${shim}' JIT_HOLD_DIR='${dir}' exec '${SSHD}' "$@"\n`);
  chmodSync(binary, 0o755);
  chmodSync(shim, 0o755);
  const gate = join(dir, 'hold');
  return {
    binary,
    hold: () => writeFileSync(gate, ''),
    release: () => existsSync(gate) && rmSync(gate),
  };
}
