// `npm run chaos -- --lifecycles 500 [--seed N] [--users N]`: the chaos test's run at a size CI has no time for.
// Prints the figures; exits 1 if an invariant is broken.
import { parseArgs } from 'node:util';
import { runChaos } from './chaos.ts';

const { values } = parseArgs({ options: { lifecycles: { type: 'string' }, seed: { type: 'string' }, users: { type: 'string' } } });
process.env.JIT_CHAOS_KEEP ??= '1'; // the brokers' logs stay for a look when something is off
const figures = await runChaos({
  lifecycles: Number(values.lifecycles ?? 500),
  seed: Number(values.seed ?? Date.now() % 1_000_000),
  users: Number(values.users ?? 12),
  log: (l) => console.log(l),
});
console.log(JSON.stringify(figures, null, 2));
const broken =
  figures.unexpectedExits.length +
  figures.checkpoint.linesWithoutActiveGrant +
  figures.checkpoint.activeGrantsWithoutLine +
  figures.final.lines +
  figures.final.activeGrantsWithoutLine +
  figures.activationMessages.grantsWithNone +
  figures.activationMessages.grantsWithMore +
  figures.doubleApprovals +
  figures.audit.grantsMissingAKind +
  figures.audit.grantsWithADuplicateKind +
  figures.audit.duplicates +
  Math.abs(figures.audit.posted - figures.audit.streamEvents);
console.log(broken === 0 ? 'chaos: all invariants held' : `chaos: ${broken} invariant violation(s)`);
process.exit(broken === 0 ? 0 : 1);
