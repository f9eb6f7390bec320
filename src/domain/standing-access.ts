// Standing access: every key that can log in to a jump account without a grant, i.e. any key line outside the
// managed block other than the broker's own. `jit-jump audit standing` shows these are none. Pure: no I/O.
import { isRenderedKeyLine, parseAuthorizedKeys } from './managed-block.ts';
import { readAuthorizedKeysLine } from './standing-keys.ts';

export interface StandingKey {
  /** "SHA256:…" as ssh-keygen -l prints it */
  fingerprint: string;
  /** the key type, e.g. "ssh-ed25519" */
  type: string;
  /** the text after the key ('' if none) */
  comment: string;
  /** the options before the key ('' if none), e.g. `from="10.0.0.0/8",restrict` */
  options: string;
  /** 1-based line number in the authorized_keys file */
  line: number;
}

/** One jump server's standing keys, or why its file could not be read (then `keys` is empty and says nothing). */
export interface StandingAccessEntry {
  jumpHost: string;
  keys: StandingKey[];
  error?: string;
}

/**
 * The key lines of an authorized_keys text that stand outside the managed block, but the broker's own keys
 * (by fingerprint). Comments, blanks and lines sshd cannot read as a key are skipped, as sshd skips them.
 * With broken markers the block's bounds are unknown and sshd ignores markers anyway: every key line counts
 * but those of the broker's exact rendered shape (they carry a grant's expiry and the next sync removes them).
 */
export function standingKeys(content: string, brokerFingerprints: ReadonlySet<string>): StandingKey[] {
  const lines = content === '' ? [] : content.replace(/\n$/, '').split('\n');
  const inBlock = blockLines(content);
  const out: StandingKey[] = [];
  for (const [i, text] of lines.entries()) {
    if (inBlock(i, text)) continue;
    const key = readAuthorizedKeysLine(text);
    if (!key || brokerFingerprints.has(key.fingerprint)) continue;
    out.push({ fingerprint: key.fingerprint, type: key.type, comment: key.comment, options: key.options, line: i + 1 });
  }
  return out;
}

/** Tells whether line `i` (0-based) belongs to the managed block, markers included. */
function blockLines(content: string): (i: number, text: string) => boolean {
  const parsed = parseAuthorizedKeys(content);
  if (parsed.damaged) return (_i, text) => isRenderedKeyLine(text);
  if (parsed.block === undefined) return () => false;
  // Intact markers: the file is before, BEGIN, block, END, after.
  const begin = parsed.before.length;
  const end = begin + parsed.block.length + 1;
  return (i) => i >= begin && i <= end;
}
