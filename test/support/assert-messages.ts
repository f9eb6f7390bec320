// Loaded before every test file (scripts/run-test-file.ts). A failing assert.ok(value) without a message makes
// Node build one by reading the calling source file and parsing it with acorn; our files are TypeScript, which
// acorn cannot parse, and on some lines that search runs for minutes at full CPU (a failing test then looks like
// a hung file that times out, with no message). So a missing message is supplied here, at once.
import assert from 'node:assert';
import strict from 'node:assert/strict';
import { inspect } from 'node:util';

for (const a of new Set([assert, strict])) {
  const ok = a.ok;
  a.ok = function okWithMessage(value: unknown, message?: string | Error): asserts value {
    if (arguments.length < 2 && !value) return ok(value, `expected a truthy value, got ${inspect(value)}`);
    return ok(value, message);
  };
}
