// Engineers' public keys: parsed by sshpk as format 'ssh' only and re-serialized, never copied as text.
import sshpk from 'sshpk';
import { ok, refuse, type KeyRefusals, type Result } from './result.ts';

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

/** `private-key-pasted`: the text held a private key (never logged; the person must rotate it). */
export type KeyCheck = Result<UserPublicKey, keyof KeyRefusals>;

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

/** Whether some text holds (part of) a private key: such text is refused wherever it appears, and never kept. */
export function containsPrivateKey(text: string): boolean {
  return PRIVATE_ARMOUR.test(text) || text.includes(OPENSSH_PRIVATE_BODY);
}

export function checkUserPublicKey(text: string, rules: KeyRules): KeyCheck {
  if (containsPrivateKey(text)) return refuse('private-key-pasted', 'a private key (not kept)', {});
  if (text.length > MAX_KEY_TEXT) return refuse('key-too-long', `${text.length} characters`, {});
  const trimmed = text.trim();
  if (trimmed === '') return refuse('key-missing', 'empty', {});
  // One key, one line, no control characters: sshpk's parser is lenient, so the shape is checked first.
  if (/[\r\n]/.test(trimmed)) return refuse('key-not-one-line', 'several lines', {});
  if (CONTROL.test(trimmed)) return refuse('key-control-characters', 'control characters', {});
  const parts = trimmed.split(/[\t ]+/);
  const [type, blob] = parts;
  // A second key in the comment would be silently dropped: say so rather than store one of two.
  if (KEY_TYPE_WORD.test(parts.slice(2).join(' '))) return refuse('key-not-one-line', 'a second key in the comment', {});
  if (type === 'ssh-dss') return refuse('key-dsa', 'ssh-dss', {});
  if (type && /-cert-v0\d@openssh\.com$/.test(type)) return refuse('key-certificate', 'a certificate', {});
  if (type && /^sk-/.test(type)) return refuse('key-security-key', 'an sk- key', {});
  if (!type || !Object.hasOwn(ALLOWED_TYPES, type)) return refuse('key-no-type', 'no allowed key type first', {});
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return refuse('key-bad-base64', 'key data not base64', {});
  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(`${type} ${blob}`, 'ssh');
  } catch {
    return refuse('key-unparsable', 'sshpk could not parse it', {});
  }
  const line = key.toString('ssh').split(' ').slice(0, 2).join(' ');
  // Round trip: what we store must be exactly what was sent, or the text held something extra.
  if (line !== `${type} ${blob}`) return refuse('key-not-round-trip', 're-serialized differently', {});
  const kind = ALLOWED_TYPES[type];
  if (kind !== key.type) return refuse('key-type-mismatch', `${type} with ${key.type} data`, { type });
  if (key.type === 'rsa' && key.size < rules.minRsaBits)
    return refuse('key-rsa-too-small', `RSA ${key.size} bits under minRsaBits ${rules.minRsaBits}`, { minBits: rules.minRsaBits, bits: key.size });
  return ok({ line, type, bits: key.size, fingerprint: key.fingerprint('sha256').toString() });
}
