// A bare ssh2 connection and SFTP channel to a jump server, with none of the broker's machinery: what the
// floor is measured with (one write of a temp file + posix-rename over it).
import { readFileSync } from 'node:fs';
import { Client, type SFTPWrapper } from 'ssh2';
import type { JumpHostConfig } from '../src/config/policy.ts';

export const cb = <T>(f: (done: (err: Error | null | undefined, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));

export async function connectSsh(jh: Pick<JumpHostConfig, 'address' | 'port' | 'user' | 'privateKeyPath'>): Promise<Client> {
  const client = new Client();
  await new Promise<void>((resolve, reject) =>
    client.on('ready', resolve).on('error', reject).connect({
      host: jh.address, port: jh.port, username: jh.user, privateKey: readFileSync(jh.privateKeyPath),
      hostVerifier: () => true, // benchmark only, against a server it started itself
    }),
  );
  return client;
}

export const openSftp = (client: Client) => cb<SFTPWrapper>((done) => client.sftp(done));

/** Writes `content` to a temp file beside `path` and renames it over `path` (posix-rename@openssh.com). */
export async function writeAndRename(sftp: SFTPWrapper, path: string, content: string): Promise<void> {
  const tmp = `${path}.bench.tmp`;
  await cb<void>((done) => sftp.writeFile(tmp, content, { mode: 0o600 }, done));
  await cb<void>((done) => sftp.ext_openssh_rename(tmp, path, done));
}

/** Runs `fn` n times one after another; each run's duration in ms. */
export async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}
