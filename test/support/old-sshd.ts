// A real OpenSSH sshd that announces an older version in its banner, for what the broker and check-config do
// with a jump server below 9.1. sshd has no setting for its version (VersionAddendum only appends), and a proxy
// that rewrites the banner breaks the key exchange (both sides hash the banner). So: a copy of this machine's
// sshd with its version string replaced by one of the same length. Everything else is the real server.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SSHD, startSshd, type SshdProcess } from './sshd.ts';

/** Copies `binary` into `dir` with every "OpenSSH_<this version>" replaced by "OpenSSH_<version>" (same length). */
function patchedCopy(binary: string, dir: string, version: string): string {
  const bytes = readFileSync(binary);
  const current = /OpenSSH_\d+\.\d+/.exec(bytes.toString('latin1'))?.[0];
  if (!current) throw new Error(`${binary}: no OpenSSH version string found`);
  // "OpenSSH_8.9" for "OpenSSH_9.2"; "OpenSSH_08.9" for "OpenSSH_10.0" (a leading zero still parses as 8).
  const [major, minor] = version.split('.');
  const wanted = `OpenSSH_${major!.padStart(current.length - 'OpenSSH_.'.length - minor!.length, '0')}.${minor}`;
  if (wanted.length !== current.length) throw new Error(`cannot announce ${version} in place of ${current}`);
  const from = Buffer.from(current, 'latin1');
  const to = Buffer.from(wanted, 'latin1');
  for (let i = bytes.indexOf(from); i !== -1; i = bytes.indexOf(from, i + to.length)) to.copy(bytes, i);
  const path = join(dir, binary.split('/').pop()!);
  writeFileSync(path, bytes);
  chmodSync(path, 0o755);
  return path;
}

/** A jump sshd whose banner says OpenSSH_<version> (e.g. "8.9"). */
export async function startOldSshd(o: { dir: string; name: string; version: string; authorizedKeysContent: string }): Promise<SshdProcess> {
  // From OpenSSH 9.8 the per-connection binaries send the banner; sshd is told where the patched copies are.
  const helpers = (
    [
      ['sshd-session', 'SshdSessionPath'],
      ['sshd-auth', 'SshdAuthPath'],
    ] as const
  ).filter(([file]) => existsSync(join('/usr/lib/openssh', file)));
  const extraConfig = helpers.map(([file, option]) => `${option} ${patchedCopy(join('/usr/lib/openssh', file), o.dir, o.version)}`);
  return startSshd({
    name: o.name,
    role: 'jump',
    authorizedKeysContent: o.authorizedKeysContent,
    binary: patchedCopy(SSHD, o.dir, o.version),
    extraConfig,
  });
}
