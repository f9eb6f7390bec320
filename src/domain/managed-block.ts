// The managed block in the jump account's authorized_keys is a pure function of the active grants.
// Everything outside the BEGIN/END markers belongs to someone else and is never changed.

export const BLOCK_BEGIN = '# BEGIN jit-jump managed block: do not edit';
export const BLOCK_END = '# END jit-jump managed block';

// The BEGIN marker carries the fencing token of the write that made the block (a number Redis issued under the
// sync lock): a write refuses to replace a block of a higher generation. Files from before it still parse.
const GENERATION_SUFFIX = /^ \(generation (\d{1,15})\)$/;

/** The BEGIN marker line, with the generation of this write when there is one. */
export function blockBeginLine(generation?: number): string {
  if (generation === undefined) return BLOCK_BEGIN;
  if (!Number.isSafeInteger(generation) || generation < 0 || generation >= 1e15) throw new Error(`refusing to render generation ${generation}`);
  return `${BLOCK_BEGIN} (generation ${generation})`;
}

/** For a trimmed line: undefined if it is no BEGIN marker, else the generation it carries (null: none). */
function beginMarker(trimmed: string): number | null | undefined {
  if (trimmed === BLOCK_BEGIN) return null;
  if (!trimmed.startsWith(BLOCK_BEGIN)) return undefined;
  const m = GENERATION_SUFFIX.exec(trimmed.slice(BLOCK_BEGIN.length));
  return m ? Number(m[1]) : undefined;
}

/** True for a BEGIN or END marker line, with or without a generation, surrounding whitespace allowed. */
export function isBlockMarker(line: string): boolean {
  const t = line.trim();
  return t === BLOCK_END || beginMarker(t) !== undefined;
}

/** The highest generation any BEGIN marker in the file carries (undefined: none carries one). */
export function blockGeneration(content: string): number | undefined {
  let highest: number | undefined;
  for (const line of content.split('\n')) {
    const g = beginMarker(line.trim());
    if (typeof g === 'number' && (highest === undefined || g > highest)) highest = g;
  }
  return highest;
}

/** An active grant as the renderer needs it; all values were validated before they got here. */
export interface RenderableGrant {
  id: string;
  /** "<type> <base64>" re-serialized by sshpk */
  publicKey: string;
  /** permitopen target: the exact host address and port from the policy */
  address: string;
  port: number;
  expiresAt: number;
}

/**
 * How sshd on this jump server understands expiry-time:
 * 'utc'   OpenSSH ≥ 9.1 reads the trailing Z;
 * 'local' older sshd reads local time, usable only where the operator declares the server runs in UTC;
 * 'none'  no expiry-time option at all (sshd < 7.7, or < 9.1 without that declaration).
 */
export type ExpiryFormat = 'utc' | 'local' | 'none';

const GRANT_ID = /^[a-z0-9-]{1,40}$/;
const KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/;
const ADDRESS = /^(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])$/;

function permitOpenTarget(address: string, port: number): string {
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  if (!ADDRESS.test(host) || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`refusing to render permitopen for ${JSON.stringify(address)}:${port}`);
  return `${host}:${port}`;
}

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

