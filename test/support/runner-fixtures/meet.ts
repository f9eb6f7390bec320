// For the meets-*.test.ts fixtures: writes this file's marker in JIT_FIXTURE_MEET_DIR, then waits for the other's.
// Prints numbered lines on the way, so that the runner's test can see that each file's output stays one block.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export async function meet(me: string, other: string): Promise<void> {
  const dir = process.env.JIT_FIXTURE_MEET_DIR!;
  const deadline = Date.now() + Number(process.env.JIT_FIXTURE_MEET_MS || 60_000);
  writeFileSync(join(dir, me), String(process.pid));
  let line = 0;
  console.log(`meets-${me} line ${++line}: waiting for meets-${other}`);
  while (!existsSync(join(dir, other))) {
    if (Date.now() > deadline) throw new Error(`meets-${me}: meets-${other} did not run at the same time`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Both are running now: lines of the two files are written at the same time.
  for (let i = 0; i < 20; i++) {
    console.log(`meets-${me} line ${++line}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  console.log(`meets-${me} line ${++line}: met meets-${other}`);
}
