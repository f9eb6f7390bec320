// How long one authorized_keys update takes against a real local sshd (DESIGN.md "Measured floor").
// Run: node_modules/.bin/tsx bench/sync-write.ts [iterations]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Client, type SFTPWrapper } from 'ssh2';
import type { JumpHostConfig } from '../src/config/policy.ts';
import { JumpHostConnections } from '../src/jumphost/jump-host-connections.ts';
import { generateUserKey, startSshd } from '../src/sandbox/sshd-process.ts';

const iterations = Number(process.argv[2] ?? 500);
const coldIterations = 30;

function stats(name: string, samples: number[]): void {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
  console.log(
    `${name.padEnd(44)} n=${String(s.length).padStart(4)}  p50 ${at(0.5).toFixed(2).padStart(7)} ms  p99 ${at(0.99).toFixed(2).padStart(7)} ms  max ${at(1).toFixed(2).padStart(7)} ms`,
  );
}

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'jit-bench-'));
const broker = generateUserKey(dir, 'broker');
const sshd = await startSshd({ name: 'bench-jump', role: 'jump', authorizedKeysContent: `restrict ${broker.publicKey}\n` });
const jh: JumpHostConfig = {
  name: 'bench',
  address: '127.0.0.1',
  port: sshd.port,
  user: sshd.user,
  hostKey: sshd.hostKeyFingerprint,
  privateKeyPath: broker.privateKeyPath,
  authorizedKeysPath: sshd.authorizedKeysPath,
  utcExpiryOnOldServers: false,
  retired: false,
  endSessions: false,
};
// The broker's own line (outside) and a block of realistic size: 20 key lines (~3 KB), one changing per write.
const engineer = generateUserKey(dir, 'engineer').publicKey;
const block = (i: number) =>
  `restrict ${broker.publicKey}\n# BEGIN jit-jump managed block: do not edit\n` +
  Array.from({ length: 20 }, (_, k) => `restrict,port-forwarding,permitopen="10.0.${k}.5:22",command="/bin/false",expiry-time="20991231235959Z" ${engineer.split(' ').slice(0, 2).join(' ')} jit:${k === 0 ? i : k}`).join('\n') +
  '\n# END jit-jump managed block\n';

try {
  const connections = new JumpHostConnections({ logger: pino({ level: 'silent' }) });
  await connections.updateAuthorizedKeys(jh, () => block(-1)); // connect + warm up
  for (let i = 0; i < 20; i++) await connections.updateAuthorizedKeys(jh, () => block(-2 - i));

  console.log(`ssh2 → ${(await connections.serverVersion(jh))?.raw}, loopback, ${iterations} iterations`);
  stats('warm update (read + temp write + rename)', await time(iterations, (i) => connections.updateAuthorizedKeys(jh, () => block(i))));
  stats('warm update, unchanged (read only)', await time(iterations, () => connections.updateAuthorizedKeys(jh, (c) => c)));
  await connections.close();

  // For comparison: the same read + write with a fresh SFTP channel per update (channel kept open above).
  const client = new Client();
  await new Promise<void>((resolve, reject) =>
    client.on('ready', resolve).on('error', reject).connect({
      host: jh.address, port: jh.port, username: jh.user, privateKey: readFileSync(jh.privateKeyPath),
      hostVerifier: () => true, // benchmark only, against the server started above
    }),
  );
  const cb = <T>(f: (done: (err: Error | null | undefined, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
  stats(
    'warm connection, new SFTP channel per update',
    await time(iterations, async (i) => {
      const sftp = await cb<SFTPWrapper>((done) => client.sftp(done));
      await cb<Buffer>((done) => sftp.readFile(jh.authorizedKeysPath, done));
      const tmp = `${jh.authorizedKeysPath}.bench.tmp`;
      await cb<void>((done) => sftp.writeFile(tmp, block(i), { mode: 0o600 }, done));
      await cb<void>((done) => sftp.ext_openssh_rename(tmp, jh.authorizedKeysPath, done));
      sftp.end();
    }),
  );
  client.end();

  stats(
    'cold: connect + update + close',
    await time(coldIterations, async (i) => {
      const c = new JumpHostConnections({ logger: pino({ level: 'silent' }) });
      await c.updateAuthorizedKeys(jh, () => block(100_000 + i));
      await c.close();
    }),
  );
} finally {
  await sshd.stop();
  rmSync(dir, { recursive: true, force: true });
}
