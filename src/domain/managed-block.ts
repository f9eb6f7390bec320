// The managed block in the jump account's authorized_keys is a pure function of the active grants.
// Everything outside the BEGIN/END markers belongs to someone else and is never changed.

export const BLOCK_BEGIN = '# BEGIN jit-jump managed block: do not edit';
export const BLOCK_END = '# END jit-jump managed block';

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

export function formatExpiryTime(epochMs: number, format: Exclude<ExpiryFormat, 'none'>): string {
  // expiry-time has second precision; round down so sshd never honours a key past its grant.
  const iso = new Date(Math.floor(epochMs / 1000) * 1000).toISOString(); // 2026-11-23T18:30:00.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  // Past year 9999 toISOString gives "+010000-…": never let that (or anything else odd) into the line.
  if (!/^\d{14}$/.test(digits)) throw new Error(`refusing to render expiry-time for ${epochMs}`);
  return format === 'utc' ? `${digits}Z` : digits;
}

/**
 * One line per public key with at least one unexpired grant. sshd uses the first line that matches a key,
 * so a person's overlapping grants share one line: a permitopen per grant and the earliest expiry.
 */
export function renderKeyLines(grants: readonly RenderableGrant[], now: number, expiry: ExpiryFormat): string[] {
  const byKey = new Map<string, RenderableGrant[]>();
  for (const g of grants) {
    if (!Number.isFinite(g.expiresAt)) throw new Error(`refusing to render grant ${JSON.stringify(g.id)} without a valid expiry`);
    if (g.expiresAt <= now) continue; // late revoke jobs never keep a key alive
    if (!GRANT_ID.test(g.id)) throw new Error(`refusing to render grant id ${JSON.stringify(g.id)}`);
    if (!KEY.test(g.publicKey)) throw new Error(`refusing to render a malformed key for grant ${g.id}`);
    const list = byKey.get(g.publicKey) ?? [];
    list.push(g);
    byKey.set(g.publicKey, list);
  }
  const lines: string[] = [];
  for (const [key, list] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const targets = [...new Set(list.map((g) => permitOpenTarget(g.address, g.port)))].sort();
    const options = ['restrict', 'port-forwarding', ...targets.map((t) => `permitopen="${t}"`), 'command="/bin/false"'];
    if (expiry !== 'none') options.push(`expiry-time="${formatExpiryTime(Math.min(...list.map((g) => g.expiresAt)), expiry)}"`);
    lines.push(`${options.join(',')} ${key} jit:${list.map((g) => g.id).join(',')}`);
  }
  return lines;
}

export interface ParsedFile {
  before: string[];
  block: string[] | undefined;
  after: string[];
  /** markers that do not pair up: the file was edited by hand */
  damaged: boolean;
}

export function parseAuthorizedKeys(content: string): ParsedFile {
  const lines = content === '' ? [] : content.replace(/\n$/, '').split('\n');
  // A marker is recognised with surrounding whitespace too (a file converted to CRLF ends it with "\r"):
  // otherwise the old block would be taken for someone else's lines and its keys would stay valid.
  const marks = lines.map((l) => l.trim());
  const begin = marks.indexOf(BLOCK_BEGIN);
  const end = marks.indexOf(BLOCK_END);
  if (begin === -1 && end === -1) return { before: lines, block: undefined, after: [], damaged: false };
  if (begin === -1 || end === -1 || end < begin || marks.lastIndexOf(BLOCK_BEGIN) !== begin || marks.lastIndexOf(BLOCK_END) !== end) {
    // Broken markers: drop every marker and everything between any BEGIN and the following END so a
    // stale key can never survive, and rebuild one block at the end.
    const kept: string[] = [];
    let inside = false;
    for (const line of lines) {
      if (line.trim() === BLOCK_BEGIN) inside = true;
      else if (line.trim() === BLOCK_END) inside = false;
      else if (!inside && !line.includes(' jit:r')) kept.push(line);
    }
    return { before: kept, block: [], after: [], damaged: true };
  }
  return { before: lines.slice(0, begin), block: lines.slice(begin + 1, end), after: lines.slice(end + 1), damaged: false };
}

/** Returns the file with the managed block holding exactly `keyLines`; the rest of the file is kept byte for byte. */
export function spliceManagedBlock(content: string, keyLines: readonly string[]): string {
  const parsed = parseAuthorizedKeys(content);
  if (parsed.block === undefined && keyLines.length === 0) return content;
  const block = [BLOCK_BEGIN, ...keyLines, BLOCK_END];
  if (parsed.block === undefined) {
    const prefix = content === '' || content.endsWith('\n') ? content : `${content}\n`;
    return `${prefix}${block.join('\n')}\n`;
  }
  return `${[...parsed.before, ...block, ...parsed.after].join('\n')}\n`;
}
