// Jump-host sync faults against a real sshd and Redis: hand-damaged BEGIN/END markers are rebuilt and alerted,
// and a failing write is retried with a growing backoff, then succeeds or gives up with one alert.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createSyncParts } from '../../src/broker.ts';
import { validatePolicy, type Policy } from '../../src/config/policy.ts';
import { systemClock, type Clock } from '../../src/domain/clock.ts';
import { BLOCK_BEGIN, BLOCK_END, blockBeginLine, parseAuthorizedKeys } from '../../src/domain/managed-block.ts';
import { checkUserPublicKey, type UserPublicKey } from '../../src/domain/public-key.ts';
import { JumpHostUnavailableError } from '../../src/jumphost/errors.ts';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';
import type { KeyStore } from '../../src/store/key-store.ts';
import type { RequestStore } from '../../src/store/request-store.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../support/sshd.ts';
import { asRequested } from '../support/approval-rules.ts';
import { until } from '../support/flow.ts';

// The product's alert for damaged markers; the audit event has no other field that tells it apart.
const DAMAGED = (dropped: number, kept: number) =>
  `the managed block markers were edited by hand (unpaired BEGIN/END): the block was rebuilt from the active grants; ${dropped} line(s) jit-jump wrote removed, ${kept} other line(s) kept as they were`;
// The BEGIN marker of a block the broker wrote: the DESIGN prefix and the write's fencing token.
const GENERATION_BEGIN = /^# BEGIN jit-jump managed block: do not edit \(generation \d+\)$/;
// Someone else's lines: never the broker's, so they must come through as they are.
const ALICE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlicesOwnKeyAlicesOwnKeyAlicesOwnKey01 alice@laptop';
const BOB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobsOwnKeyBobsOwnKeyBobsOwnKeyBobsOwn01 bob@desk';
const CAROL = '# ops: carol keeps this comment';
const stale = (id: string) => `restrict,port-forwarding,permitopen="10.0.0.9:22",command="/bin/false" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStaleStaleStaleStaleStaleStaleStaleSt01 jit:${id}`;

interface LogLine {
  msg: string;
  jumpHost?: string;
  attempt?: number;
  delayMs?: number;
  maxDelayMs?: number;
  err?: { message?: string };
}

