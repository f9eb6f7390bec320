// The broker's own private key: it opens the bastion, so refuse one that others on the machine can read, and keep
// its text out of the logs.
import { readFileSync, statSync } from 'node:fs';
import ssh2 from 'ssh2';
import sshpk from 'sshpk';

/** Why the key file cannot be read, and the command that fixes it. */
function unreadable(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  if (code === 'ENOENT') return `cannot read ${path}: no such file. Create the broker's key with: ssh-keygen -t ed25519 -N '' -C jit-jump-broker -f ${path} (then install ${path}.pub on the jump server, see scripts/bootstrap-jump-server.sh)`;
  if (code === 'EACCES') return `cannot read ${path}: permission denied for this user (uid ${process.getuid?.() ?? '?'}). Give it the file: chown ${process.getuid?.() ?? '<uid>'} ${path} && chmod 600 ${path}`;
  return `cannot read ${path}: ${code}`;
}

export function checkPrivateKeyFile(path: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode;
    readFileSync(path); // readable by this user, not only present
  } catch (err) {
    return unreadable(path, err);
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

/**
 * The public half of the broker's private key, as "SHA256:…" (what ssh-keygen -l prints), or why it cannot be
 * read. A person must never register it: a grant line for it in the block could stand before the broker's own
 * line and lock the broker out (command="/bin/false" on its SFTP login).
 */
export function brokerKeyFingerprint(path: string): { fingerprint: string } | { problem: string } {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (err) {
    return { problem: unreadable(path, err) };
  }
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return { problem: `cannot read a private key from ${path}: ${key instanceof Error ? key.message : 'no key'}` };
  if (!key.isPrivateKey()) return { problem: `${path} holds a public key, not the broker's private key` };
  try {
    return { fingerprint: sshpk.parseKey(key.getPublicSSH(), 'rfc4253').fingerprint('sha256').toString() };
  } catch (err) {
    return { problem: `cannot derive the public key of ${path}: ${(err as Error).message}` };
  }
}
