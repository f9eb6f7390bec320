// How long one authorized_keys update takes against a real local sshd (DESIGN.md "Measured floor").
// Run: node_modules/.bin/tsx bench/sync-write.ts [iterations]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { JumpHostConfig } from '../src/config/policy.ts';
import { JumpHostConnections } from '../src/jumphost/jump-host-connections.ts';
import { generateUserKey, startSshd } from '../src/sandbox/sshd-process.ts';
import { cb, connectSsh, openSftp, time, writeAndRename } from './sftp.ts';
import { summaryLine } from './stats.ts';

const iterations = Number(process.argv[2] ?? 500);
const coldIterations = 30;
const stats = (name: string, samples: number[]) => console.log(summaryLine(name, samples));

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
  const client = await connectSsh(jh);
  stats(
    'warm connection, new SFTP channel per update',
    await time(iterations, async (i) => {
      const sftp = await openSftp(client);
      await cb<Buffer>((done) => sftp.readFile(jh.authorizedKeysPath, done));
      await writeAndRename(sftp, jh.authorizedKeysPath, block(i));
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