describe('jump-host sync faults', () => {
  let redisServer: RedisProcess;
  let redis: Redis;
  let jump: SshdProcess;
  let dir: string;
  let keysDir: string;
  let brokerLine: string;
  let policy: Policy;
  let userKey: UserPublicKey;
  let otherKey: UserPublicKey;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jit-sync-faults-'));
    // 'spare' writes a file in a directory of its own, so a test can take that directory away.
    keysDir = join(dir, 'spare-home');
    mkdirSync(keysDir);
    redisServer = await startRedis();
    redis = new Redis(redisServer.url);
    const brokerKey = generateUserKey(dir, 'broker');
    brokerLine = `restrict ${brokerKey.publicKey}`;
    jump = await startSshd({ name: 'faults-jump', role: 'jump', authorizedKeysContent: `${brokerLine}\n` });
    const jumpHost = (name: string, authorizedKeysPath: string) => ({ name, address: '127.0.0.1', port: jump.port, user: jump.user, hostKey: jump.hostKeyFingerprint, privateKeyPath: brokerKey.privateKeyPath, authorizedKeysPath });
    policy = validatePolicy({
      auditChannel: 'C0AUDIT',
      jumpHosts: [jumpHost('bastion', jump.authorizedKeysPath), jumpHost('spare', join(keysDir, 'authorized_keys'))],
      hosts: [
        { name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0OWNER'] },
        { name: 'cache', address: '10.0.0.6', jumpHost: 'spare', owners: ['U0OWNER'] },
      ],
    });
    const key = checkUserPublicKey(generateUserKey(dir, 'engineer').publicKey, { minRsaBits: 3072 });
    assert.ok(key.ok);
    userKey = key.value;
    const other = checkUserPublicKey(generateUserKey(dir, 'other').publicKey, { minRsaBits: 3072 });
    assert.ok(other.ok);
    otherKey = other.value;
  });
  after(async () => {
    redis?.disconnect();
    await jump?.stop();
    await redisServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await redis.flushdb();
  });

  /** Sync parts whose log lines are kept in order; `onLog` sees each as it is written, before the sync goes on. */
  function parts(tuning: { syncAttempts?: number; syncRetryBaseMs?: number } = {}, onLog: (l: LogLine) => void = () => {}, beforeRename?: () => Promise<void>, clock: Clock = systemClock) {
    const logs: LogLine[] = [];
    // pino calls write() synchronously from the log call: onLog runs before the retry's sleep starts.
    const logger = pino({ level: 'debug' }, {
      write(s: string) {
        const line = JSON.parse(s) as LogLine;
        logs.push(line);
        onLog(line);
      },
    });
    const p = createSyncParts({ redis, policy, clock, logger, tuning, beforeRename });
    return { ...p, logs };
  }

  /** An active grant of the engineer's key to `host`. */
  async function grant(requests: RequestStore, keys: KeyStore, id: string, host: string, jumpHost: string, who = { user: 'U0ENGINEER', key: userKey }, durationMs = 600_000) {
    await keys.set(who.user, who.key, Date.now());
    await requests.create({ id, requester: who.user, host, jumpHost, durationMs, reason: 'faults', state: 'pending', createdAt: Date.now(), requiredApprovals: 1, approvers: [] }, { type: 'requested', at: Date.now(), requestId: id });
    const approved = await requests.approve((await requests.get(id))!, 'U0OWNER', Date.now(), asRequested((await requests.get(id))!));
    assert.ok(approved.ok && approved.value.activated);
  }

  async function alerts(requests: RequestStore, host: string): Promise<{ type: string; host?: string; detail?: string }[]> {
    const entries = await redis.xrange(requests.keys.auditStream, '-', '+');
    return entries
      .map(([, f]) => JSON.parse(f[f.indexOf('e') + 1]!) as { type: string; host?: string; detail?: string })
      .filter((e) => e.type === 'jump-host-alert' && e.host === host)
      .map(({ type, host, detail }) => ({ type, host, detail }));
  }

  /** The one key line of grant `id` for `address`, as the broker renders it. */
  function assertGrantLine(line: string | undefined, id: string, address: string): void {
    assert.match(line ?? '', new RegExp(`^restrict,port-forwarding,permitopen="${address.replace(/\./g, '\\.')}:22",command="/bin/false",expiry-time="\\d{14}Z" ${userKey.line.replace(/[+/]/g, '\\$&')} jit:${id}$`));
  }

  /**
   * Writes `damaged` to the jump server, syncs, and checks the README's promise: one alert, every marker and
   * every line of the broker's exact rendered shape dropped, the other lines kept in order byte for byte, one new
   * block at the end; a second sync changes nothing and is silent.
   */
  async function repairs(damaged: string[], kept: string[]): Promise<void> {
    const p = parts();
    await grant(p.requests, p.keys, 'rfix1', 'db', 'bastion');
    jump.writeAuthorizedKeys(`${damaged.join('\n')}\n`);
    try {
      const result = await p.sync.sync('bastion');
      assert.equal(result.blockDamaged, true);
      assert.equal(result.changed, true);
      const file = jump.readAuthorizedKeys();
      const lines = file.replace(/\n$/, '').split('\n');
      assert.ok(file.endsWith('\n'));
      assert.deepEqual(lines.slice(0, -3), kept, 'lines outside the block: kept in order, byte for byte');
      assert.match(lines.at(-3)!, GENERATION_BEGIN, 'one new block at the end');
      assert.equal(lines.at(-1), BLOCK_END);
      assertGrantLine(lines.at(-2), 'rfix1', '10.0.0.5');
      const dropped = damaged.filter((l) => l !== BLOCK_BEGIN && l !== BLOCK_END && !kept.includes(l)).length;
      assert.deepEqual(await alerts(p.requests, 'bastion'), [{ type: 'jump-host-alert', host: 'bastion', detail: DAMAGED(dropped, kept.length) }]);
      assert.equal(p.logs.filter((l) => l.msg === 'managed block markers were damaged' && l.jumpHost === 'bastion').length, 1);
      // The rebuilt block is well-formed: the next sync leaves it alone and raises nothing.
      const again = await p.sync.sync('bastion');
      assert.deepEqual([again.blockDamaged, again.changed], [false, false]);
      assert.equal(jump.readAuthorizedKeys(), file);
      assert.equal((await alerts(p.requests, 'bastion')).length, 1);
    } finally {
      await p.sync.stop();
      await p.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  }

  it('BEGIN without END: alerts once, drops the BEGIN and the broker’s lines after it, keeps every other line, rebuilds the block at the end', async () => {
    await repairs([brokerLine, ALICE, '', BLOCK_BEGIN, stale('rold1'), BOB, `${BOB.replace('bob@desk', 'bob jit:rocket')}`], [brokerLine, ALICE, '', BOB, BOB.replace('bob@desk', 'bob jit:rocket')]);
  });

  it('BEGIN without END above the broker’s own login line: the line stays, and the broker logs in afresh and writes again', async () => {
    const first = parts();
    await grant(first.requests, first.keys, 'rlock1', 'db', 'bastion');
    jump.writeAuthorizedKeys(`${[ALICE, BLOCK_BEGIN, stale('rold1'), brokerLine, BOB].join('\n')}\n`);
    try {
      assert.equal((await first.sync.sync('bastion')).blockDamaged, true);
      assert.deepEqual(parseAuthorizedKeys(jump.readAuthorizedKeys()).before, [ALICE, brokerLine, BOB]);
    } finally {
      await first.sync.stop();
      await first.connections.close();
    }
    // A fresh connection must authenticate with the broker key through the repaired file.
    const second = parts({ syncAttempts: 1 });
    try {
      await grant(second.requests, second.keys, 'rlock2', 'db', 'bastion');
      const result = await second.sync.sync('bastion');
      assert.equal(result.changed, true);
      const block = parseAuthorizedKeys(jump.readAuthorizedKeys()).block ?? [];
      assert.equal(block.length, 1);
      assert.match(block[0]!, / jit:rlock1,rlock2$/);
    } finally {
      await second.sync.stop();
      await second.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  });

  it('keeps the bytes outside the block byte for byte, invalid UTF-8 included', async () => {
    const p = parts();
    const head = Buffer.concat([Buffer.from(`${brokerLine}\n# latin1 caf`), Buffer.from([0xe9, 0x20, 0xff, 0xfe, 0x0a]), Buffer.from('# utf-8 café ☃\n')]);
    const tail = Buffer.concat([Buffer.from('# after '), Buffer.from([0x80, 0xc3, 0x0a])]);
    writeFileSync(jump.authorizedKeysPath, Buffer.concat([head, Buffer.from(`${BLOCK_BEGIN}\n${BLOCK_END}\n`), tail]), { mode: 0o600 });
    try {
      await grant(p.requests, p.keys, 'rbytes1', 'db', 'bastion');
      assert.equal((await p.sync.sync('bastion')).changed, true);
      const file = readFileSync(jump.authorizedKeysPath);
      assert.deepEqual(file.subarray(0, head.length), head, 'the lines before the block');
      assert.deepEqual(file.subarray(file.length - tail.length), tail, 'the lines after the block');
      const block = parseAuthorizedKeys(file.toString('latin1')).block ?? [];
      assertGrantLine(block[0], 'rbytes1', '10.0.0.5');
    } finally {
      await p.sync.stop();
      await p.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  });

  it('END without BEGIN: alerts once, drops the END and the broker’s lines, keeps every other line in order, rebuilds the block at the end', async () => {
    await repairs([brokerLine, ALICE, stale('rold1'), BLOCK_END, BOB], [brokerLine, ALICE, BOB]);
  });

  it('two blocks: alerts once, drops both blocks, keeps the lines around and between them in order, rebuilds one block at the end', async () => {
    await repairs(
      [brokerLine, ALICE, BLOCK_BEGIN, stale('rold1'), BLOCK_END, BOB, BLOCK_BEGIN, stale('rold2'), BLOCK_END, CAROL],
      [brokerLine, ALICE, BOB, CAROL],
    );
  });

  it('one unrenderable grant does not block the others: it is left out, alerted once, and a revoked line still goes', async () => {
    const p = parts();
    try {
      for (const id of ['rgood1', 'rgone1']) await grant(p.requests, p.keys, id, 'db', 'bastion');
      await grant(p.requests, p.keys, 'rbad1', 'db', 'bastion', { user: 'U0OTHER', key: otherKey });
      await p.sync.sync('bastion');
      assert.equal(parseAuthorizedKeys(jump.readAuthorizedKeys()).block?.length, 2);
      // A corrupt stored value (an expiry past year 9999, as a 3000000d maximum once allowed), then a revocation.
      await redis.hset(p.requests.keys.request('rbad1'), 'expiresAt', String(Date.UTC(10000, 0, 1)));
      await p.requests.transition({ id: 'rgone1', jumpHost: 'bastion' }, 'revoked', { type: 'revoked', at: Date.now(), requestId: 'rgone1' }, { endedAt: Date.now() });
      const result = await p.sync.sync('bastion');
      assert.deepEqual(result.unrenderable.map((u) => u.id), ['rbad1']);
      assert.deepEqual(result.grantIds, ['rgood1']);
      const block = parseAuthorizedKeys(jump.readAuthorizedKeys()).block ?? [];
      assert.equal(block.length, 1);
      assertGrantLine(block[0], 'rgood1', '10.0.0.5');
      const alerted = () => alerts(p.requests, 'bastion').then((a) => a.filter((e) => e.detail?.includes('"rbad1" cannot be rendered')));
      assert.equal((await alerted()).length, 1);
      // The next syncs say nothing more about it.
      await p.sync.sync('bastion');
      await p.sync.sync('bastion');
      assert.equal((await alerted()).length, 1);
      assert.equal((await alerts(p.requests, 'bastion')).length, 1, 'no other alert');
    } finally {
      await p.sync.stop();
      await p.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  });

  it('a write waits for its callers’ work before replacing the file (an activation’s revoke job): written and read, not renamed until it is done', async () => {
    const p = parts();
    try {
      await grant(p.requests, p.keys, 'rgate1', 'db', 'bastion');
      let done!: () => void;
      const waiting = p.sync.sync('bastion', new Promise<void>((r) => (done = r)));
      // The temp file beside the target: the write went ahead up to the rename, which waits.
      const tmp = () => readdirSync(dirname(jump.authorizedKeysPath)).some((f) => f.includes('.jit-') && f.endsWith('.tmp'));
      await until('the temp file written beside authorized_keys', () => tmp() || undefined, 60_000);
      assert.ok(!jump.readAuthorizedKeys().includes('jit:rgate1'), 'not on the server before the work is done');
      done();
      assert.deepEqual((await waiting).grantIds, ['rgate1']);
      assert.ok(jump.readAuthorizedKeys().includes('jit:rgate1'));
      assert.ok(!tmp(), 'no temp file left');
      // Work that fails does not hold the write up or fail it: the caller hears of its failure itself.
      await grant(p.requests, p.keys, 'rgate2', 'db', 'bastion');
      assert.ok((await p.sync.sync('bastion', Promise.reject(new Error('no job')))).grantIds.includes('rgate2'));
    } finally {
      await p.sync.stop();
      await p.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  });

  it('a sync asked for right behind an approval, before its answer, renders it: Redis runs the sync’s reads after the approval (one connection)', async () => {
    const p = parts();
    try {
      for (let round = 0; round < 5; round++) {
        const id = `rahead${round}`;
        await p.keys.set('U0ENGINEER', userKey, Date.now());
        await p.requests.create({ id, requester: 'U0ENGINEER', host: 'db', jumpHost: 'bastion', durationMs: 600_000, reason: 'ahead', state: 'pending', createdAt: Date.now(), requiredApprovals: 1, approvers: [] }, { type: 'requested', at: Date.now(), requestId: id });
        const req = (await p.requests.get(id))!;
        // As decide-request does: the approval sent, the sync asked for in the same turn, its write let go once the answer is in.
        const approving = p.requests.approve(req, 'U0OWNER', Date.now(), asRequested(req));
        let answered!: () => void;
        const synced = p.sync.sync('bastion', new Promise<void>((r) => (answered = r)));
        const approved = await approving;
        assert.ok(approved.ok && approved.value.activated);
        answered();
        assert.ok((await synced).grantIds.includes(id), `round ${round}: rendered with the approval`);
        // (one line per key, host and end: the rounds' grants share it, each id in its jit: list)
        assert.match(jump.readAuthorizedKeys(), new RegExp(`jit:(\\S+,)?${id}(,\\S+)?$`, 'm'));
      }
    } finally {
      await p.sync.stop();
      await p.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  });

  it('a grant that ends while the write waits for its rename is rendered out before the rename, not put back for the next sync', async () => {
    let skew = 0;
    const p = parts({}, () => {}, undefined, { now: () => Date.now() + skew });
    try {
      const other = { user: 'U0OTHER', key: otherKey };
      await grant(p.requests, p.keys, 'rends1', 'db', 'bastion', other, 600_000);
      await grant(p.requests, p.keys, 'rstays', 'db', 'bastion', { user: 'U0ENGINEER', key: userKey }, 3_600_000);
      const ending = (await p.requests.get('rends1'))!.expiresAt!;
      let done!: () => void;
      const waiting = p.sync.sync('bastion', new Promise<void>((r) => (done = r)));
      const tmp = () => readdirSync(dirname(jump.authorizedKeysPath)).some((f) => f.includes('.jit-') && f.endsWith('.tmp'));
      await until('the temp file written beside authorized_keys', () => tmp() || undefined, 60_000);
      // rends1 ends while the write waits (the broker's clock reaches its end), then the rename may go.
      skew = ending - Date.now();
      done();
      const result = await waiting;
      assert.deepEqual(result.grantIds, ['rstays'], 'rendered again at the rename: the ended grant left out');
      const file = jump.readAuthorizedKeys();
      assert.ok(file.includes('jit:rstays') && !file.includes('jit:rends1'), 'the ended grant’s line never stood');
      assert.ok(!tmp(), 'no temp file left');
      assert.equal((await p.sync.sync('bastion')).changed, false, 'nothing left for the next sync');
    } finally {
      await p.sync.stop();
      await p.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  });

  it('a late write is fenced: a sync stalled before its rename does not bring back a line another replica took out', async () => {
    // Replica A renders and writes its temp file, then stalls (cut off) before the rename; its lock runs out,
    // replica B takes it and writes a newer block without the revoked line; then A wakes up.
    let hold: { reached: () => void; released: Promise<void> } | undefined;
    let release = () => {};
    const reached = new Promise<void>((resolve) => {
      hold = { reached: resolve, released: new Promise<void>((r) => (release = r)) };
    });
    const a = parts({}, () => {}, async () => {
      const h = hold;
      hold = undefined; // only the first write stalls
      if (h) {
        h.reached();
        await h.released;
      }
    });
    const b = parts();
    try {
      await grant(a.requests, a.keys, 'rkeep1', 'db', 'bastion');
      await grant(a.requests, a.keys, 'rlate1', 'db', 'bastion', { user: 'U0OTHER', key: otherKey });
      const armed = hold;
      hold = undefined;
      await a.sync.sync('bastion');
      hold = armed;
      const generationOf = () => Number(/\(generation (\d+)\)/.exec(jump.readAuthorizedKeys())?.[1]);
      const first = generationOf();
      assert.ok(first > 0, 'the BEGIN marker carries a generation');

      await grant(a.requests, a.keys, 'rnew1', 'db', 'bastion');
      const late = a.sync.sync('bastion');
      await Promise.race([reached, new Promise((_, reject) => setTimeout(() => reject(new Error('replica A never reached its rename')), 60_000).unref())]);
      await a.requests.transition({ id: 'rlate1', jumpHost: 'bastion' }, 'revoked', { type: 'revoked', at: Date.now(), requestId: 'rlate1' }, { endedAt: Date.now() });
      await redis.del(a.requests.keys.syncLock('bastion')); // A's lease ran out while it was cut off
      assert.equal((await b.sync.sync('bastion')).changed, true);
      const newer = generationOf();
      assert.ok(newer > first + 1, `B wrote a newer generation (${newer} after ${first}, A holding ${first + 1})`);
      assert.ok(!jump.readAuthorizedKeys().includes('jit:rlate1'));

      release();
      await late;
      const file = jump.readAuthorizedKeys();
      assert.ok(!file.includes('jit:rlate1'), `the revoked line did not come back:\n${file}`);
      assert.ok(generationOf() >= newer);
      const block = parseAuthorizedKeys(file).block ?? [];
      assert.equal(block.length, 1);
      assert.match(block[0]!, / jit:rkeep1,rnew1$/);
      assert.deepEqual(
        a.logs.filter((l) => l.msg === 'refused to replace a newer managed block; syncing again').map((l) => (l as LogLine & { phase?: string }).phase),
        ['rename'],
      );
      const refused = (await alerts(a.requests, 'bastion')).filter((e) => e.detail?.startsWith('a late write was refused'));
      assert.equal(refused.length, 1);
    } finally {
      release();
      await a.sync.stop();
      await b.sync.stop();
      await a.connections.close();
      await b.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  });

  it('a file whose generation is ahead of Redis (Redis restored or flushed) is written after raising the counter, without an alert', async () => {
    const p = parts({ syncAttempts: 1 });
    jump.writeAuthorizedKeys(`${brokerLine}\n${blockBeginLine(500)}\n${BLOCK_END}\n`);
    try {
      await grant(p.requests, p.keys, 'rahead1', 'db', 'bastion');
      const result = await p.sync.sync('bastion');
      assert.equal(result.changed, true);
      const file = jump.readAuthorizedKeys();
      assert.ok(Number(/\(generation (\d+)\)/.exec(file)?.[1]) > 500, file);
      assertGrantLine(parseAuthorizedKeys(file).block?.[0], 'rahead1', '10.0.0.5');
      assert.deepEqual(
        p.logs.filter((l) => l.msg === 'refused to replace a newer managed block; syncing again').map((l) => (l as LogLine & { phase?: string }).phase),
        ['read'],
      );
      assert.deepEqual(await alerts(p.requests, 'bastion'), []);
    } finally {
      await p.sync.stop();
      await p.connections.close();
      jump.writeAuthorizedKeys(`${brokerLine}\n`);
    }
  });

  it('retries a failing write with a growing backoff and writes the block once the server takes it', async () => {
    const path = join(keysDir, 'authorized_keys');
    const away = `${keysDir}.away`;
    writeFileSync(path, `${ALICE}\n`, { mode: 0o600 });
    // Root ignores file modes, so the write is made to fail by taking the directory away; it comes back as the
    // second retry is announced, so the third attempt finds it.
    renameSync(keysDir, away);
    const p = parts({ syncAttempts: 4, syncRetryBaseMs: 50 }, (l) => {
      if (l.msg === 'jump host sync failed, retrying' && l.attempt === 2) renameSync(away, keysDir);
    });
    try {
      await grant(p.requests, p.keys, 'rretry1', 'cache', 'spare');
      const result = await p.sync.sync('spare');
      const retries = p.logs.filter((l) => l.msg === 'jump host sync failed, retrying');
      assert.deepEqual(retries.map((l) => [l.jumpHost, l.attempt, l.maxDelayMs]), [['spare', 1, 50], ['spare', 2, 100]], 'two failed attempts, the backoff cap doubling');
      for (const l of retries) assert.match(l.err?.message ?? '', /writing .*spare-home\/\.authorized_keys\.jit-[0-9a-f]+\.tmp/, 'it was the write that failed');
      for (const l of retries) assert.ok(l.delayMs! >= 0 && l.delayMs! <= l.maxDelayMs!, `full jitter within the cap: ${JSON.stringify(l)}`);
      assert.equal(p.logs.filter((l) => l.msg === 'jump host sync failed').length, 0, 'did not give up');
      assert.equal(result.changed, true);
      const file = readFileSync(path, 'utf8');
      const parsed = parseAuthorizedKeys(file);
      assert.deepEqual(parsed.before, [ALICE]);
      assert.equal(parsed.block?.length, 1);
      assertGrantLine(parsed.block?.[0], 'rretry1', '10.0.0.6');
      assert.deepEqual(await alerts(p.requests, 'spare'), [], 'a sync that succeeds within its attempts raises no alert');
    } finally {
      await p.sync.stop();
      await p.connections.close();
    }
  });

  it('gives up after the last attempt on a killed jump server with exactly one alert per outage', async () => {
    const p = parts({ syncAttempts: 3, syncRetryBaseMs: 20 });
    try {
      await grant(p.requests, p.keys, 'rdown1', 'db', 'bastion');
      await jump.kill9();
      await assert.rejects(p.sync.sync('bastion'), JumpHostUnavailableError);
      const attempts = () => p.logs.filter((l) => l.jumpHost === 'bastion' && l.msg.startsWith('jump host sync failed')).map((l) => [l.msg, l.attempt, l.maxDelayMs]);
      assert.deepEqual(attempts(), [
        ['jump host sync failed, retrying', 1, 20],
        ['jump host sync failed, retrying', 2, 40],
        ['jump host sync failed', 3, undefined],
      ]);
      const down = await alerts(p.requests, 'bastion');
      assert.equal(down.length, 1);
      assert.match(down[0]!.detail!, /^unreachable after retries \(/);
      assert.match(down[0]!.detail!, /Active grants that cannot be installed or changed: rdown1\./);
      // Still down at the next sync: the same attempts, and no second alert for the same outage.
      await assert.rejects(p.sync.sync('bastion'), JumpHostUnavailableError);
      assert.equal(attempts().length, 6);
      assert.equal((await alerts(p.requests, 'bastion')).length, 1);
    } finally {
      await p.sync.stop();
      await p.connections.close();
    }
  });
});
