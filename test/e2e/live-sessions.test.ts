// test-timeout: 10m
// The end-to-end proof of "who actually connected, and live sessions end with their grant", run once per log
// source (journald, read with journalctl over SSH; a syslog file written by rsyslogd, read over SFTP from an
// offset): a real jump sshd logging through a real log daemon, a non-root jump account, real `ssh -J`
// sessions, signed Slack requests. One environment at a time.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkConfig } from '../../src/check-config.ts';
import { after, before, describe, it } from 'node:test';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { ConnectionStore } from '../../src/store/connection-store.ts';
import { asCommandClient, createRedisClient, parseRedisUrl } from '../../src/store/redis-connection.ts';
import type { ConnectionRecord } from '../../src/domain/sshd-log.ts';
import { AUDIT_CHANNEL, ENGINEER, OWNER, OWNER2, startWorld, type World } from '../support/world.ts';
import { blockLines, click, metadata, posts, postsAbout, requestAccess, runJobNow, until } from '../support/flow.ts';
import { openSession, sshHop, describeSsh, type LiveSession } from '../support/ssh-client.ts';
import { brokerKeyFingerprints } from '../../src/broker.ts';
import { fingerprintOfLine } from '../../src/domain/standing-keys.ts';
import { lateChildLineSshd, type LateChildLineSshd } from '../support/late-child-line-sshd.ts';

/** Generous: the machine may be loaded. What the product promises (about 2 s) is measured by `npm run bench` (live session ending). */
const SESSION_END_DEADLINE_MS = 30_000;

