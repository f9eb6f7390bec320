import { createHash } from 'node:crypto';

/** "SHA256:<base64 without padding>" of a raw SSH public key blob, exactly as ssh-keygen -l prints it. */
export function sha256Fingerprint(rawKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(rawKey).digest('base64').replace(/=+$/, '')}`;
}
