// check-config: does the jump server's sshd configuration forbid what per-key options cannot (DESIGN.md: the
// key line's `port-forwarding` also re-enables remote forwarding)? Read as the jump account sees it over SFTP
// (`sshd -T` needs a shell the broker does not have): the main file, its Include files (globs in the last path
// component), and the Match blocks that apply to the jump account by `User` or `All`. sshd takes the first
// value of a keyword; a value in a matching Match block overrides the global one. A Match by anything else
// (Group, Address, Host…) cannot be decided here: a wanted keyword set there is reported as unknown.

/** What the jump account needs, keyword (lower case) → the value wanted, and sshd's default. */
export const FORWARDING_HARDENING = [
  { keyword: 'AllowTcpForwarding', wanted: 'local', defaultValue: 'yes' },
  { keyword: 'PermitListen', wanted: 'none', defaultValue: 'any' },
  { keyword: 'AllowStreamLocalForwarding', wanted: 'no', defaultValue: 'yes' },
] as const;

export interface SshdFiles {
  /** the file's text, or undefined if it does not exist; throws when it cannot be read */
  read(path: string): Promise<string | undefined>;
  list(dir: string): Promise<string[]>;
}

export type HardeningReport =
  | { readable: false; path: string; why: string }
  | {
      readable: true;
      files: string[];
      /** each wanted keyword: its effective value for the user and where it came from */
      settings: { keyword: string; wanted: string; value: string; from: string }[];
      /** Match blocks that set a wanted keyword and whose criteria check-config cannot evaluate */
      undecided: { keyword: string; value: string; match: string }[];
    };

interface Line {
  keyword: string;
  args: string[];
  file: string;
}

const MAX_INCLUDE_DEPTH = 8;

/** The configuration's lines in order, Include files expanded in place (sshd sorts a glob's matches). */
async function lines(files: SshdFiles, path: string, baseDir: string, seen: string[], depth: number): Promise<Line[]> {
  let text: string | undefined;
  try {
    text = await files.read(path);
  } catch (err) {
    throw new Error(`cannot read ${path} (${(err as Error).message})`);
  }
  if (text === undefined) {
    // sshd skips an Include that names no file; the main file must exist.
    if (depth > 0) return [];
    throw new Error(`${path} does not exist`);
  }
  seen.push(path);
  const out: Line[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword = '', ...args] = line.split(/[\s=]+/).filter((w) => w !== '');
    if (keyword.toLowerCase() !== 'include') {
      out.push({ keyword: keyword.toLowerCase(), args, file: path });
      continue;
    }
    if (depth >= MAX_INCLUDE_DEPTH) throw new Error(`Include nested deeper than ${MAX_INCLUDE_DEPTH} in ${path}`);
    for (const arg of args) {
      const target = arg.startsWith('/') ? arg : `${baseDir}/${arg}`;
      for (const file of await expandGlob(files, target)) out.push(...(await lines(files, file, baseDir, seen, depth + 1)));
    }
  }
  return out;
}

async function expandGlob(files: SshdFiles, pattern: string): Promise<string[]> {
  const slash = pattern.lastIndexOf('/');
  const dir = pattern.slice(0, slash) || '/';
  const name = pattern.slice(slash + 1);
  if (!/[*?[]/.test(name)) return [pattern];
  const re = globToRegExp(name);
  let names: string[];
  try {
    names = await files.list(dir);
  } catch {
    return []; // sshd skips an Include glob that matches nothing
  }
  return names.filter((n) => re.test(n) && !n.startsWith('.')).sort().map((n) => `${dir}/${n}`);
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** sshd's pattern lists: comma-separated, `*` and `?` wildcards, `!` negates (a negated match wins). */
function matchesPatternList(value: string, list: string): boolean {
  let matched = false;
  for (const p of list.split(',')) {
    const negated = p.startsWith('!');
    if (globToRegExp(negated ? p.slice(1) : p).test(value)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Whether a `Match …` line applies to `user`: true, false, or undefined (criteria other than User or All). */
function matchApplies(args: string[], user: string): boolean | undefined {
  let unknown = false;
  for (let i = 0; i < args.length; i++) {
    const criterion = args[i]!.toLowerCase();
    if (criterion === 'all') continue;
    const value = args[++i];
    if (value === undefined) return undefined;
    if (criterion === 'user') {
      if (!matchesPatternList(user, value)) return false;
    } else unknown = true;
  }
  return unknown ? undefined : true;
}

export async function checkForwardingHardening(files: SshdFiles, path: string, user: string): Promise<HardeningReport> {
  let all: Line[];
  const seen: string[] = [];
  try {
    all = await lines(files, path, path.slice(0, path.lastIndexOf('/')) || '/', seen, 0);
  } catch (err) {
    return { readable: false, path, why: (err as Error).message };
  }
  const global = new Map<string, { value: string; from: string }>();
  const matched = new Map<string, { value: string; from: string }>();
  const undecided: { keyword: string; value: string; match: string }[] = [];
  let block: { applies: boolean | undefined; text: string } | undefined;
  const wanted = new Set(FORWARDING_HARDENING.map((h) => h.keyword.toLowerCase()));
  for (const l of all) {
    if (l.keyword === 'match') {
      block = { applies: matchApplies(l.args, user), text: `Match ${l.args.join(' ')}` };
      continue;
    }
    if (!wanted.has(l.keyword)) continue;
    const value = l.args.join(' ');
    const from = block ? `${l.file} (${block.text})` : l.file;
    if (!block) {
      if (!global.has(l.keyword)) global.set(l.keyword, { value, from });
    } else if (block.applies === true) {
      if (!matched.has(l.keyword)) matched.set(l.keyword, { value, from });
    } else if (block.applies === undefined) undecided.push({ keyword: l.keyword, value, match: block.text });
  }
  const settings = FORWARDING_HARDENING.map((h) => {
    const k = h.keyword.toLowerCase();
    const got = matched.get(k) ?? global.get(k) ?? { value: h.defaultValue, from: "sshd's default" };
    return { keyword: h.keyword, wanted: h.wanted, ...got };
  });
  const names = new Map(FORWARDING_HARDENING.map((h) => [h.keyword.toLowerCase(), h.keyword] as const));
  return {
    readable: true,
    files: seen,
    settings,
    undecided: undecided.map((u) => ({ ...u, keyword: names.get(u.keyword) ?? u.keyword })),
  };
}
