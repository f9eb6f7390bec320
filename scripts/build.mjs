// `npm run build` (and npm's `prepare`, which `npm ci` runs): src/ → dist/ as plain JavaScript, so that the broker
// runs under plain node. tsx compiles every module at load in a loader thread of its own, which costs the process
// ≈ 50 MB of RSS for as long as it runs. esbuild (tsx's own compiler, a regular dependency) turns each src/**/*.ts
// into dist/**/*.js, the same tree, one file each, imports kept: lazy imports stay lazy, and each module finds the
// files beside it (the Lua scripts, the console page: copied as they are) by import.meta.url as it does in src/.
// No type checking here: `npm run typecheck` (and `npm test`) does that; the build takes well under a second.
// Plain JavaScript itself, so that it runs where only node is (bin/jit-jump.mjs calls it when dist/ is stale).
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SRC = join(ROOT, 'src');
export const DIST = join(ROOT, 'dist');
/** Written last by a build, dated when the build started: a source changed after that is not in dist/. */
const STAMP = join(DIST, '.built');
/** What the build reads besides src/: a change to it is a change to every output. */
const BUILD_INPUTS = [fileURLToPath(import.meta.url)];

/** Every file and folder under `dir` (a folder's date moves when an entry is added, removed or renamed). */
function tree(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? [path, ...tree(path)] : [path];
  });
}

/** Why dist/ cannot be run as it is (missing, or a source newer than the build), or undefined when it can. */
export function staleness() {
  if (!existsSync(STAMP)) return 'dist/ is missing';
  const built = statSync(STAMP).mtimeMs;
  const newer = [SRC, ...tree(SRC), ...BUILD_INPUTS].find((p) => statSync(p).mtimeMs > built);
  return newer ? `${relative(ROOT, newer)} changed after dist/ was built` : undefined;
}

/** Every import but src/'s own is left to node; src/'s own `./x.ts` becomes `./x.js`, the file built beside it. */
const keepImports = {
  name: 'keep-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      return { path: args.path.startsWith('.') ? args.path.replace(/\.ts$/, '.js') : args.path, external: true };
    });
  },
};

/** Builds into a folder of its own, then puts it in place of dist/: a process starting from dist/ meanwhile
 *  sees the old build or the new one, never half of one; two builds at once both end with a whole dist/.
 *  `quiet`: esbuild prints nothing, and a failure is one Error naming esbuild's first error. */
export async function build({ quiet = false } = {}) {
  const { build: esbuild } = await import('esbuild');
  const started = Date.now();
  const out = `${DIST}.tmp-${process.pid}`;
  rmSync(out, { recursive: true, force: true });
  const files = tree(SRC).filter((p) => statSync(p).isFile());
  await esbuild({
    logLevel: quiet ? 'silent' : 'warning',
    entryPoints: files.filter((p) => p.endsWith('.ts')),
    outbase: SRC,
    outdir: out,
    bundle: true, // with every import external (keepImports): one output per source, imports rewritten
    plugins: [keepImports],
    platform: 'node',
    format: 'esm',
    target: 'node20',
  }).catch((err) => {
    const first = err.errors?.[0];
    throw quiet && first ? new Error(first.location ? `${first.location.file}:${first.location.line}: ${first.text}` : first.text) : err;
  });
  for (const asset of files.filter((p) => !p.endsWith('.ts'))) {
    const to = join(out, relative(SRC, asset));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(asset, to);
  }
  const stamp = join(out, '.built');
  writeFileSync(stamp, `built from src/ by scripts/build.mjs\n`);
  utimesSync(stamp, started / 1000, started / 1000);
  const old = `${DIST}.old-${process.pid}`;
  try {
    renameSync(DIST, old);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  try {
    renameSync(out, DIST);
  } catch (err) {
    // Another build put its dist/ there in between: as new as this one.
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    rmSync(out, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
  return Date.now() - started;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // --if-stale: only when dist/ is missing or older than src/ (`npm test` and the bench, before they start it).
  const why = process.argv.includes('--if-stale') ? staleness() : 'asked';
  // The Dockerfile installs the dependencies (npm ci runs this as `prepare`) before it copies src/ in, so that
  // their layer outlives a change of src/; it builds next.
  if (!existsSync(SRC)) console.log('build: no src/ here yet: nothing to build');
  else if (why) console.log(`build: dist/ from src/ in ${await build()} ms (${why})`);
}
