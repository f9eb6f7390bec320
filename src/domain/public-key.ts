// Engineers' public keys: parsed by sshpk as format 'ssh' only and re-serialized, never copied as text.
import sshpk from 'sshpk';
import { ok, refuse, type Result } from './result.ts';

export interface UserPublicKey {
  /** "<type> <base64>" as sshpk serializes it, with no comment */
  line: string;
  type: string;
  bits: number;
  /** "SHA256:…" exactly as ssh-keygen -l prints it */
  fingerprint: string;
}

/** A key registered to a person, and when. */
export interface RegisteredKey extends UserPublicKey {
  addedAt: number;
}

/** `private-key-pasted`: the text held a private key (it must never be logged, and the person must rotate it). */
export type KeyCheck = Result<UserPublicKey, 'bad-key' | 'private-key-pasted'>;

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

const bad = (message: string) => refuse('bad-key', message);

export function checkUserPublicKey(text: string, rules: KeyRules): KeyCheck {
  if (containsPrivateKey(text)) return refuse('private-key-pasted', PRIVATE_KEY_MESSAGE);
  if (text.length > MAX_KEY_TEXT) return bad(`That is too long to be a public key. ${KEY_HELP}`);
  const trimmed = text.trim();
  if (trimmed === '') return bad(`No key given. ${KEY_HELP}`);
  // One key, one line, no control characters: sshpk's parser is lenient, so the shape is checked first.
  if (/[\r\n]/.test(trimmed)) return bad(`Give exactly one key on one line. ${KEY_HELP}`);
  if (CONTROL.test(trimmed)) return bad(`The key contains control characters. ${KEY_HELP}`);
  const parts = trimmed.split(/[\t ]+/);
  const [type, blob] = parts;
  // A second key in the comment would be silently dropped: say so rather than store one of two.
  if (KEY_TYPE_WORD.test(parts.slice(2).join(' '))) return bad(`Give exactly one key on one line. ${KEY_HELP}`);
  if (type === 'ssh-dss') return bad('DSA keys are too weak and are refused. Make an ed25519 key: `ssh-keygen -t ed25519`.');
  if (type && /-cert-v0\d@openssh\.com$/.test(type))
    return bad(`Certificates are not accepted; register the plain public key. ${KEY_HELP}`);
  if (type && /^sk-/.test(type))
    return bad('Security-key (sk-…) keys are not supported yet. Register an ed25519 key: `ssh-keygen -t ed25519`.');
  if (!type || !Object.hasOwn(ALLOWED_TYPES, type)) {
    return bad(`A key must start with its type (ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa); nothing may stand before it. ${KEY_HELP}`);
  }
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return bad(`The key data is not valid base64. ${KEY_HELP}`);
  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(`${type} ${blob}`, 'ssh');
  } catch {
    return bad(`That is not a valid OpenSSH public key. ${KEY_HELP}`);
  }
  const line = key.toString('ssh').split(' ').slice(0, 2).join(' ');
  // Round trip: what we store must be exactly what was sent, or the text held something extra.
  if (line !== `${type} ${blob}`) return bad(`That key does not round-trip cleanly (extra or damaged data). ${KEY_HELP}`);
  const kind = ALLOWED_TYPES[type];
  if (kind !== key.type) return bad(`The key type ${type} does not match its data. ${KEY_HELP}`);
  if (key.type === 'rsa' && key.size < rules.minRsaBits) {
    return bad(`RSA keys must have at least ${rules.minRsaBits} bits (this one has ${key.size}). Make an ed25519 key: \`ssh-keygen -t ed25519\`.`);
  }
  return ok({ line, type, bits: key.size, fingerprint: key.fingerprint('sha256').toString() });
}
