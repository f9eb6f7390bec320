// What runs on this machine, from /proc: tests that check a fixture left no process behind.
import { readdirSync, readFileSync } from 'node:fs';

function stat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** Every process below `pid`. */
export function descendantsOf(pid: number): number[] {
  const all = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((n) => ({ pid: Number(n), ppid: stat(Number(n))?.ppid }));
  const below = (p: number): number[] => all.filter((c) => c.ppid === p).flatMap((c) => [c.pid, ...below(c.pid)]);
  return below(pid);
}