function liveSessionSuite(log: 'journal' | 'file'): void {
  describe(`who connected, and live sessions ending with their grant (sshd log: ${log})`, () => {
    let world: World;
    let store: ConnectionStore;
    let redis: ReturnType<typeof asCommandClient>;
    const sessions: LiveSession[] = [];
    const owner2Key = { privateKeyPath: '', publicKey: '' };
    // The jump sshd can hold its monitors' "User child is on pid" lines back (see late-child-line-sshd.ts).
    const lateDir = mkdtempSync(join(tmpdir(), 'jit-late-child-line-'));
    const late = lateChildLineSshd(lateDir);
    let lateSshd: LateChildLineSshd | undefined;
    before(async () => {
      lateSshd = 'unavailable' in late ? undefined : late;
      world = await startWorld({ sshdLog: log, duration: '10m', tuning: { connectionPollMs: 1000 }, jumpSshdBinary: lateSshd?.binary });
      Object.assign(owner2Key, generateUserKey(world.dir, 'owner2_ed25519'));
      // The second person may log in to both internal hosts as well.
      world.internal.writeAuthorizedKeys(`${world.engineerKey.publicKey}\n${owner2Key.publicKey}\n`);
      assert.match((await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`)).json.text, /Key registered/);
      assert.match((await world.sender.command(OWNER2, `key add ${owner2Key.publicKey}`)).json.text, /Key registered/);
      redis = asCommandClient(createRedisClient(parseRedisUrl(world.redisUrl), 'commands'));
      store = new ConnectionStore(redis, world.redisPrefix);
    });
    after(async () => {
      lateSshd?.release();
      for (const s of sessions) s.close();
      redis?.disconnect();
      await world?.stop();
      rmSync(lateDir, { recursive: true, force: true });
    });

    /** An approved grant of `user` for internal-1 whose line is on the jump server. */
    async function grant(user: string, reason: string): Promise<string> {
      const id = await requestAccess(world, user, `request internal-1 10m "${reason}"`);
      await click(world, id, user === OWNER ? OWNER2 : OWNER);
      await until('key line', () => blockLines(world).some((l) => l.includes(id)));
      return id;
    }

    function session(identityFile: string): LiveSession {
      const s = openSession({ jump: world.jump, target: world.internal, identityFile });
      sessions.push(s);
      return s;
    }

    /** The `connection` audit events posted for a grant (one per login the broker saw in the log). */
    const connectionEvents = (id: string) => posts(world, AUDIT_CHANNEL).filter((c) => metadata(c)?.event_payload.request_id === id && metadata(c)?.event_payload.audit_type === 'connection');
    const sessionEnded = (id: string) => posts(world, AUDIT_CHANNEL).filter((c) => metadata(c)?.event_payload.request_id === id && metadata(c)?.event_payload.audit_type === 'session-ended');

    async function brokersOwn(): Promise<ConnectionRecord[]> {
      const fp = brokerKeyFingerprints(world.policy).fingerprints.get('bastion');
      return (await store.live('bastion')).filter((c) => c.fingerprint === fp);
    }

    it('check-config: the log is readable as the jump account, shows the broker’s own VERBOSE lines, and sessions can be ended', async () => {
      const out: string[] = [];
      // The operator's file: the environment's jump server and hosts (its stored policy holds parsed durations).
      const file = join(world.dir, 'check.yaml');
      writeFileSync(file, stringify({ auditChannel: world.policy.auditChannel, jumpHosts: world.policy.jumpHosts, hosts: world.policy.hosts }));
      const code = await checkConfig(file, { offline: false, print: (l) => out.push(l), sshdConfigPath: join(world.jump.dir, 'sshd_config') });
      const source = log === 'journal' ? 'the journal \\(journalctl\\)' : '/\\S+/auth\\.log';
      assert.ok(out.some((l) => new RegExp(`^ok {4}jumpHosts bastion: sshd log ${source} readable; shows VERBOSE lines \\(the broker's own login from 127\\.0\\.0\\.1\\)$`).test(l)), out.join('\n'));
      assert.ok(out.includes('ok    jumpHosts bastion: live sessions can be ended: jitjump sees its sshd children in /proc'), out.join('\n'));
      assert.equal(code, 0, out.join('\n'));
    });

    it('ends a live ssh -J session when its grant is revoked; another person’s session and the broker’s own connection stay up', async () => {
      const mine = await grant(ENGINEER, 'live session, revoked');
      const theirs = await grant(OWNER2, 'live session, stays');
      const s1 = session(world.engineerKey.privateKeyPath);
      const s2 = session(owner2Key.privateKeyPath);
      await Promise.all([s1.ready, s2.ready]);
      // The broker has seen both logins (an event, not a pause).
      await until('both logins in the audit trail', () => connectionEvents(mine).length === 1 && connectionEvents(theirs).length === 1, 60_000);
      const own = await until('the broker’s own connection in the store', async () => (await brokersOwn()).length > 0 && (await brokersOwn()));

      const res = await world.sender.command(ENGINEER, `revoke ${mine}`);
      assert.match(res.json.text, /revoked/i);
      const ended = await Promise.race([s1.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), SESSION_END_DEADLINE_MS).unref())]);
      assert.ok(ended, 'the revoked grant’s live session ended');
      await until('session-ended audit event', () => sessionEnded(mine).length === 1);
      assert.match(String(sessionEnded(mine)[0]!.args.text), new RegExp(`ended the connection from 127\\.0\\.0\\.1 port \\d+ to 127\\.0\\.0\\.1:${world.internal.port} on jump server bastion`));

      // A full pass after the end (and after its re-scan) leaves the other session and the broker's own alone.
      await world.broker.connectionWatch.pass('bastion');
      await world.broker.connectionWatch.pass('bastion');
      assert.ok(s2.running(), 'the other person’s session is still up');
      assert.equal(sessionEnded(theirs).length, 0);
      assert.deepEqual((await brokersOwn()).map((c) => c.id), own.map((c) => c.id), 'the broker’s own connection was not touched');
      // And the broker still changes the jump server over it: the other grant's line goes on revoke.
      await world.sender.command(OWNER2, `revoke ${theirs}`);
      await until('the other line gone', () => !blockLines(world).some((l) => l.includes(theirs)));
      await Promise.race([s2.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), SESSION_END_DEADLINE_MS).unref())]);
      assert.ok(!s2.running(), 'and its session ended with it');
    });

    it('ends a live session at expiry, and the end message says how the grant was used', async () => {
      const id = await grant(ENGINEER, 'live session, expires');
      const fp = fingerprintOfLine(world.engineerKey.publicKey)!;
      const earlier = new Set((await store.forKey('bastion', fp, 0, Date.now())).map((c) => c.id));
      const s = session(world.engineerKey.privateKeyPath);
      await s.ready;
      await until('the login in the audit trail', () => connectionEvents(id).length === 1, 60_000);
      // The end message says what the log has shown by the end: the tunnel line and the line naming the process
      // that logged it (in either order; the next test holds one back), read before the grant expires.
      const target = `127.0.0.1:${world.internal.port}`;
      await until('the tunnel in the store', async () => (await store.live('bastion')).some((c) => !earlier.has(c.id) && c.fingerprint === fp && c.targets.includes(target)), 60_000);
      await runJobNow(world, 'revoke', id);
      const ended = await Promise.race([s.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), SESSION_END_DEADLINE_MS).unref())]);
      assert.ok(ended, 'the expired grant’s live session ended');
      const dm = await until('end message', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`)[0]);
      const usage = String(metadata(dm)!.event_payload.usage);
      assert.match(usage, new RegExp(`^used (under 1 min|\\d+ min) in 1 connection from 127\\.0\\.0\\.1 to 127\\.0\\.0\\.1:${world.internal.port}$`));
      assert.ok(String(dm.args.text).includes(`${usage.charAt(0).toUpperCase()}${usage.slice(1)}.`), dm.args.text);
    });

    it('attributes the tunnel to its connection when the user child logs it before its monitor names the child, with a read between the two', { skip: 'unavailable' in late ? late.unavailable : false }, async () => {
      const id = await grant(ENGINEER, 'tunnel line first');
      const target = `127.0.0.1:${world.internal.port}`;
      const fp = fingerprintOfLine(world.engineerKey.publicKey)!;
      const before = new Set((await store.live('bastion')).map((c) => c.id));
      const fresh = async () => (await store.live('bastion')).filter((c) => c.fingerprint === fp && !before.has(c.id));
      const tunnelLine = new RegExp(`sshd\\[(\\d+)\\]: debug1: serverloop\\.c:server_request_direct_tcpip\\(\\):\\d+ \\(pid=\\d+\\): originator .* target 127\\.0\\.0\\.1 port ${world.internal.port}$`, 'gm');
      /** user children whose tunnel line is in the log and no monitor's line names yet */
      const unnamed = () => {
        const text = world.jump.log();
        return [...text.matchAll(tunnelLine)].map((m) => Number(m[1])).filter((pid) => !new RegExp(`User child is on pid ${pid}$`, 'm').test(text));
      };
      lateSshd!.hold();
      const s = session(world.engineerKey.privateKeyPath);
      let child = 0;
      // Released however this part ends: a held line would hold every later test's logins back too.
      try {
        await s.ready;
        // The tunnel line is in the log; the monitor's line naming its child is held back: a read now falls between.
        [child = 0] = await until('a tunnel line whose child no line names yet', () => unnamed().length === 1 && unnamed(), 30_000);
        await world.broker.connectionWatch.pass('bastion');
        const [early] = await until('the login in the store', async () => (await fresh()).length === 1 && fresh(), 30_000);
        assert.deepEqual([early!.childPid, early!.targets], [undefined, []], 'not known yet whose tunnel line it is');
        assert.deepEqual((await store.pendingTunnels('bastion')).filter((t) => t.pid === child).map((t) => `${t.host}:${t.port}`), [target]);
      } finally {
        lateSshd!.release();
      }
      const [named] = await until('the child named and the target attributed', async () => {
        await world.broker.connectionWatch.pass('bastion');
        const r = await fresh();
        return r[0]?.childPid === child && r;
      }, 30_000);
      assert.deepEqual(named!.targets, [target]);
      assert.deepEqual((await store.pendingTunnels('bastion')).filter((t) => t.pid === child), []);
      // And the grant's end says so, its session ended by the broker through the child it now knows.
      await runJobNow(world, 'revoke', id);
      const ended = await Promise.race([s.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), SESSION_END_DEADLINE_MS).unref())]);
      assert.ok(ended, 'the expired grant’s live session ended');
      const dm = await until('end message', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`)[0]);
      assert.match(String(metadata(dm)!.event_payload.usage), new RegExp(`^used (under 1 min|\\d+ min) in 1 connection from 127\\.0\\.0\\.1 to ${target.replace(/\./g, '\\.')}$`));
    });

    it('counts two connections with their times and target across a broker restart; an unused grant says "not used"', async () => {
      const id = await grant(ENGINEER, 'two connections');
      const unused = await grant(OWNER2, 'never used');
      // The log has whole seconds: a connection of the test before (ended by the broker a moment ago) can start
      // within the second before t0. Those already recorded are not this test's.
      const fp = fingerprintOfLine(world.engineerKey.publicKey)!;
      const earlier = new Set((await store.forKey('bastion', fp, 0, Date.now())).map((c) => c.id));
      const t0 = Date.now();
      const hop1 = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
      assert.equal(hop1.outcome, 'ok', describeSsh(hop1));
      const t1 = Date.now();
      await until('first login seen', () => connectionEvents(id).length === 1, 60_000);
      // A restart between the two: the new broker goes on from the saved log position.
      await world.restartBroker();
      const hop2 = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
      assert.equal(hop2.outcome, 'ok', describeSsh(hop2));
      const t2 = Date.now();
      await until('second login seen', () => connectionEvents(id).length === 2, 60_000);
      // Both ended (ssh exited): wait until the log said so.
      let seen: unknown = [];
      const records = await until('both connections closed in the store', async () => {
        // Logged times have microseconds; sshd and this process share a clock. Earlier tests' connections are older.
        const r = (await store.forKey('bastion', fp, t0 - 1000, Date.now())).filter((c) => !earlier.has(c.id));
        seen = r;
        return r.length === 2 && r.every((c) => c.endedAt !== undefined) && r;
      }, 60_000).catch((err: Error) => {
        // What the store held when time ran out: which connection never ended, and what it knew of its processes.
        throw new Error(`${err.message}; records: ${JSON.stringify(seen)}; jump sshd pid ${world.jump.pid}`);
      });
      // sshd's clock and ours are the same machine's; a second of slack covers the log's resolution.
      assert.ok(records[0]!.startedAt >= t0 - 1000 && records[0]!.startedAt <= t1 + 1000, JSON.stringify(records));
      assert.ok(records[1]!.startedAt >= t1 - 1000 && records[1]!.startedAt <= t2 + 1000, JSON.stringify(records));
      // Each names its target, whichever of the user child's and its monitor's lines reached the log first.
      const target = `127.0.0.1:${world.internal.port}`;
      for (const r of records) assert.deepEqual(r.targets, [target], JSON.stringify(records));

      await world.sender.command(ENGINEER, `revoke ${id}`);
      await world.sender.command(OWNER2, `revoke ${unused}`);
      const revoked = await until('revoked audit event with usage', () =>
        posts(world, AUDIT_CHANNEL).find((c) => metadata(c)?.event_payload.request_id === id && metadata(c)?.event_payload.audit_type === 'revoked'),
      );
      assert.match(String(revoked.args.text), new RegExp(`used (under 1 min|\\d+ min) in 2 connections from 127\\.0\\.0\\.1 to 127\\.0\\.0\\.1:${world.internal.port}`));
      const unusedRevoked = await until('revoked audit event of the unused grant', () =>
        posts(world, AUDIT_CHANNEL).find((c) => metadata(c)?.event_payload.request_id === unused && metadata(c)?.event_payload.audit_type === 'revoked'),
      );
      assert.match(String(unusedRevoked.args.text), /\(not used\)/);
      assert.equal(connectionEvents(id).length, 2, 'no connection counted twice across the restart');
      // `/jump audit` by an owner of internal-1: the granted time against the time used, from the same records.
      const audit = await world.sender.command(OWNER, 'audit internal-1 1d');
      assert.equal(audit.problem, undefined, 'Slack accepts the answer');
      const lineOf = (grantId: string) => String(audit.json.text).split('\n').find((l) => l.includes(`\`${grantId}\``)) ?? '';
      assert.match(lineOf(id), /; granted 10m, used (under 1m|\d+m) in 2 connections; revoked by /);
      assert.match(lineOf(unused), /; granted 10m, not used; revoked by /);
    });
  });
}

liveSessionSuite('journal');
liveSessionSuite('file');
