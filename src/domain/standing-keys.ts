// Keys that stand in a jump account's authorized_keys outside the managed block: the broker's own line and
// whatever the operator put there. Such a key has access that jit-jump does not govern, and a grant line for
// it would either be shadowed or (standing first) shadow that line: sshd uses the first line that matches a
// key. So such keys are never registered nor rendered. Pure: parsing and fingerprints only.
import sshpk from 'sshpk';
import { parseAuthorizedKeys, type RenderableGrant } from './managed-block.ts';

const KEY_TYPE = /^(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+|[a-z0-9-]+-cert-v0\d@openssh\.com)$/;

/** "SHA256:…" as ssh-keygen -l prints it, of a "<type> <base64>" text; undefined if it is no key. */
export function fingerprintOfKey(type: string, blob: string): string | undefined {
  if (!KEY_TYPE.test(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return undefined;
  const known = fingerprints.get(`${type} ${blob}`);
  if (known !== undefined) return known || undefined;
  let fingerprint = '';
  try {
    fingerprint = sshpk.parseKey(`${type} ${blob}`, 'ssh').fingerprint('sha256').toString();
  } catch {
    /* not a key sshpk reads: remembered as '' */
  }
  if (fingerprints.size >= FINGERPRINTS_KEPT) fingerprints.clear();
  fingerprints.set(`${type} ${blob}`, fingerprint);
  return fingerprint || undefined;
}

/**
 * Fingerprints already computed, by key: every sync fingerprints each rendered key (≈ 0.1 ms each with sshpk),
 * the same keys again and again. A pure function's results; bounded, forgotten all at once when full.
 */
const fingerprints = new Map<string, string>();
const FINGERPRINTS_KEPT = 50_000;

/** The fingerprint of a "<type> <base64>" key as the store and the renderer hold it. */
export function fingerprintOfLine(keyLine: string): string | undefined {
  // Remembered by "<type> <base64>", which is what the store holds: no split and join per call for a key seen before.
  const known = fingerprints.get(keyLine);
  if (known !== undefined) return known || undefined;
  const [type = '', blob = ''] = keyLine.split(' ');
  return fingerprintOfKey(type, blob);
}

/** One authorized_keys line as sshd reads it: its options (text before the key, '' if none), key and comment. */
export interface AuthorizedKeysLine {
  options: string;
  type: string;
  fingerprint: string;
  comment: string;
}

/**
 * The key of one authorized_keys line, read as sshd reads it: a key at the start, or else options first
 * (up to the first blank outside double quotes, `\"` escaping a quote) and then the key.
 */
export function readAuthorizedKeysLine(line: string): AuthorizedKeysLine | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const atStart = keyAt(text, '');
  if (atStart) return atStart;
  let quoted = false;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted && text[i + 1] === '"') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) break;
  }
  return keyAt(text.slice(i).trim(), text.slice(0, i));
}

/** The fingerprint of the key of one authorized_keys line (see readAuthorizedKeysLine). */
export function keyOfAuthorizedKeysLine(line: string): string | undefined {
  return readAuthorizedKeysLine(line)?.fingerprint;
}

function keyAt(text: string, options: string): AuthorizedKeysLine | undefined {
  const m = /^(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(text);
  if (!m) return undefined;
  const [, type = '', blob = '', comment = ''] = m;
  const fingerprint = fingerprintOfKey(type, blob);
  return fingerprint ? { options, type, fingerprint, comment: comment.trim() } : undefined;
}

/**
 * Fingerprints of every key standing outside the managed block of this authorized_keys text (with damaged
 * markers: the lines the repair keeps; `written` tells the broker's own lines, as for parseAuthorizedKeys).
 */
export function standingFingerprints(content: string, written?: (line: string) => boolean): Set<string> {
  const parsed = parseAuthorizedKeys(content, written);
  const out = new Set<string>();
  for (const line of [...parsed.before, ...parsed.after]) {
    const fp = keyOfAuthorizedKeysLine(line);
    if (fp) out.add(fp);
  }
  return out;
}

export interface ScreenedGrants {
  /** the grants that may be rendered */
  kept: RenderableGrant[];
  /** grants not rendered: their key stands outside the block (or is a broker key); by fingerprint */
  skipped: { fingerprint: string; grantIds: string[] }[];
}

/** Leaves out every grant whose key stands in `standing` (fingerprints). */
export function screenStandingKeys(grants: readonly RenderableGrant[], standing: ReadonlySet<string>): ScreenedGrants {
  const kept: RenderableGrant[] = [];
  const skipped = new Map<string, string[]>();
  for (const g of grants) {
    const fp = fingerprintOfLine(g.publicKey);
    if (fp && standing.has(fp)) skipped.set(fp, [...(skipped.get(fp) ?? []), g.id]);
    else kept.push(g);
  }
  return { kept, skipped: [...skipped].map(([fingerprint, grantIds]) => ({ fingerprint, grantIds })) };
}
