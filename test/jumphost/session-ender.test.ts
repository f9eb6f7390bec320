// Before signalling a pid from the log, the broker checks that it is still that connection's user child.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JumpHostConfig } from '../../src/config/policy.ts';
import type { ConnectionRecord } from '../../src/domain/sshd-log.ts';
import { SessionEnder, isUserChild, processStatus, type ProcessAccess } from '../../src/jumphost/session-ender.ts';

const JH = { name: 'bastion' } as JumpHostConfig;
const status = (name: string, ppid: number, uid: number) => `Name:\t${name}\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t4321\nPPid:\t${ppid}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t1000\t1000\t1000\t1000\n`;
const conn: ConnectionRecord = { id: '100-1', jumpHost: 'bastion', monitorPid: 100, childPid: 4321, fingerprint: 'SHA256:x', ip: '127.0.0.1', port: 5, startedAt: 1, targets: [] };

function host(files: Record<string, string>): ProcessAccess & { killed: string[][] } {
  const killed: string[][] = [];
  return {
    killed,
    readRemoteFile: async (_jh, path) => files[path],
    async exec(_jh, argv) {
      killed.push([...argv]);
      return { code: 0, stdout: Buffer.alloc(0), stderr: '', truncated: false };
    },
  };
}

describe('ending a live connection', () => {
  it('reads the fields of /proc/<pid>/status it checks', () => {
    assert.deepEqual(processStatus(status('sshd', 100, 1001)), { name: 'sshd', ppid: 100, uids: [1001, 1001, 1001, 1001] });
    assert.ok(isUserChild(processStatus(status('sshd-session', 100, 1001)), 100, 1001), 'OpenSSH 9.8 names it sshd-session');
    assert.ok(!isUserChild(processStatus(status('bash', 100, 1001)), 100, 1001), 'another program');
    assert.ok(!isUserChild(processStatus(status('sshd', 1, 1001)), 100, 1001), 'another parent: the pid was reused');
    assert.ok(!isUserChild(processStatus(status('sshd', 100, 0)), 100, 1001), 'root: the monitor, not the child');
    assert.ok(!isUserChild(processStatus(status('sshd', 100, 1001).replace(/Uid:.*/, 'Uid:\t1001\t0\t1001\t1001')), 100, 1001), 'any uid not the account');
  });

  it('sends SIGTERM to the checked child only, and leaves a reused or vanished pid alone', async () => {
    const self = { '/proc/self/status': status('sshd', 99, 1001) };
    const ok = host({ ...self, '/proc/4321/status': status('sshd', 100, 1001) });
    assert.equal(await new SessionEnder(ok).end(JH, conn), 'ended');
    assert.deepEqual(ok.killed, [['kill', '-TERM', '4321']]);

    const reused = host({ ...self, '/proc/4321/status': status('sshd', 555, 1001) });
    assert.equal(await new SessionEnder(reused).end(JH, conn), 'not-ours');
    assert.deepEqual(reused.killed, []);

    const gone = host(self);
    assert.equal(await new SessionEnder(gone).end(JH, conn), 'gone');
    assert.deepEqual(gone.killed, []);

    assert.equal(await new SessionEnder(ok).end(JH, { ...conn, childPid: undefined }), 'no-child');
  });
});
