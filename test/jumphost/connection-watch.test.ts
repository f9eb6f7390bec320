// The pass over a jump server's log, wired as the broker wires it, against a real redis-server and a scripted
// jump server (journal lines in, /proc and kill out): logins are audited under their grant, a login no grant
// explains is alerted, and only connections no active grant covers are ended.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { validatePolicy } from '../../src/config/policy.ts';
import type { AuditEvent } from '../../src/domain/audit-event.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';
import { ConnectionWatch } from '../../src/jumphost/connection-watch.ts';
import { ConnectionStore } from '../../src/store/connection-store.ts';
import { useFreshRedis } from '../support/fresh-redis.ts';

const FP_A = 'SHA256:' + 'A'.repeat(43);
const FP_B = 'SHA256:' + 'B'.repeat(43);
const FP_BROKER = 'SHA256:' + 'K'.repeat(43);
const FP_STANDING = 'SHA256:' + 'S'.repeat(43);
const T = Date.UTC(2026, 11, 2, 12, 0, 0);
const JUMP_UID = 1002;

const policy = validatePolicy({
  auditChannel: 'C0AUDIT',
  jumpHosts: [{ name: 'bastion', address: '127.0.0.1', user: 'jitjump', hostKey: FP_BROKER, privateKeyPath: '/k', sshdLog: { journal: true } }],
  hosts: [
    { name: 'db-1', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0OWNER'] },
    { name: 'db-2', address: '10.0.0.6', jumpHost: 'bastion', owners: ['U0OWNER'] },
  ],
});

/** A scripted jump server: journal records to hand out, processes by pid, and the kills it was asked for. */
class FakeJumpServer {
  records: string[] = [];
  cursor = 0;
  procs = new Map<number, { name: string; ppid: number; uid: number }>();
  kills: number[] = [];
  login(pid: number, child: number, fp: string, at: number, port: number, target?: string) {
    this.log(pid, at, `Accepted publickey for jitjump from 127.0.0.1 port ${port} ssh2: ED25519 ${fp}`);
    this.log(pid, at + 1, `User child is on pid ${child}`);
    if (target) this.tunnel(child, at + 2, target);
    this.procs.set(child, { name: 'sshd', ppid: pid, uid: JUMP_UID });
  }
  tunnel(child: number, at: number, target: string) {
    this.log(child, at, `debug1: serverloop.c:server_request_direct_tcpip():453 (pid=${child}): originator 127.0.0.1 port 65535, target ${target.replace(':', ' port ')}`);
  }
  log(pid: number, at: number, message: string) {
    this.records.push(JSON.stringify({ __CURSOR: `s=1;i=${this.records.length + 1}`, __REALTIME_TIMESTAMP: String(at * 1000), _PID: String(pid), _COMM: 'sshd', MESSAGE: message }));
  }
  access = {
    exec: async (_jh: unknown, argv: readonly string[]) => {
      if (argv[0] === 'kill') {
        const pid = Number(argv[2]);
        this.kills.push(pid);
        this.procs.delete(pid);
        return { code: 0, stdout: Buffer.alloc(0), stderr: '', truncated: false };
      }
      const after = /--after-cursor=s=1;i=(\d+)/.exec(argv.at(-1)!)?.[1];
      const from = after === undefined ? 0 : Number(after);
      return { code: 0, stdout: Buffer.from(this.records.slice(from).map((r) => `${r}\n`).join('')), stderr: '', truncated: false };
    },
    readRange: async () => undefined,
    readRemoteFile: async (_jh: unknown, path: string) => {
      if (path === '/proc/self/status') return `Name:\tsshd\nPPid:\t1\nUid:\t${JUMP_UID}\t${JUMP_UID}\t${JUMP_UID}\t${JUMP_UID}\n`;
      const p = this.procs.get(Number(/\/proc\/(\d+)\/status/.exec(path)?.[1]));
      return p && `Name:\t${p.name}\nPPid:\t${p.ppid}\nUid:\t${p.uid}\t${p.uid}\t${p.uid}\t${p.uid}\n`;
    },
  };
}

function grant(id: string, host: string, fp: string, activatedAt: number, extra: Partial<AccessRequest> = {}): AccessRequest {
  return { id, requester: `U0${id.toUpperCase()}`, host, jumpHost: 'bastion', durationMs: 3_600_000, reason: 'r', state: 'active', createdAt: activatedAt, requiredApprovals: 1, approvers: ['U0OWNER'], activatedAt, expiresAt: activatedAt + 3_600_000, keyFingerprint: fp, ...extra };
}

describe('connection watch', () => {
  const db = useFreshRedis();

  async function setup(grants: AccessRequest[]) {
    const server = new FakeJumpServer();
    const store = new ConnectionStore(db.redis);
    const audit: AuditEvent[] = [];
    const byId = new Map(grants.map((g) => [g.id, g]));
    const now = { t: T };
    const watch = new ConnectionWatch({
      policy,
      access: server.access as never,
      store,
      requests: {
        activeGrantIds: async () => [...byId.values()].filter((g) => g.state === 'active').map((g) => g.id),
        getMany: async (ids) => ids.flatMap((id) => byId.get(id) ?? []),
        appendAudit: async (e) => void audit.push(e),
      },
      standing: { standingOn: async () => new Set([FP_STANDING]) },
      locks: { with: (_jh, fn) => fn({ check: () => undefined } as never) },
      brokerFingerprints: new Set([FP_BROKER]),
      clock: { now: () => now.t },
      logger: pino({ level: 'silent' }),
      pollMs: 60_000,
      rescanMs: 60_000,
    });
    await store.noteRendered('bastion', grants.map((g) => ({ id: g.id, fingerprint: g.keyFingerprint!, activatedAt: g.activatedAt! })));
    await store.noteRendered('bastion', [{ id: 'old', fingerprint: FP_STANDING, activatedAt: 0 }]);
    const events = async () => (await db.redis.xrange('{jit}:audit', '-', '+')).map(([, f]) => JSON.parse(f[1]!) as AuditEvent);
    return { server, store, watch, byId, now, events };
  }

  it('audits each login under the grant it came under, once, and alerts a login by a block key no grant explains', async () => {
    const { server, watch, byId, store, events } = await setup([grant('ga', 'db-1', FP_A, T - 60_000)]);
    byId.set('gold', grant('gold', 'db-1', FP_B, T - 3_600_000, { state: 'expired', endedAt: T - 600_000 }));
    await store.noteRendered('bastion', [{ id: 'gold', fingerprint: FP_B, activatedAt: T - 3_600_000 }]);
    server.login(100, 101, FP_A, T, 5001, '10.0.0.5:22');
    server.login(200, 201, FP_B, T + 10, 5002);
    server.login(300, 301, FP_BROKER, T + 20, 5003);
    await watch.pass('bastion');
    await watch.pass('bastion');
    const e = await events();
    assert.deepEqual(e.filter((x) => x.type === 'connection').map((x) => [x.requestId, x.detail]), [['ga', 'connected to jump server bastion from 127.0.0.1 port 5001']]);
    const alerts = e.filter((x) => x.type === 'jump-host-alert');
    assert.equal(alerts.length, 1, 'the broker’s own login is neither audited nor alerted');
    assert.match(alerts[0]!.detail!, new RegExp(`login by key ${FP_B.replace(/[+/]/g, '\\$&')} from 127\\.0\\.0\\.1 port 5002 .*no active grant explains it`));
  });

  it('ends only what no active grant covers: the ended grant’s connection, not another grant’s, the broker’s or a standing key’s', async () => {
    const { server, watch, byId, store, events } = await setup([grant('ga', 'db-1', FP_A, T - 60_000), grant('gb', 'db-1', FP_B, T - 60_000)]);
    server.login(100, 101, FP_A, T, 5001, '10.0.0.5:22');
    server.login(200, 201, FP_B, T + 10, 5002, '10.0.0.5:22');
    server.login(300, 301, FP_BROKER, T + 20, 5003);
    server.login(400, 401, FP_STANDING, T + 30, 5004);
    await watch.pass('bastion');
    assert.deepEqual(server.kills, [], 'all covered');
    byId.set('ga', { ...byId.get('ga')!, state: 'revoked', endedAt: T + 1000 });
    await watch.pass('bastion');
    assert.deepEqual(server.kills, [101]);
    const ended = (await store.forKey('bastion', FP_A, 0, Number.MAX_SAFE_INTEGER))[0]!;
    assert.equal(ended.endedBy, 'broker');
    assert.deepEqual((await store.live('bastion')).map((c) => c.monitorPid).sort(), [200, 300, 400]);
    const sessionEnded = (await events()).filter((x) => x.type === 'session-ended');
    assert.deepEqual(sessionEnded.map((x) => [x.requestId, x.host]), [['ga', 'db-1']]);
    assert.match(sessionEnded[0]!.detail!, /ended the connection from 127\.0\.0\.1 port 5001 to 10\.0\.0\.5:22 on jump server bastion \(sshd pid 101\): its grant ended$/);
    await watch.pass('bastion');
    assert.deepEqual(server.kills, [101], 'ended once');
  });

  it('carries a tunnel line read before its monitor named the user child in the store, and a later pass attributes it (and acts on it)', async () => {
    const { server, watch, store } = await setup([grant('ga', 'db-1', FP_A, T - 60_000)]);
    server.log(100, T, `Accepted publickey for jitjump from 127.0.0.1 port 5001 ssh2: ED25519 ${FP_A}`);
    server.tunnel(101, T + 1, '10.0.0.6:22'); // db-2: no grant of this key names it
    server.procs.set(101, { name: 'sshd', ppid: 100, uid: JUMP_UID });
    await watch.pass('bastion');
    assert.deepEqual((await store.live('bastion')).map((c) => [c.id, c.childPid, c.targets]), [[`100-${T}`, undefined, []]]);
    assert.deepEqual((await store.pendingTunnels('bastion')).map((t) => [t.pid, t.host, t.port]), [[101, '10.0.0.6', 22]]);
    assert.deepEqual(server.kills, []);
    server.log(100, T + 2, 'User child is on pid 101');
    await watch.pass('bastion');
    const [c] = await store.forKey('bastion', FP_A, 0, Number.MAX_SAFE_INTEGER);
    assert.deepEqual([c!.targets, c!.childPid, c!.endedBy], [['10.0.0.6:22'], 101, 'broker']);
    assert.deepEqual(server.kills, [101], 'the target no grant names ends the session');
    assert.deepEqual(await store.pendingTunnels('bastion'), []);
  });

  it('leaves a reused pid alone, and the same key’s connection to a target another active grant allows', async () => {
    const { server, watch, byId, store } = await setup([grant('g1', 'db-1', FP_A, T - 60_000), grant('g2', 'db-2', FP_A, T - 60_000)]);
    server.login(100, 101, FP_A, T, 5001, '10.0.0.5:22');
    server.login(110, 111, FP_A, T + 5, 5002, '10.0.0.6:22');
    await watch.pass('bastion');
    server.procs.set(111, { name: 'bash', ppid: 1, uid: JUMP_UID }); // the child is gone and its pid reused
    byId.set('g1', { ...byId.get('g1')!, state: 'revoked', endedAt: T + 1000 });
    byId.set('g2', { ...byId.get('g2')!, state: 'revoked', endedAt: T + 1000 });
    byId.set('g3', grant('g3', 'db-1', FP_A, T + 2000));
    await store.noteRendered('bastion', [{ id: 'g3', fingerprint: FP_A, activatedAt: T + 2000 }]);
    await watch.pass('bastion');
    assert.deepEqual(server.kills, [], 'db-1 is allowed again (g3); the db-2 connection’s pid is not sshd’s any more');
  });
});
