// Long fuzz run (outside CI): hostile command texts and key strings through the domain, from Slack text to the
// rendered managed block, checking the block property on every case. Prints case counts and timing.
//   npm run fuzz                 100,000 scenarios
//   npm run fuzz -- 500000       more
//   FUZZ_SEED=123 npm run fuzz   reproduce a run
import fc from 'fast-check';
import { fuzzPolicy, makeKeyPool, newStats, runScenario, scenario } from '../test/support/hostile-input.ts';

const runs = Number(process.argv[2] ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const pool = makeKeyPool();
const policy = fuzzPolicy();
const stats = newStats();
const started = performance.now();
const result = fc.check(
  fc.property(scenario(policy, pool), (s) => runScenario(policy, pool, s, stats)),
  { numRuns: runs, seed },
);
const seconds = (performance.now() - started) / 1000;
const refused = Object.values(stats.keysRefused).reduce((a, b) => a + b, 0);
console.log(`fuzz-managed-block: seed ${seed}, ${runs} scenarios requested`);
console.log(`  scenarios run          ${stats.cases}`);
console.log(`  commands               ${stats.commands}`);
console.log(`  key texts checked      ${stats.keyTextsSeen} (accepted ${stats.keysAccepted}, refused ${refused})`);
console.log(`  private keys refused   ${stats.privateKeysRefused}`);
console.log(`  requests               accepted ${stats.requestsAccepted}, refused ${stats.requestsRefused}`);
console.log(`  active grants checked  ${stats.grantsActive}`);
console.log(`  key lines checked      ${stats.linesRendered} (at most ${stats.maxLines} in one block)`);
console.log('  key refusals by reason:');
for (const [why, n] of Object.entries(stats.keysRefused).sort((a, b) => b[1] - a[1])) console.log(`    ${String(n).padStart(8)}  ${why}`);
console.log(`  ${seconds.toFixed(1)} s, ${Math.round(stats.cases / seconds)} scenarios/s`);
if (result.failed) {
  console.error(fc.defaultReportMessage(result));
  process.exit(1);
}
console.log('  property held on every scenario');
