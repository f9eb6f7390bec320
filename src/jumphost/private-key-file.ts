// The broker's own private key: it opens the bastion, so refuse one that others on the machine can read.
import { statSync } from 'node:fs';

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
