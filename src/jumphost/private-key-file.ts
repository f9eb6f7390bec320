// The broker's own private key: it opens the bastion, so refuse one that others on the machine can read, and keep
// its text out of the logs.
import { readFileSync, statSync } from 'node:fs';

export function checkPrivateKeyFile(path: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    return `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  if ((mode & 0o077) !== 0)
    return `${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${path}`;
  return undefined;
}

/**
 * The body lines of a private key file, for the logger's secrets: the armour and an OpenSSH key's first line
 * are scrubbed by shape already, a stray line from the middle of a key would not be. Unreadable: none (the
 * broker reports that at start-up, naming the field).
 */
export function privateKeyLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length >= 16 && !l.startsWith('-----'));
  } catch {
    return [];
  }
}
