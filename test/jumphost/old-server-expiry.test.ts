// The broker reads a jump server's version from its SSH banner and writes expiry-time only in a form that
// server understands: a real sshd announcing OpenSSH 8.9 gets no expiry-time (an older sshd would reject a
// line with "…Z"), or UTC digits without Z when the operator declares it runs in UTC (utcExpiryOnOldServers).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createSyncParts } from '../../src/broker.ts';
import { validatePolicy } from '../../src/config/policy.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { formatExpiryTime } from '../../src/domain/managed-block.ts';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';
import { startOldSshd } from '../support/old-sshd.ts';
import { generateUserKey, type SshdProcess } from '../support/sshd.ts';
import { asRequested } from '../support/approval-rules.ts';

describe('expiry-time on a jump server older than OpenSSH 9.1', () => {
  const db = useFreshRedis();
  let dir: string;
  let old: SshdProcess;
  let brokerKey: { privateKeyPath: string; publicKey: string };
  let engineerKey: { privateKeyPath: string; publicKey: string };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-old-expiry-'));
    brokerKey = generateUserKey(dir, 'broker');
    engineerKey = generateUserKey(dir, 'engineer');
    old = await startOldSshd({ dir, name: 'old-jump', version: '8.9', authorizedKeysContent: `restrict ${brokerKey.publicKey}\n` });
  });
  after(async () => {
    await old?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An active grant in the store, then one sync of the old jump server by the broker's own sync path. */
  async function grantAndSync(utcExpiryOnOldServers: boolean): Promise<{ line: string; expiresAt: number }> {
    const policy = validatePolicy({
      auditChannel: 'C0AUDIT',
      jumpHosts: [
        {
          name: 'bastion',
          address: '127.0.0.1',
          port: old.port,
          user: old.user,
          hostKey: old.hostKeyFingerprint,
          privateKeyPath: brokerKey.privateKeyPath,
          authorizedKeysPath: old.authorizedKeysPath,
          utcExpiryOnOldServers,
        },
      ],
      hosts: [{ name: 'db', address: '10.0.0.5', port: 22, jumpHost: 'bastion', owners: ['U0OWNER1'] }],
    });
    const { requests, keys, connections, sync } = createSyncParts({ redis: db.redis, policy, clock: systemClock, logger: pino({ level: 'silent' }) });
    try {
      const now = Date.now();
      const key = checkUserPublicKey(engineerKey.publicKey, { minRsaBits: 3072 });
      assert.ok(key.ok);
      await keys.set('U0ENGINEER', key.value, now);
      const req = {
        id: `rold${utcExpiryOnOldServers ? 'utc' : 'none'}`,
        requester: 'U0ENGINEER',
        host: 'db',
        jumpHost: 'bastion',
        durationMs: 600_000,
        reason: 'old server',
        state: 'pending' as const,
        createdAt: now,
        requiredApprovals: 1,
        approvers: [],
      };
      await requests.create(req, { type: 'requested', at: now, requestId: req.id, requester: req.requester, host: req.host });
      const approved = await requests.approve(req, 'U0OWNER1', now, asRequested(req));
      assert.ok(approved.ok && approved.value.activated);
      const result = await sync.sync('bastion');
      assert.ok(result.grantIds.includes(req.id), 'the grant was rendered');
      const line = old.readAuthorizedKeys().split('\n').find((l) => l.endsWith(`jit:${req.id}`));
      assert.ok(line, old.readAuthorizedKeys());
      return { line, expiresAt: (await requests.get(req.id))!.expiresAt! };
    } finally {
      await connections.close();
    }
  }

  it('writes no expiry-time for a server that announces OpenSSH 8.9', async () => {
    const { line } = await grantAndSync(false);
    assert.match(line, /^restrict,port-forwarding,permitopen="10\.0\.0\.5:22",command="\/bin\/false" ssh-ed25519 \S+ jit:roldnone$/);
    assert.doesNotMatch(line, /expiry-time/);
  });

  it('writes expiry-time without Z when the operator declares that server runs in UTC', async () => {
    const { line, expiresAt } = await grantAndSync(true);
    assert.ok(line.includes(`,expiry-time="${formatExpiryTime(expiresAt, 'local')}" `), line);
    assert.doesNotMatch(line, /expiry-time="\d{14}Z"/);
  });
});
