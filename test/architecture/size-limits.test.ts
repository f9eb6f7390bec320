// The house stays small (issue #10): no file under src/service/ over 250 lines, no function over 60 lines outside
// src/sandbox/. Measured with the TypeScript compiler's own parser, so a function is what the language says it is
// (declarations, methods, arrow functions, function expressions), from its first line to its last.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '../..');
const MAX_SERVICE_FILE_LINES = 250;
const MAX_FUNCTION_LINES = 60;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function lineCount(text: string): number {
  return text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
}

/** A function's own name, or the name it is assigned to (`const f = () => …`, `{ f: () => … }`). */
function nameOf(node: ts.SignatureDeclaration): string {
  const named = node.name ?? (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent) ? node.parent.name : undefined);
  return named && (ts.isIdentifier(named) || ts.isStringLiteral(named)) ? named.text : '(anonymous)';
}

/** Every function in a source text longer than `max` lines, as `file:line name (N lines)`. */
export function longFunctions(file: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) {
        found.push(`${file}:${first + 1} ${nameOf(node)} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('size limits', () => {
  it(`keeps every file under src/service/ at ${MAX_SERVICE_FILE_LINES} lines or fewer`, () => {
    const tooLong = tsFiles(join(ROOT, 'src/service'))
      .map((f) => ({ f: relative(ROOT, f), n: lineCount(readFileSync(f, 'utf8')) }))
      .filter(({ n }) => n > MAX_SERVICE_FILE_LINES)
      .map(({ f, n }) => `${f} (${n} lines)`);
    assert.deepEqual(tooLong, []);
  });

  it(`keeps every function outside src/sandbox/ at ${MAX_FUNCTION_LINES} lines or fewer`, () => {
    const files = tsFiles(join(ROOT, 'src')).filter((f) => !relative(ROOT, f).startsWith('src/sandbox/'));
    assert.ok(files.length > 50, 'the walk found the source files');
    const tooLong = files.flatMap((f) => longFunctions(relative(ROOT, f), readFileSync(f, 'utf8'), MAX_FUNCTION_LINES));
    assert.deepEqual(tooLong, []);
  });

  it('measures a function from its first line to its last, nested ones too', () => {
    const body = Array.from({ length: 61 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = `export function outer() {\n  const inner = () => {\n${body}\n  };\n  return inner;\n}\n`;
    const found = longFunctions('x.ts', text, MAX_FUNCTION_LINES);
    assert.deepEqual(found, ['x.ts:1 outer (66 lines)', 'x.ts:2 inner (63 lines)']);
    assert.deepEqual(longFunctions('x.ts', 'function short() {\n  return 1;\n}\n', MAX_FUNCTION_LINES), []);
  });
});