export function formatExpiryTime(epochMs: number, format: Exclude<ExpiryFormat, 'none'>): string {
  // expiry-time has second precision; round down so sshd never honours a key past its grant.
  const d = new Date(Math.floor(epochMs / 1000) * 1000);
  // Field by field rather than toISOString + replace: a sync renders thousands of these on every pass.
  const year = d.getUTCFullYear();
  const digits = `${year < 1000 && year >= 0 ? String(year).padStart(4, '0') : year}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
  // Past year 9999 (five digits), before year 0 ("-1…") or an invalid date ("NaN…"): never let that into the line.
  if (!/^\d{14}$/.test(digits)) throw new Error(`refusing to render expiry-time for ${epochMs}`);
  return format === 'utc' ? `${digits}Z` : digits;
}

/** Throws what renderKeyLines would throw for this grant's values; false: it has ended and renders nothing. */
function checkGrant(g: RenderableGrant, now: number): boolean {
  if (!Number.isFinite(g.expiresAt)) throw new Error(`refusing to render grant ${JSON.stringify(g.id)} without a valid expiry`);
  if (g.expiresAt <= now) return false;
  if (!GRANT_ID.test(g.id)) throw new Error(`refusing to render grant id ${JSON.stringify(g.id)}`);
  if (!KEY.test(g.publicKey)) throw new Error(`refusing to render a malformed key for grant ${g.id}`);
  return true;
}

/**
 * One line per public key with at least one unexpired grant. sshd uses the first line that matches a key,
 * so a person's overlapping grants share one line: a permitopen per grant and the earliest expiry.
 */
export function renderKeyLines(grants: readonly RenderableGrant[], now: number, expiry: ExpiryFormat): string[] {
  return renderInFormats(grants, now, [expiry])[0]!;
}

/**
 * The lines renderKeyLines gives in each of `formats`, from one grouping and one expiry-time per line: a sync
 * records the lines of every format before it knows the server's (thousands of lines, on every pass).
 */
export function renderInFormats(grants: readonly RenderableGrant[], now: number, formats: readonly ExpiryFormat[]): string[][] {
  const byKey = new Map<string, RenderableGrant[]>();
  for (const g of grants) {
    if (!checkGrant(g, now)) continue; // late revoke jobs never keep a key alive
    const list = byKey.get(g.publicKey) ?? [];
    list.push(g);
    byKey.set(g.publicKey, list);
  }
  const out = formats.map((): string[] => []);
  const withExpiry = formats.some((f) => f !== 'none');
  // Plain loops and module-level comparators: no closure made per key (thousands per pass, each one a cost).
  for (const [key, list] of [...byKey].sort(byFirst)) {
    list.sort(byId);
    const targets = new Set<string>();
    const ids: string[] = [];
    let earliest = Infinity;
    for (const g of list) {
      targets.add(permitOpenTarget(g.address, g.port));
      ids.push(g.id);
      if (g.expiresAt < earliest) earliest = g.expiresAt;
    }
    let options = 'restrict,port-forwarding';
    for (const t of [...targets].sort()) options += `,permitopen="${t}"`;
    options += ',command="/bin/false"';
    const tail = `${key} jit:${ids.join(',')}`;
    // 'local' is 'utc' without its Z (formatExpiryTime): computed once for both.
    const local = withExpiry ? formatExpiryTime(earliest, 'local') : '';
    for (let i = 0; i < formats.length; i++) {
      const f = formats[i];
      out[i]!.push(f === 'none' ? `${options} ${tail}` : `${options},expiry-time="${f === 'utc' ? `${local}Z` : local}" ${tail}`);
    }
  }
  return out;
}

const byFirst = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);
const byId = (a: RenderableGrant, b: RenderableGrant): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The grant ids a rendered line names in its comment (`jit:<id>,<id>`); none for any other line. */
export function grantIdsOfLine(line: string): string[] {
  const m = / jit:([^\s]+)$/.exec(line.trim());
  return m ? m[1]!.split(',').filter((id) => GRANT_ID.test(id)) : [];
}

/** The lines of `before` that `after` no longer holds, and the new ones, each in its own order (Set lookups: blocks hold thousands). */
export function lineChanges(before: readonly string[], after: readonly string[]): { removedLines: string[]; addedLines: string[] } {
  const stays = new Set(after);
  const was = new Set(before);
  return { removedLines: before.filter((l) => !stays.has(l)), addedLines: after.filter((l) => !was.has(l)) };
}

export interface UnrenderableGrant {
  id: string;
  /** why the renderer refused it (no user text: the renderer's own message) */
  reason: string;
}

/**
 * Splits grants into those the renderer accepts in every expiry format and those it refuses (a corrupt stored
 * value, an expiry past year 9999). One refused grant must not stop the others' lines from changing, above all
 * the removals: it is left out (no line is safer than a wrong one) and reported.
 */
export function splitRenderable(grants: readonly RenderableGrant[], now: number): { renderable: RenderableGrant[]; unrenderable: UnrenderableGrant[] } {
  const renderable: RenderableGrant[] = [];
  const unrenderable: UnrenderableGrant[] = [];
  for (const g of grants) {
    try {
      // Everything renderKeyLines refuses in any format, checked once per grant (not three renders): its values,
      // its permitopen target, and its expiry-time ('utc' and 'local' refuse the same instants, 'none' none).
      if (checkGrant(g, now)) {
        permitOpenTarget(g.address, g.port);
        formatExpiryTime(g.expiresAt, 'utc');
      }
      renderable.push(g);
    } catch (err) {
      unrenderable.push({ id: String(g.id), reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return { renderable, unrenderable };
}

export interface ParsedFile {
  before: string[];
  block: string[] | undefined;
  after: string[];
  /** markers that do not pair up: the file was edited by hand */
  damaged: boolean;
  /** damaged only: the lines the repair takes out (the broker's own, by recorded hash or exact rendered shape) */
  dropped?: string[];
}

const RENDERED_LINE = /^restrict,port-forwarding((?:,permitopen="[^"]*")+),command="\/bin\/false"(?:,expiry-time="\d{14}Z?")? (\S+) (\S+) jit:[a-z0-9-]{1,40}(?:,[a-z0-9-]{1,40})*$/;

/** True if the base64 blob is an SSH key blob that starts with its own type name (what sshd checks first). */
function blobOfType(type: string, base64: string): boolean {
  let bytes: string;
  try {
    bytes = atob(base64);
  } catch {
    return false;
  }
  const n = ((bytes.charCodeAt(0) << 24) | (bytes.charCodeAt(1) << 16) | (bytes.charCodeAt(2) << 8) | bytes.charCodeAt(3)) >>> 0;
  return n === type.length && bytes.slice(4, 4 + n) === type;
}

/**
 * Exactly the shape renderKeyLines produces (whatever the expiry format): its option prefix, a well-formed key,
 * and a comment of grant ids only. With damaged markers this is how a line the broker wrote is told from anyone
 * else's, so anything less exact (another option, a user comment that merely contains "jit:") is not it.
 */
export function isRenderedKeyLine(line: string): boolean {
  const m = RENDERED_LINE.exec(line.trim());
  if (!m) return false;
  const [, permits, type, blob] = m as unknown as [string, string, string, string];
  if (!KEY.test(`${type} ${blob}`) || !blobOfType(type, blob)) return false;
  return permits
    .slice(1)
    .split(',')
    .every((p) => {
      const t = /^permitopen="(.+):(\d{1,5})"$/.exec(p);
      if (!t) return false;
      try {
        return permitOpenTarget(t[1]!, Number(t[2])) === `${t[1]}:${t[2]}`;
      } catch {
        return false;
      }
    });
}

/**
 * Splits the file at the managed block. `written` says whether the broker recorded writing a line (by hash):
 * with damaged markers the block's bounds are unknown, so only lines it wrote or that have its exact rendered
 * shape are dropped, with every marker; every other line stays, in order and byte for byte.
 */
export function parseAuthorizedKeys(content: string, written: (line: string) => boolean = () => false): ParsedFile {
  const lines = content === '' ? [] : content.replace(/\n$/, '').split('\n');
  // A marker is recognised with surrounding whitespace too (a file converted to CRLF ends it with "\r"):
  // otherwise the old block would be taken for someone else's lines and its keys would stay valid.
  // A BEGIN marker with a generation is the same marker: normalise it for the pairing below.
  const marks = lines.map((l) => (beginMarker(l.trim()) !== undefined ? BLOCK_BEGIN : l.trim()));
  const begin = marks.indexOf(BLOCK_BEGIN);
  const end = marks.indexOf(BLOCK_END);
  if (begin === -1 && end === -1) return { before: lines, block: undefined, after: [], damaged: false };
  if (begin === -1 || end === -1 || end < begin || marks.lastIndexOf(BLOCK_BEGIN) !== begin || marks.lastIndexOf(BLOCK_END) !== end) {
    // Broken markers: a new block is rebuilt at the end. Dropping whole regions would take other people's lines
    // (the broker's own login among them, after a BEGIN without END) with it.
    const kept: string[] = [];
    const dropped: string[] = [];
    for (const [i, line] of lines.entries()) {
      if (marks[i] === BLOCK_BEGIN || marks[i] === BLOCK_END) continue;
      if (written(line) || written(marks[i]!) || isRenderedKeyLine(line)) dropped.push(line);
      else kept.push(line);
    }
    return { before: kept, block: [], after: [], damaged: true, dropped };
  }
  return { before: lines.slice(0, begin), block: lines.slice(begin + 1, end), after: lines.slice(end + 1), damaged: false };
}

/**
 * Returns the file with the managed block holding exactly `keyLines`; the rest of the file is kept byte for byte
 * (callers pass the file decoded one char per byte, latin1, so no byte is lost to decoding).
 */
export function spliceManagedBlock(
  content: string,
  keyLines: readonly string[],
  o: { written?: (line: string) => boolean; generation?: number } = {},
): string {
  const parsed = parseAuthorizedKeys(content, o.written);
  if (parsed.block === undefined && keyLines.length === 0) return content;
  const block = [blockBeginLine(o.generation), ...keyLines, BLOCK_END];
  if (parsed.block === undefined) {
    const prefix = content === '' || content.endsWith('\n') ? content : `${content}\n`;
    return `${prefix}${block.join('\n')}\n`;
  }
  return `${[...parsed.before, ...block, ...parsed.after].join('\n')}\n`;
}
