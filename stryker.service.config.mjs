// One src/service file at a time on a shared machine (issue #9):
//   TAG=keys npx stryker run stryker.service.config.mjs --mutate 'src/service/keys.ts'
// The same as stryker.config.mjs, but one test runner, and only the service unit tests in the dry run (nothing
// else among the mutation test files imports src/service). Reports and incremental results per TAG.
import base from './stryker.config.mjs';

const tag = process.env.TAG ?? 'service';
export default {
  ...base,
  concurrency: 1,
  tap: { ...base.tap, testFiles: ['test/service/*.test.ts'] },
  incrementalFile: `reports/inc-${tag}.json`,
  reporters: ['clear-text', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${tag}.html` },
  jsonReporter: { fileName: `reports/mutation/${tag}.json` },
  clearTextReporter: { ...base.clearTextReporter, reportMutants: true },
};
