// `npm run mutate`: mutation testing of the pure code (domain, service, and the I/O-free files of store and
// jumphost). Each mutant runs only the fast unit test files that cover it: no Redis, no sshd, which would
// take seconds per mutant. Not part of `npm test`. Stryker 9.x: 10.x needs Node 22, the project is on 20.
// Equivalent survivors in src/domain are listed in docs/mutation.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  // node:test prints TAP when stdout is not a terminal, which is how the tap runner starts each file.
  testRunner: 'tap',
  tap: {
    // Only the unit tests of the mutated code: every extra file costs seconds per mutant (tsx start-up).
    testFiles: ['test/domain/*.test.ts', 'test/service/*.test.ts', 'test/jumphost/server-version.test.ts', 'test/jumphost/host-key-fingerprint.test.ts', 'test/jumphost/errors.test.ts', 'test/store/redis-slots.test.ts'],
    nodeArgs: ['--import', 'tsx'],
    forceBail: true,
  },
  mutate: [
    'src/domain/**/*.ts',
    'src/service/**/*.ts',
    'src/store/redis-keys.ts',
    'src/jumphost/errors.ts',
    'src/jumphost/host-key-fingerprint.ts',
    'src/jumphost/server-version.ts',
  ],
  // Mutants that do not type-check are dropped before any test runs (tsx itself would not notice).
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // A mutant runs only the test files that executed its code in the first (dry) run.
  coverageAnalysis: 'perTest',
  // Module-level constants (tables, regex literals) are covered too: the tap runner starts one process per
  // test file, so code run at import counts for the files that import it, not for every file.
  concurrency: 4,
  // The machine is shared and loaded: a slow test file is not a killed mutant.
  timeoutMS: 60_000,
  // Reuses the results of unchanged code and tests from the last run (reports/stryker-incremental.json).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, reportMutants: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
