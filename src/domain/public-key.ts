// Engineers' public keys: parsed by sshpk as format 'ssh' only and re-serialized, never copied as text.
import sshpk from 'sshpk';

export interface UserPublicKey {
  /** "<type> <base64>" as sshpk serializes it, with no comment */
  line: string;
  type: string;
  bits: number;
  /** "SHA256:…" exactly as ssh-keygen -l prints it */
  fingerprint: string;
}

export type KeyCheck = { ok: true; key: UserPublicKey } | { ok: false; message: string; privateKeyPasted?: boolean };

export interface KeyRules {
  minRsaBits: number;
}

const ALLOWED_TYPES: Record<string, string> = {
  'ssh-ed25519': 'ed25519',
  'ecdsa-sha2-nistp256': 'ecdsa',
  'ecdsa-sha2-nistp384': 'ecdsa',
  'ecdsa-sha2-nistp521': 'ecdsa',
  'ssh-rsa': 'rsa',
};
const MAX_KEY_TEXT = 16_384;
// Armour of every private key format people paste by mistake (OpenSSH, PEM, PKCS#8, PuTTY, ssh.com), and the
// base64 of an OpenSSH private key ("openssh-key-v1\0") when only its body was copied.
const PRIVATE_ARMOUR = /PRIVATE KEY|PuTTY-User-Key-File|BEGIN SSH2 ENCRYPTED/i;
const OPENSSH_PRIVATE_BODY = 'b3BlbnNzaC1rZXktdjEA';
// C0 and C1 controls (tab aside), DEL, line/paragraph separators, and bidi overrides that make a text read
// differently from what it is.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const KEY_TYPE_WORD = /(?:^|[\s,])(?:ssh-[a-z0-9]+|ecdsa-sha2-[a-z0-9]+|sk-[a-z0-9@.-]+|[a-z0-9-]+-cert-v0\d@openssh\.com)\s+AAAA/i;

export const KEY_HELP = 'Paste the one line from your *.pub file, e.g. `/jump key add ssh-ed25519 AAAAC3Nz… you@laptop`.';

export const PRIVATE_KEY_MESSAGE =
  'That was a *private* key. It was not stored or logged, but it has now been sent through Slack: treat it as leaked, ' +
  'delete it, make a new key pair (`ssh-keygen -t ed25519`) and register the new *public* key (the .pub file).';

/** Whether some text holds (part of) a private key: such text is refused wherever it appears, and never kept. */
export function containsPrivateKey(text: string): boolean {
  return PRIVATE_ARMOUR.test(text) || text.includes(OPENSSH_PRIVATE_BODY);
}

export function checkUserPublicKey(text: string, rules: KeyRules): KeyCheck {
  if (containsPrivateKey(text)) return { ok: false, privateKeyPasted: true, message: PRIVATE_KEY_MESSAGE };
  if (text.length > MAX_KEY_TEXT) return { ok: false, message: `That is too long to be a public key. ${KEY_HELP}` };
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: `No key given. ${KEY_HELP}` };
  // One key, one line, no control characters: sshpk's parser is lenient, so the shape is checked first.
  if (/[\r\n]/.test(trimmed)) return { ok: false, message: `Give exactly one key on one line. ${KEY_HELP}` };
  if (CONTROL.test(trimmed)) return { ok: false, message: `The key contains control characters. ${KEY_HELP}` };
  const parts = trimmed.split(/[\t ]+/);
  const [type, blob] = parts;
  // A second key in the comment would be silently dropped: say so rather than store one of two.
  if (KEY_TYPE_WORD.test(parts.slice(2).join(' '))) return { ok: false, message: `Give exactly one key on one line. ${KEY_HELP}` };
  if (type === 'ssh-dss') return { ok: false, message: 'DSA keys are too weak and are refused. Make an ed25519 key: `ssh-keygen -t ed25519`.' };
  if (type && /-cert-v0\d@openssh\.com$/.test(type))
    return { ok: false, message: `Certificates are not accepted; register the plain public key. ${KEY_HELP}` };
  if (type && /^sk-/.test(type))
    return { ok: false, message: 'Security-key (sk-…) keys are not supported yet. Register an ed25519 key: `ssh-keygen -t ed25519`.' };
  if (!type || !Object.hasOwn(ALLOWED_TYPES, type)) {
    return {
      ok: false,
      message: `A key must start with its type (ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa); nothing may stand before it. ${KEY_HELP}`,
    };
  }
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return { ok: false, message: `The key data is not valid base64. ${KEY_HELP}` };
  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(`${type} ${blob}`, 'ssh');
  } catch {
    return { ok: false, message: `That is not a valid OpenSSH public key. ${KEY_HELP}` };
  }
  const line = key.toString('ssh').split(' ').slice(0, 2).join(' ');
  // Round trip: what we store must be exactly what was sent, or the text held something extra.
  if (line !== `${type} ${blob}`) return { ok: false, message: `That key does not round-trip cleanly (extra or damaged data). ${KEY_HELP}` };
  const kind = ALLOWED_TYPES[type];
  if (kind !== key.type) return { ok: false, message: `The key type ${type} does not match its data. ${KEY_HELP}` };
  if (key.type === 'rsa' && key.size < rules.minRsaBits) {
    return {
      ok: false,
      message: `RSA keys must have at least ${rules.minRsaBits} bits (this one has ${key.size}). Make an ed25519 key: \`ssh-keygen -t ed25519\`.`,
    };
  }
  return { ok: true, key: { line, type, bits: key.size, fingerprint: key.fingerprint('sha256').toString() } };
}
