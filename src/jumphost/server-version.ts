// The jump server's SSH identification string decides how expiry-time can be written.
export interface ServerVersion {
  raw: string;
  software: string;
  openssh?: { major: number; minor: number };
}

export function parseServerVersion(ident: string): ServerVersion {
  const raw = ident.trim();
  // "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6" → software "OpenSSH_9.2p1"
  const software = raw.replace(/^SSH-[\d.]+-/, '').split(' ')[0] ?? '';
  const m = /^OpenSSH_(\d+)\.(\d+)/.exec(software);
  return m ? { raw, software, openssh: { major: Number(m[1]), minor: Number(m[2]) } } : { raw, software };
}

type Versioned = Pick<ServerVersion, 'openssh'> | undefined;

function atLeast(v: Versioned, major: number, minor: number): boolean {
  const o = v?.openssh;
  return o !== undefined && (o.major > major || (o.major === major && o.minor >= minor));
}

/** expiry-time="…Z" (UTC) is understood from OpenSSH 9.1; older sshd rejects the whole line. */
export const supportsUtcExpiry = (v: Versioned) => atLeast(v, 9, 1);
/** expiry-time exists from OpenSSH 7.7. */
export const supportsExpiryTime = (v: Versioned) => atLeast(v, 7, 7);
