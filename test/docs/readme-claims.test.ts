// The README's "Where each claim is tested" table points at tests by file and title: a pointer to a file or a
// test that no longer exists fails here, so the table cannot rot.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const HEADING = '## Where each claim is tested';

/** The rows of the table under HEADING: a claim and its pointers (file, test title). */
export function claimRows(readme: string): { claim: string; tests: { file: string; title: string }[] }[] {
  const start = readme.indexOf(HEADING);
  assert.notEqual(start, -1, `README has no "${HEADING}" section`);
  const section = readme.slice(start + HEADING.length).split(/\n## /)[0]!;
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| claim |'));
  return rows.map((row) => {
    // "| claim | `test/x.test.ts` › title<br>`test/y.test.ts` › title |": titles hold no "|".
    const cells = row.split(' | ');
    assert.equal(cells.length, 2, `a row is "| claim | tests |": ${row}`);
    const claim = cells[0]!.replace(/^\| /, '');
    const tests = cells[1]!
      .replace(/ \|$/, '')
      .split('<br>')
      .map((pointer) => {
        const m = /^`(test\/[^`]+\.test\.ts)` › (.+)$/.exec(pointer.trim());
        assert.ok(m, `not "\`test/….test.ts\` › title": ${pointer} (claim: ${claim})`);
        return { file: m[1]!, title: decodeEntities(m[2]!) };
      });
    return { claim, tests };
  });
}

/** Markdown needs &lt; for a literal "<"; the test title has the character itself. */
function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Titles of it(...), test(...) and describe(...) in a test file, as written (escapes undone, templates raw). */
export function testTitles(source: string): Set<string> {
  const titles = new Set<string>();
  const call = /\b(?:it|test|describe)\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g;
  for (const m of source.matchAll(call)) titles.add(m[2]!.replace(/\\(.)/g, '$1'));
  return titles;
}

describe('README: where each claim is tested', () => {
  const readme = readFileSync('README.md', 'utf8');
  const rows = claimRows(readme);

  it('has a table of claims, each with at least one test', () => {
    assert.ok(rows.length >= 40, `only ${rows.length} rows`);
    for (const r of rows) assert.ok(r.claim.length > 0 && r.tests.length > 0, JSON.stringify(r));
  });

  it('points only at test files that exist and test titles they contain', () => {
    const missing: string[] = [];
    const titles = new Map<string, Set<string>>();
    for (const { claim, tests } of rows) {
      for (const { file, title } of tests) {
        if (!existsSync(file)) {
          missing.push(`${claim}: no file ${file}`);
          continue;
        }
        if (!titles.has(file)) titles.set(file, testTitles(readFileSync(file, 'utf8')));
        if (!titles.get(file)!.has(title)) missing.push(`${claim}: ${file} has no test "${title}"`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('the checker itself notices a renamed test and a missing file', () => {
    const table = (pointer: string) => `${HEADING}\n\n| claim | test |\n|---|---|\n| a claim | ${pointer} |\n`;
    const [row] = claimRows(table('`test/docs/readme-claims.test.ts` › has a table of claims, each with at least one test'));
    assert.ok(testTitles(readFileSync(row!.tests[0]!.file, 'utf8')).has(row!.tests[0]!.title));
    const [renamed] = claimRows(table('`test/docs/readme-claims.test.ts` › a title nobody wrote'));
    assert.ok(!testTitles(readFileSync(renamed!.tests[0]!.file, 'utf8')).has(renamed!.tests[0]!.title));
    assert.equal(existsSync(claimRows(table('`test/nowhere.test.ts` › x'))[0]!.tests[0]!.file), false);
    assert.throws(() => claimRows(table('test/docs/readme-claims.test.ts: no backticks')), /not "`test\/….test.ts` › title"/);
    // Escaped quotes and template titles are read as written.
    const titles = testTitles("it('the broker\\'s slot', () => {}); it(`${RUNS} scenarios`, () => {}); describe(\"a \\\"quoted\\\" one\", () => {});");
    assert.deepEqual([...titles], ["the broker's slot", '${RUNS} scenarios', 'a "quoted" one']);
  });
});
