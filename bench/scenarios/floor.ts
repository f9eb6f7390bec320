// 2. The floor: one raw SFTP write + posix-rename of the jump server's own authorized_keys over a warm ssh2
// connection, writing back what is there (the broker's state is untouched).
import type { Environment } from '../../src/sandbox/environment.ts';
import { connectSsh, openSftp, time, writeAndRename } from '../sftp.ts';
import { summarize, type Row } from '../stats.ts';

export async function floor(env: Environment, samples: number): Promise<Row[]> {
  const jh = env.policy.jumpHosts[0]!;
  const client = await connectSsh(jh);
  try {
    const sftp = await openSftp(client);
    const content = env.jump.readAuthorizedKeys();
    await time(20, () => writeAndRename(sftp, jh.authorizedKeysPath, content)); // warm-up
    const ms = await time(samples, () => writeAndRename(sftp, jh.authorizedKeysPath, content));
    return [{ figure: 'floor: warm SFTP write + posix-rename', unit: 'ms', summary: summarize(ms), ratioToFloor: true }];
  } finally {
    client.end();
  }
}
