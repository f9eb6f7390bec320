// The house stays as designed (issue #10): dependency-cruiser checks src/'s import graph against the rules in
// .dependency-cruiser.cjs, and a plain text check keeps Redis key names inside src/store/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { redisKeys } from '../../src/store/redis-keys.ts';

const ROOT = join(import.meta.dirname, '../..');
const config = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as {
  forbidden: { name: string }[];
  options: Record<string, unknown>;
};

let cached: Promise<ICruiseResult> | undefined;
/** One cruise of src/ for every test here (it parses every file). */
function cruiseSrc(): Promise<ICruiseResult> {
  cached ??= (async () => {
    const previous = process.cwd();
    process.chdir(ROOT); // paths in the rules and the result are relative to the repository
    try {
      const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
      const result = await cruise(['src'], { ...config.options, validate: true, ruleSet: { forbidden: config.forbidden } } as never, undefined, { tsConfig });
      return result.output as ICruiseResult;
    } finally {
      process.chdir(previous);
    }
  })();
  return cached;
}

function violationsOf(result: ICruiseResult, rule: string): string[] {
  return result.summary.violations
    .filter((v: IViolation) => v.rule.name === rule)
    .map((v: IViolation) => (v.cycle?.length ? [v.from, ...v.cycle.map((c) => c.name)].join(' → ') : `${v.from} → ${v.to}`))
    .sort();
}

describe('import graph of src/', () => {
  it('sees the whole of src/ (so the rules below are not vacuously true)', async () => {
    const result = await cruiseSrc();
    const modules = result.modules.map((m) => m.source);
    for (const file of ['src/domain/request-state.ts', 'src/service/access-service.ts', 'src/store/request-store.ts', 'src/slack/bolt-app.ts', 'src/broker.ts'])
      assert.ok(modules.includes(file), file);
    const domain = result.modules.find((m) => m.source === 'src/domain/access-policy.ts')!;
    assert.ok(domain.dependencies.some((d) => d.resolved === 'src/domain/policy.ts'), 'type-only imports count');
  });

  it('domain imports nothing else of src/', async () => {
    assert.deepEqual(violationsOf(await cruiseSrc(), 'domain-imports-only-domain'), []);
  });

  it('domain imports no I/O module of node (fs, net, child_process, http, …)', async () => {
    assert.deepEqual(violationsOf(await cruiseSrc(), 'domain-does-no-io'), []);
  });

  it('service imports only domain and its own ports', async () => {
    assert.deepEqual(violationsOf(await cruiseSrc(), 'service-imports-only-domain'), [], 'imports of adapters from src/service/');
  });

  it('audit imports only domain and store, store only domain (audit posts through a port Slack implements)', async () => {
    const result = await cruiseSrc();
    assert.deepEqual(violationsOf(result, 'audit-imports-only-domain-and-store'), []);
    assert.deepEqual(violationsOf(result, 'store-imports-only-domain'), []);
  });

  it('has no cycle between folders of src/, and no circular file imports', async () => {
    const result = await cruiseSrc();
    assert.deepEqual(violationsOf(result, 'no-folder-cycles'), []);
    assert.deepEqual(violationsOf(result, 'no-circular-imports'), []);
  });

  it('names Redis keys only in src/store/ (the key builders, the {jit} tag, the BullMQ prefix)', () => {
    const builders = Object.keys(redisKeys()).join('|');
    const keyName = new RegExp(`\\{jit\\}|:bull\\b|\\.keys\\.(${builders})\\b`);
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const offenders = files(join(ROOT, 'src'))
      .map((f) => relative(ROOT, f))
      .filter((f) => !f.startsWith('src/store/') && keyName.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });
});
