// Deciding from sshd's log (issue #12): folding events into connections, a grant's usage, which live sessions to
// end and which logins no grant explains. The fold must survive re-reads and reads split anywhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { describeUsage, foldEvents, grantUsage, sessionsToEnd, unexplainedLogins } from '../../src/domain/connection-tracking.ts';
import { LOG_TIME_RESOLUTION_MS as RES, type ConnectionRecord, type GrantUsage, type PendingTunnel, type SshdEvent } from '../../src/domain/sshd-log.ts';
import { FC_RUNS } from './fixtures.ts';
import { hostPort } from '../../src/domain/ip-address.ts';
import { MAX_PENDING_TUNNELS, PENDING_TUNNEL_MAX_AGE_MS } from '../../src/domain/pending-tunnels.ts';

const KEY = `SHA256:${'K'.repeat(43)}`;
const OTHER = `SHA256:${'O'.repeat(43)}`;
const BROKER = `SHA256:${'B'.repeat(43)}`;
const T0 = Date.UTC(2026, 11, 2, 12);
const MIN = 60_000;

const accepted = (pid: number, at: number, fingerprint = KEY, ip = '203.0.113.7'): SshdEvent => ({ kind: 'accepted', at, pid, user: 'jump', ip, port: 50000 + pid, fingerprint });
const child = (pid: number, c: number, at: number): SshdEvent => ({ kind: 'user-child', at, pid, child: c });
const tunnel = (pid: number, host: string, port: number, at: number): SshdEvent => ({ kind: 'tunnel', at, pid, host, port });
const denied = (pid: number, host: string, port: number, at: number): SshdEvent => ({ kind: 'tunnel-denied', at, pid, host, port });
const closed = (pid: number, at: number): SshdEvent => ({ kind: 'closed', at, pid });

function conn(over: Partial<ConnectionRecord> & { startedAt: number }): ConnectionRecord {
  return { id: `100-${over.startedAt}`, jumpHost: 'jump-a', monitorPid: 100, fingerprint: KEY, ip: '203.0.113.7', port: 50100, targets: [], ...over };
}

/** The store's view: records by id, each fold's output written over it, and the tunnel lines it carries. */
interface Stored {
  records: Map<string, ConnectionRecord>;
  pending: PendingTunnel[];
}
const NONE: Stored = { records: new Map(), pending: [] };
function apply(state: Stored, out: ReturnType<typeof foldEvents>): Stored {
  const records = new Map(state.records);
  for (const r of out.changed) records.set(r.id, r);
  return { records, pending: out.pending };
}
const liveOf = (state: Stored) => [...state.records.values()].filter((r) => r.endedAt === undefined);
const foldInto = (state: Stored, events: readonly SshdEvent[]) => apply(state, foldEvents('jump-a', { live: liveOf(state), pending: state.pending }, events));
/**
 * A re-read (lines read again over a state that already holds them) gives the same records, with one exception it
 * cannot avoid: it folds over the live connections only, so a tunnel line the first read gave to a connection that
 * has ended since finds no owner and is kept; should a connection's child then be named with that pid (the pid
 * reused at once, which takes a process that logged and died between a fork and its "User child" line), the line
 * goes to it. So: a record may differ only in its targets, and only when its child's pid was an ended
 * connection's process; a kept line may be extra only if its pid was an ended connection's process.
 */
function sameAfterReread(reread: Stored, once: Stored): void {
  const ended = [...once.records.values()].filter((r) => r.endedAt !== undefined);
  const wasEnded = (pid: number | undefined, except?: string) => ended.some((e) => e.id !== except && (e.childPid === pid || e.monitorPid === pid));
  assert.deepEqual([...reread.records.keys()].sort(), [...once.records.keys()].sort());
  for (const [id, r] of reread.records) {
    const o = once.records.get(id)!;
    if (r.targets.join() !== o.targets.join()) assert.ok(wasEnded(r.childPid, id), `targets differ only after pid reuse: ${JSON.stringify([r, o])}`);
    assert.deepEqual({ ...r, targets: [] }, { ...o, targets: [] });
  }
  const key = (t: PendingTunnel) => JSON.stringify(t);
  const kept = new Set(reread.pending.map(key));
  assert.ok(once.pending.every((t) => kept.has(key(t))), 'no kept line lost');
  const extra = reread.pending.filter((t) => !once.pending.some((o) => key(o) === key(t)));
  for (const t of extra) assert.ok(wasEnded(t.pid), `an extra line is an ended connection’s: ${key(t)}`);
}

/** One fold from live records and nothing carried: what changed. */
const fold = (live: readonly ConnectionRecord[], events: readonly SshdEvent[]) => foldEvents('jump-a', { live, pending: [] }, events).changed;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const host = fc.constantFrom('10.0.0.5', '10.0.0.6', '2001:db8::5');
/** Two read positions, in order. */
const cuts = (events: readonly SshdEvent[]) => fc.tuple(fc.nat({ max: events.length }), fc.nat({ max: events.length })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);

describe('foldEvents', () => {
  it('follows one connection from login to its end through the monitor and the user child', () => {
    const events = [accepted(100, T0), child(100, 101, T0), tunnel(101, '10.0.0.5', 22, T0 + 5), closed(101, T0 + MIN)];
    const [r, ...rest] = fold([], events);
    assert.deepEqual(rest, []);
    assert.deepEqual(r, {
      id: `100-${T0}`, jumpHost: 'jump-a', monitorPid: 100, childPid: 101, fingerprint: KEY, ip: '203.0.113.7', port: 50100,
      startedAt: T0, targets: ['10.0.0.5:22'], endedAt: T0 + MIN, endedBy: 'closed',
    });
  });

  it('ends a connection by the address its close line names when the line’s pid is nobody’s yet (a child that logged before its monitor named it)', () => {
    const byAddr = (pid: number, at: number, port: number): SshdEvent => ({ kind: 'closed', at, pid, ip: '203.0.113.7', port });
    // Seen under load: the user child's disconnect reaches the log before its monitor's "User child is on pid".
    const [r] = fold([], [accepted(100, T0), byAddr(101, T0 + MIN, 50100), child(100, 101, T0 + MIN + 1)]);
    assert.deepEqual([r!.endedAt, r!.endedBy], [T0 + MIN, 'closed']);
    // Split anywhere, it is the same: the record is in the store when the close line comes in the next read.
    const first = foldInto(NONE, [accepted(100, T0)]);
    assert.equal(foldInto(first, [byAddr(101, T0 + MIN, 50100)]).records.get(`100-${T0}`)!.endedAt, T0 + MIN);
    // Another port, or a close older than the login (a failed attempt from the same port before it), ends nothing.
    assert.equal(fold([], [accepted(100, T0), byAddr(101, T0 + 1, 50999)])[0]!.endedAt, undefined);
    assert.equal(foldInto(first, [byAddr(101, T0 - 1, 50100)]).records.get(`100-${T0}`)!.endedAt, undefined);
    // Once its child is known, only its own processes end it: a line of another sshd from the same address does not.
    const known = foldInto(NONE, [accepted(100, T0), child(100, 101, T0)]);
    assert.equal(foldInto(known, [byAddr(777, T0 + 1, 50100)]).records.get(`100-${T0}`)!.endedAt, undefined);
  });

  it('returns only what is new or changed, whole; never changes its input', () => {
    const a = conn({ startedAt: T0 });
    const b = conn({ id: `200-${T0}`, monitorPid: 200, startedAt: T0 });
    const live = deepFreeze([a, b]);
    const out = fold(live, deepFreeze([tunnel(200, '10.0.0.5', 22, T0 + 1), tunnel(100, '10.0.0.5', 22, T0 + 1), denied(100, '10.0.0.5', 22, T0 + 2)]));
    assert.deepEqual(out, [{ ...b, targets: ['10.0.0.5:22'] }], 'a is back where it was');
    assert.deepEqual(fold(live, [tunnel(200, '10.0.0.6', 22, T0), denied(100, '10.0.0.9', 22, T0)]), [{ ...b, targets: ['10.0.0.6:22'] }], 'denying a target never opened changes nothing');
  });

  it('the same accepted line read twice counts once', () => {
    const out = fold([], [accepted(100, T0), accepted(100, T0)]);
    assert.equal(out.length, 1);
    assert.deepEqual(fold(out, [accepted(100, T0)]), []);
  });

  it('a new login on a pid still held ends the older connection (pid reused, its end line missed)', () => {
    const old = conn({ startedAt: T0 - 60 * MIN, childPid: 101 });
    const out = fold([old], [accepted(101, T0, OTHER)]);
    assert.deepEqual(out[0], { ...old, endedAt: T0, endedBy: 'closed' }, 'held as the user child');
    assert.equal(out[1]?.id, `101-${T0}`);
    assert.equal(out[1]?.endedAt, undefined);
    const again = fold([old], [accepted(100, T0)]);
    assert.deepEqual(again.map((r) => [r.id, r.endedAt]), [[old.id, T0], [`100-${T0}`, undefined]], 'held as the monitor');
  });

  it('a user child on a pid another live connection held ends that one', () => {
    const stale = conn({ id: `300-${T0 - MIN}`, monitorPid: 300, childPid: 101, startedAt: T0 - MIN });
    const out = fold([stale], [accepted(100, T0), child(100, 101, T0), tunnel(101, '10.0.0.5', 22, T0 + 1)]);
    assert.deepEqual(out.find((r) => r.id === stale.id), { ...stale, endedAt: T0, endedBy: 'closed' });
    assert.deepEqual(out.find((r) => r.id === `100-${T0}`)?.targets, ['10.0.0.5:22']);
    assert.deepEqual(fold([stale], [child(999, 101, T0)]), [{ ...stale, endedAt: T0, endedBy: 'closed' }], 'even when the new child’s monitor is not followed');
    assert.deepEqual(fold([stale], [child(101, 101, T0)]), [], 'a process is not its own child');
  });

  it('keeps targets unique and sorted, IPv6 in brackets, denied ones taken out', () => {
    const events = [accepted(100, T0), child(100, 101, T0), tunnel(101, '10.0.0.9', 22, 1), tunnel(101, '2001:db8::5', 22, 2), tunnel(101, '10.0.0.5', 22, 3), tunnel(100, '10.0.0.5', 22, 4), tunnel(101, 'db-1.internal', 5432, 5), denied(101, '10.0.0.9', 22, 6), denied(101, 'db-1.internal', 5432, 7)];
    assert.deepEqual(fold([], events)[0]?.targets, ['10.0.0.5:22', '[2001:db8::5]:22']);
  });

  it('ignores events for pids it does not follow, and for connections that ended', () => {
    assert.deepEqual(fold([], [closed(100, T0), child(100, 101, T0), tunnel(100, '10.0.0.5', 22, T0)]), []);
    const events = [accepted(100, T0), closed(100, T0 + 1), tunnel(100, '10.0.0.5', 22, T0 + 2), closed(100, T0 + 3), child(100, 101, T0 + 4)];
    assert.deepEqual(fold([], events).map((r) => [r.endedAt, r.targets, r.childPid]), [[T0 + 1, [], undefined]]);
    assert.deepEqual(fold([conn({ startedAt: T0, endedAt: T0 + 1, endedBy: 'broker' })], [closed(100, T0 + 2)]), [], 'an ended record passed in stays as it is');
  });

  it('the user child is the child of the monitor only: a child line on the child pid changes nothing', () => {
    const r = conn({ startedAt: T0, childPid: 101 });
    assert.deepEqual(fold([r], [child(101, 102, T0 + 1)]), []);
  });

  it('a re-read batch ignores lines from before a known connection’s login (they were about an earlier process)', () => {
    const live = [conn({ startedAt: T0 })];
    assert.deepEqual(fold(live, [closed(100, T0 - 5), tunnel(100, '10.0.0.5', 22, T0 - 4), accepted(100, T0)]), []);
    assert.deepEqual(fold(live, [accepted(100, T0), closed(100, T0 + 5)])[0]?.endedAt, T0 + 5, 'lines after it count');
  });

  it('a re-read batch ignores lines on the user child pid from before the line that named it', () => {
    const live = [conn({ startedAt: T0, childPid: 101, targets: ['10.0.0.5:22'] })];
    const batch = [accepted(100, T0), tunnel(101, '10.0.0.9', 22, T0), closed(101, T0), child(100, 101, T0), tunnel(101, '10.0.0.5', 22, T0 + 1)];
    assert.deepEqual(fold(live, batch), []);
  });

  it('a connection that ended in a batch comes out the same when the batch is read again', () => {
    const batch = [accepted(100, T0), child(100, 101, T0), tunnel(101, '10.0.0.5', 22, T0 + 1), accepted(200, T0 + 2), closed(101, T0 + 3), accepted(100, T0 + 4)];
    const once = foldInto(NONE, batch);
    assert.equal(once.records.size, 3);
    assert.deepEqual(foldInto(once, batch), once);
    const reused = [accepted(100, T0), accepted(100, T0 + 4)];
    const first = foldInto(NONE, reused);
    assert.equal(first.records.get(`100-${T0}`)?.endedAt, T0 + 4, 'pid reused, no end line');
    assert.deepEqual(foldInto(first, reused), first, 'read again, the newer login ends the older one again');
  });

  // A log as sshd writes one, in time order: a monitor names its user child once per login. Few pids, so that
  // reuse, children and closes collide often.
  const pid = fc.integer({ min: 100, max: 104 });
  const step = fc.oneof(
    fc.record({ kind: fc.constant('accepted' as const), pid, key: fc.constantFrom(KEY, OTHER) }),
    fc.record({ kind: fc.constant('user-child' as const), pid, child: pid }),
    fc.record({ kind: fc.constantFrom('tunnel' as const, 'tunnel-denied' as const), pid, host, port: fc.constantFrom(22, 80) }),
    fc.record({ kind: fc.constant('closed' as const), pid }),
  );
  const log = fc.array(fc.tuple(step, fc.integer({ min: 1, max: 5 })), { maxLength: 40 }).map((steps) => {
    let t = T0;
    const named = new Set<number>();
    const events = steps.flatMap(([s, dt]): SshdEvent[] => {
      t += dt;
      if (s.kind === 'accepted') named.delete(s.pid);
      if (s.kind === 'accepted') return [accepted(s.pid, t, s.key)];
      if (s.kind === 'user-child') return named.has(s.pid) ? [] : (named.add(s.pid), [child(s.pid, s.child, t)]);
      if (s.kind === 'closed') return [closed(s.pid, t)];
      return [{ kind: s.kind, at: t, pid: s.pid, host: s.host, port: s.port }];
    });
    // A connection's tunnel lines come from one process: its user child, or its monitor where there is none (a root
    // login: no "User child" line). So no monitor logs one before it names its child.
    const namesLater = new Set<number>();
    return events
      .reverse()
      .filter((e) => {
        if (e.kind === 'user-child') namesLater.add(e.pid);
        if (e.kind === 'accepted') namesLater.delete(e.pid);
        return !((e.kind === 'tunnel' || e.kind === 'tunnel-denied') && namesLater.has(e.pid));
      })
      .reverse();
  });

  it('folding a batch again over its result changes nothing (property)', () => {
    fc.assert(
      fc.property(log, (events) => {
        const once = foldInto(NONE, events);
        sameAfterReread(foldInto(once, events), once);
      }),
      { numRuns: FC_RUNS },
    );
  });

  it('a batch split in two folds gives the records of one fold (property)', () => {
    fc.assert(
      fc.property(log.chain((events) => fc.tuple(fc.constant(events), cuts(events))), ([events, [cut]]) => {
        const whole = foldInto(NONE, events);
        assert.deepEqual(foldInto(foldInto(NONE, events.slice(0, cut)), events.slice(cut)), whole);
      }),
      { numRuns: FC_RUNS },
    );
  });

  it('re-reading from an older position (a crash before the position was saved) changes nothing (property)', () => {
    fc.assert(
      fc.property(log.chain((events) => fc.tuple(fc.constant(events), cuts(events))), ([events, [a, b]]) => {
        const read = foldInto(foldInto(NONE, events.slice(0, a)), events.slice(a, b));
        sameAfterReread(foldInto(read, events.slice(a)), foldInto(NONE, events));
      }),
      { numRuns: FC_RUNS },
    );
  });

  it('never throws on events in any order, and never ends a connection before it started (property)', () => {
    const any = fc.array(
      fc.tuple(step, fc.integer({ min: T0 - 1000, max: T0 + 1000 })).map(([s, t]): SshdEvent =>
        s.kind === 'accepted' ? accepted(s.pid, t, s.key) : s.kind === 'user-child' ? child(s.pid, s.child, t) : s.kind === 'closed' ? closed(s.pid, t) : { kind: s.kind, at: t, pid: s.pid, host: s.host, port: s.port },
      ),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(any, any, (a, b) => {
        const out = foldInto(foldInto(NONE, a), b);
        for (const r of out.records.values()) {
          assert.ok(r.endedAt === undefined || r.endedAt >= r.startedAt, JSON.stringify(r));
          assert.deepEqual(r.targets, [...new Set(r.targets)].sort());
        }
        assert.ok(out.pending.length <= MAX_PENDING_TUNNELS);
      }),
      { numRuns: FC_RUNS },
    );
  });
});

// The race of the closing note of issue #12's follow-up: sshd's user child runs as soon as its monitor forks it,
// so its direct-tcpip line can reach the log before the monitor's "User child is on pid". Whatever the order, and
// wherever the reads split the log, the connection gets its targets.
describe('foldEvents: tunnel lines logged before the monitor names its child', () => {
  const byAddr = (pid: number, at: number, port = 50000 + pid - 1): SshdEvent => ({ kind: 'closed', at, pid, ip: '203.0.113.7', port });
  const targetsOf = (state: Stored, id: string) => state.records.get(id)?.targets;

  it('a tunnel line before "User child is on pid" is the connection’s once that line comes, in the same read or a later one', () => {
    const inOrder = [accepted(100, T0), child(100, 101, T0 + 2), tunnel(101, '10.0.0.5', 22, T0 + 1)];
    const reordered = [accepted(100, T0), tunnel(101, '10.0.0.5', 22, T0 + 1), child(100, 101, T0 + 2)];
    const whole = foldInto(NONE, reordered);
    assert.deepEqual(whole, foldInto(NONE, inOrder));
    assert.deepEqual(targetsOf(whole, `100-${T0}`), ['10.0.0.5:22']);
    assert.equal(whole.records.get(`100-${T0}`)!.childPid, 101);
    // The read between them: the line is carried (not yet anyone's), then attributed.
    const first = foldInto(NONE, reordered.slice(0, 2));
    assert.deepEqual([targetsOf(first, `100-${T0}`), first.pending], [[], [reordered[1]]]);
    assert.deepEqual(foldInto(first, reordered.slice(2)), whole);
  });

  it('a denied tunnel logged early takes its target out again, in log order', () => {
    const events = [accepted(100, T0), tunnel(101, '10.0.0.9', 22, T0 + 1), denied(101, '10.0.0.9', 22, T0 + 2), tunnel(101, '10.0.0.5', 22, T0 + 3), child(100, 101, T0 + 4)];
    assert.deepEqual(targetsOf(foldInto(NONE, events), `100-${T0}`), ['10.0.0.5:22']);
  });

  it('the child’s close line before its monitor’s line: the connection ends by its address with its targets', () => {
    const events = [accepted(100, T0), tunnel(101, '10.0.0.5', 22, T0 + 1), byAddr(101, T0 + 5), child(100, 101, T0 + 6)];
    const whole = foldInto(NONE, events);
    const r = whole.records.get(`100-${T0}`)!;
    assert.deepEqual([r.targets, r.endedAt, r.endedBy, whole.pending], [['10.0.0.5:22'], T0 + 5, 'closed', []]);
    for (let cut = 0; cut <= events.length; cut++) assert.deepEqual(foldInto(foldInto(NONE, events.slice(0, cut)), events.slice(cut)), whole, `cut at ${cut}`);
  });

  it('a kept line is not a later process’s: not after its own close line, nor once a login took its pid, nor from before the login', () => {
    const closedFirst = [tunnel(101, '10.0.0.5', 22, T0), closed(101, T0 + 1), accepted(100, T0 + 2), child(100, 101, T0 + 3)];
    assert.deepEqual(targetsOf(foldInto(NONE, closedFirst), `100-${T0 + 2}`), []);
    const pidTaken = [accepted(100, T0), tunnel(102, '10.0.0.5', 22, T0 + 1), accepted(102, T0 + 2, OTHER), closed(102, T0 + 3), child(100, 102, T0 + 4)];
    assert.deepEqual(targetsOf(foldInto(NONE, pidTaken), `100-${T0}`), []);
    const beforeLogin = [tunnel(101, '10.0.0.5', 22, T0 - 1), accepted(100, T0), child(100, 101, T0 + 1)];
    assert.deepEqual(targetsOf(foldInto(NONE, beforeLogin), `100-${T0}`), []);
    // A child of a monitor nobody follows: its lines are dropped with the line that names it.
    assert.deepEqual(foldInto(NONE, [tunnel(101, '10.0.0.5', 22, T0), child(999, 101, T0 + 1)]).pending, []);
  });

  it('keeps at most MAX_PENDING_TUNNELS lines, none older than PENDING_TUNNEL_MAX_AGE_MS in the log’s time', () => {
    const flood = Array.from({ length: MAX_PENDING_TUNNELS + 1 }, (_, i) => tunnel(1000 + i, '10.0.0.5', 22, T0 + 1));
    const state = foldInto(NONE, [accepted(100, T0), ...flood]);
    assert.equal(state.pending.length, MAX_PENDING_TUNNELS);
    assert.equal(state.pending[0]!.pid, 1001, 'the oldest went');
    assert.deepEqual(targetsOf(foldInto(state, [child(100, 1000, T0 + 2)]), `100-${T0}`), [], 'the dropped line is nobody’s');
    assert.deepEqual(targetsOf(foldInto(state, [child(100, 1000 + MAX_PENDING_TUNNELS, T0 + 2)]), `100-${T0}`), ['10.0.0.5:22']);
    const late = T0 + 1 + PENDING_TUNNEL_MAX_AGE_MS + 1;
    const aged = foldInto(NONE, [accepted(100, T0), tunnel(101, '10.0.0.5', 22, T0 + 1), accepted(200, late), child(100, 101, late)]);
    assert.deepEqual([targetsOf(aged, `100-${T0}`), aged.pending], [[], []]);
  });

  // Connections as sshd logs them, interleaved: the monitor's login and "User child is on pid", the child's tunnel
  // lines and perhaps its close (by address); lines of a process nobody follows besides. Each connection's
  // "User child" line is then moved after as many of its child's tunnel lines as drawn (`early`).
  const conversation = fc.record({
    key: fc.constantFrom(KEY, OTHER),
    tunnels: fc.array(fc.tuple(fc.constantFrom('tunnel' as const, 'tunnel-denied' as const), host, fc.constantFrom(22, 80)), { maxLength: 3 }),
    early: fc.nat({ max: 3 }),
    ends: fc.boolean(),
  });
  const raced = fc.tuple(fc.array(conversation, { minLength: 1, maxLength: 4 }), fc.array(fc.nat({ max: 4 }), { maxLength: 40 }), fc.array(fc.tuple(fc.integer({ min: 300, max: 302 }), host), { maxLength: 3 })).map(([convs, schedule, noise]) => {
    type Line = { conv: number; make: (at: number) => SshdEvent; tunnel: boolean; child: boolean };
    const queues: Line[][] = convs.map((c, i) => {
      const m = 100 + 2 * i;
      return [
        { conv: i, make: (at) => accepted(m, at, c.key), tunnel: false, child: false },
        { conv: i, make: (at) => child(m, m + 1, at), tunnel: false, child: true },
        ...c.tunnels.map(([kind, h, port]): Line => ({ conv: i, make: (at) => ({ kind, at, pid: m + 1, host: h, port }), tunnel: true, child: false })),
        ...(c.ends ? [{ conv: i, make: (at: number) => byAddr(m + 1, at), tunnel: false, child: false }] : []),
      ];
    });
    const noiseLines = noise.map(([pid, h]): Line => ({ conv: -1, make: (at) => tunnel(pid, h, 22, at), tunnel: true, child: false }));
    const merged: Line[] = [];
    for (const pick of [...schedule, ...queues.flatMap((q, i) => q.map(() => i))]) {
      const q = queues[pick % queues.length]!;
      if (q.length > 0) merged.push(q.shift()!);
      if (pick === 4 && noiseLines.length > 0) merged.push(noiseLines.shift()!);
    }
    merged.push(...noiseLines);
    const timed = merged.map((l, i) => ({ ...l, event: l.make(T0 + 10 * i) }));
    // The reordered log: each connection's "User child" line after `early` of its child's tunnel lines.
    const reordered = [...timed];
    convs.forEach((c, i) => {
      const from = reordered.findIndex((l) => l.conv === i && l.child);
      const [line] = reordered.splice(from, 1);
      const tunnels = reordered.map((l, at) => (l.conv === i && l.tunnel ? at : -1)).filter((at) => at >= 0);
      const after = Math.min(c.early, tunnels.length);
      reordered.splice(after === 0 ? from : tunnels[after - 1]! + 1, 0, line!);
    });
    const expected = convs.map((c) => {
      const t = new Set<string>();
      for (const [kind, h, port] of c.tunnels) (kind === 'tunnel' ? t.add(hostPort(h, port)) : t.delete(hostPort(h, port)));
      return [...t].sort();
    });
    return { inOrder: timed.map((l) => l.event), reordered: reordered.map((l) => l.event), expected };
  });
  const chunks = (n: number) => fc.uniqueArray(fc.nat({ max: n }), { maxLength: 6 }).map((cuts) => [0, ...cuts.sort((a, b) => a - b), n]);
  const readInChunks = (events: readonly SshdEvent[], at: readonly number[]) => at.slice(1).reduce((state, end, i) => foldInto(state, events.slice(at[i], end)), NONE);

  it('the user child’s lines before or after its monitor’s line, read whole or in chunks of any size: the same records, every target attributed (property)', () => {
    fc.assert(
      fc.property(raced.chain((log) => fc.tuple(fc.constant(log), chunks(log.reordered.length))), ([{ inOrder, reordered, expected }, at]) => {
        const whole = foldInto(NONE, inOrder);
        const racedWhole = foldInto(NONE, reordered);
        assert.deepEqual(racedWhole, whole);
        assert.deepEqual(readInChunks(reordered, at), whole);
        const byConversation = [...whole.records.values()].sort((a, b) => a.monitorPid - b.monitorPid);
        assert.deepEqual(byConversation.map((r) => r.targets), expected);
        assert.ok(byConversation.every((r, i) => r.childPid === 100 + 2 * i + 1));
      }),
      { numRuns: FC_RUNS },
    );
  });

  it('re-reading a raced log from an older position changes nothing (property)', () => {
    fc.assert(
      fc.property(raced.chain((log) => fc.tuple(fc.constant(log), cuts(log.reordered))), ([{ reordered }, [a, b]]) => {
        const read = foldInto(foldInto(NONE, reordered.slice(0, a)), reordered.slice(a, b));
        sameAfterReread(foldInto(read, reordered.slice(a)), foldInto(NONE, reordered));
      }),
      { numRuns: FC_RUNS },
    );
  });
});

describe('grantUsage', () => {
  const grant = { fingerprint: KEY, target: '10.0.0.5:22', activatedAt: T0, endedAt: T0 + 60 * MIN };

  it('counts the key’s connections started while the grant was active, clipped to its life', () => {
    const connections = [
      conn({ id: 'before', startedAt: T0 - 5 * MIN, endedAt: T0 + 5 * MIN, targets: ['10.0.0.5:22'] }),
      conn({ id: 'a', startedAt: T0 + 10 * MIN, endedAt: T0 + 20 * MIN, targets: ['10.0.0.5:22'] }),
      conn({ id: 'b', startedAt: T0 + 15 * MIN, endedAt: T0 + 25 * MIN, ip: '198.51.100.2', targets: ['10.0.0.5:22'] }),
      conn({ id: 'c', startedAt: T0 + 55 * MIN, endedAt: T0 + 70 * MIN }),
      conn({ id: 'after', startedAt: T0 + 61 * MIN, targets: ['10.0.0.5:22'] }),
      conn({ id: 'other-key', fingerprint: OTHER, startedAt: T0 + 10 * MIN, targets: ['10.0.0.5:22'] }),
    ];
    assert.deepEqual(grantUsage(grant, connections, T0 + 90 * MIN, RES), {
      connections: 3, firstAt: T0 + 10 * MIN, lastAt: T0 + 70 * MIN, usedMs: 20 * MIN, sources: ['198.51.100.2', '203.0.113.7'], targets: ['10.0.0.5:22'],
    });
  });

  it('an active grant runs to now, and so does an open connection', () => {
    const open = { ...grant, endedAt: undefined };
    const u = grantUsage(open, [conn({ startedAt: T0 + 10 * MIN })], T0 + 30 * MIN, RES);
    assert.deepEqual([u.usedMs, u.lastAt, u.targets], [20 * MIN, T0 + 30 * MIN, []]);
  });

  it('two grants of one key for different targets: each counts its own target and connections with none yet', () => {
    const other = { ...grant, target: '10.0.0.6:22' };
    const connections = [
      conn({ id: 'to-5', startedAt: T0 + MIN, endedAt: T0 + 2 * MIN, targets: ['10.0.0.5:22'] }),
      conn({ id: 'to-6', startedAt: T0 + 3 * MIN, endedAt: T0 + 5 * MIN, targets: ['10.0.0.6:22'] }),
      conn({ id: 'none', startedAt: T0 + 10 * MIN, endedAt: T0 + 20 * MIN }),
      conn({ id: 'both', startedAt: T0 + 30 * MIN, endedAt: T0 + 40 * MIN, targets: ['10.0.0.5:22', '10.0.0.6:22'] }),
    ];
    const five = grantUsage(grant, connections, T0 + 90 * MIN, RES);
    const six = grantUsage(other, connections, T0 + 90 * MIN, RES);
    assert.deepEqual([five.connections, five.usedMs, five.targets], [3, 21 * MIN, ['10.0.0.5:22', '10.0.0.6:22']]);
    assert.deepEqual([six.connections, six.usedMs], [3, 22 * MIN]);
  });

  it('a login logged up to a second before the activation counts (whole-second lines), unless the broker ended it before the activation', () => {
    const connections = [
      // the key's previous grant: its session started just before this grant's activation and the broker ended it before
      conn({ id: 'previous-grant', startedAt: T0 - 600, endedAt: T0 - 1, endedBy: 'broker' }),
      // whole-second lines: this one may have started and ended in the activation's second, after it
      conn({ id: 'same-second', startedAt: T0 - 400, endedAt: T0 - 400, endedBy: 'closed' }),
      conn({ id: 'ended-by-the-broker-at-activation', startedAt: T0 - RES, endedAt: T0, endedBy: 'broker' }),
      conn({ id: 'spans-the-activation', startedAt: T0 - RES, endedAt: T0 + 2000, endedBy: 'closed' }),
      conn({ id: 'too-early', startedAt: T0 - RES - 1, endedAt: T0 + MIN }),
    ];
    const u = grantUsage(grant, connections, T0 + 90 * MIN, RES);
    assert.equal(u.connections, 3, 'same-second, ended-by-the-broker-at-activation and spans-the-activation');
    assert.equal(u.firstAt, T0 - RES);
    assert.equal(u.usedMs, 2000, 'counted from the activation on');
  });

  it('not used', () => {
    assert.deepEqual(grantUsage(grant, [conn({ startedAt: T0 + MIN, targets: ['10.0.0.9:22'] })], T0 + 90 * MIN, RES), { connections: 0, usedMs: 0, sources: [], targets: [] });
  });

  it('used time is never more than the grant’s life, nor the sum of the connections (property)', () => {
    const span = fc.tuple(fc.integer({ min: -30, max: 90 }), fc.option(fc.integer({ min: 0, max: 60 })));
    const list = fc.array(span, { maxLength: 8 }).map((spans) =>
      spans.map(([s, d], i) => conn({ id: `c${i}`, startedAt: T0 + s * MIN, ...(d === null ? {} : { endedAt: T0 + (s + d) * MIN }) })),
    );
    fc.assert(
      fc.property(list, (connections) => {
        const now = T0 + 120 * MIN;
        const u = grantUsage(grant, connections, now, RES);
        const counted = connections.filter((x) => x.startedAt >= T0 && x.startedAt <= T0 + 60 * MIN);
        assert.equal(u.connections, counted.length);
        assert.ok(u.usedMs >= 0 && u.usedMs <= 60 * MIN);
        assert.ok(u.usedMs <= counted.reduce((sum, x) => sum + (x.endedAt ?? now) - x.startedAt, 0));
      }),
      { numRuns: FC_RUNS },
    );
  });
});

describe('describeUsage', () => {
  const usage = (over: Partial<GrantUsage>): GrantUsage => ({ connections: 3, usedMs: 14 * MIN, sources: ['203.0.113.7'], targets: ['10.0.0.5:22'], ...over });

  it('says how long, how often, from where and to where', () => {
    assert.equal(describeUsage({ connections: 0, usedMs: 0, sources: [], targets: [] }), 'not used');
    assert.equal(describeUsage(usage({})), 'used 14 min in 3 connections from 203.0.113.7 to 10.0.0.5:22');
    assert.equal(describeUsage(usage({ connections: 1, usedMs: 59_999, targets: [] })), 'used under 1 min in 1 connection from 203.0.113.7');
    assert.equal(describeUsage(usage({ usedMs: 60_000 })).slice(0, 10), 'used 1 min');
    assert.equal(describeUsage(usage({ usedMs: 90 * MIN - 1 })).slice(0, 11), 'used 89 min');
    assert.equal(describeUsage(usage({ usedMs: 90 * MIN })).slice(0, 16), 'used 1 h 30 min ');
    assert.equal(describeUsage(usage({ usedMs: 120 * MIN + 59_000 })).slice(0, 10), 'used 2 h i');
    assert.equal(describeUsage(usage({ usedMs: 26 * 60 * MIN + 5 * MIN })).slice(0, 16), 'used 26 h 5 min ');
  });

  it('lists at most three sources and targets, then how many more', () => {
    const text = describeUsage(usage({ sources: ['a', 'b', 'c', 'd', 'e'], targets: ['t1', 't2', 't3', 't4'] }));
    assert.equal(text, 'used 14 min in 3 connections from a, b, c and 2 more to t1, t2, t3 and 1 more');
    assert.equal(describeUsage(usage({ sources: ['a', 'b', 'c'], targets: ['t1', 't2'] })), 'used 14 min in 3 connections from a, b, c to t1, t2');
  });
});

describe('sessionsToEnd', () => {
  const input = (over: Partial<Parameters<typeof sessionsToEnd>[0]>): Parameters<typeof sessionsToEnd>[0] => ({
    live: [], activeGrants: [], endedGrants: [], blockFingerprints: new Set([KEY, OTHER, BROKER]), brokerFingerprints: new Set([BROKER]), targetsLogged: true, ...over,
  });
  const ended = { id: 'g-old', fingerprint: KEY, target: '10.0.0.5:22', activatedAt: T0, endedAt: T0 + 60 * MIN };
  const ids = (out: ReturnType<typeof sessionsToEnd>) => out.map((s) => [s.connection.id, s.why, s.grantIds]);

  it('never ends the broker’s own connection nor a key the broker never put in the block', () => {
    const live = [conn({ id: 'broker', fingerprint: BROKER, startedAt: T0 }), conn({ id: 'standing', fingerprint: `SHA256:${'S'.repeat(43)}`, startedAt: T0, targets: ['10.0.0.7:22'] })];
    assert.deepEqual(sessionsToEnd(input({ live, targetsLogged: true })), []);
    assert.deepEqual(sessionsToEnd(input({ live, targetsLogged: false, endedGrants: [{ ...ended, fingerprint: BROKER }] })), []);
  });

  it('ends every connection of a key with no active grant, naming the grants it started under', () => {
    const live = [conn({ id: 'a', startedAt: T0 + MIN }), conn({ id: 'b', startedAt: T0 + 61 * MIN }), conn({ id: 'gone', startedAt: T0, endedAt: T0 + 1 })];
    const endedGrants = [ended, { ...ended, id: 'g-other-key', fingerprint: OTHER }, { ...ended, id: 'g-a2' }];
    assert.deepEqual(ids(sessionsToEnd(input({ live, endedGrants }))), [['a', 'no-active-grant', ['g-a2', 'g-old']], ['b', 'no-active-grant', []]]);
  });

  it('targets logged: ends a connection that reached a target no active grant of its key names', () => {
    const activeGrants = [{ id: 'g5', fingerprint: KEY, target: '10.0.0.5:22' }, { id: 'g6', fingerprint: KEY, target: '10.0.0.6:22' }, { id: 'g7', fingerprint: OTHER, target: '10.0.0.7:22' }];
    const live = [
      conn({ id: 'none-yet', startedAt: T0 }),
      conn({ id: 'both-granted', startedAt: T0, targets: ['10.0.0.5:22', '10.0.0.6:22'] }),
      conn({ id: 'other-keys-target', startedAt: T0 + MIN, targets: ['10.0.0.5:22', '10.0.0.7:22'] }),
    ];
    assert.deepEqual(ids(sessionsToEnd(input({ live, activeGrants, endedGrants: [ended] }))), [['other-keys-target', 'target-not-granted', ['g-old']]]);
  });

  it('targets not logged: ends a connection that started under a grant of its key that has ended since', () => {
    const activeGrants = [{ id: 'g-new', fingerprint: KEY, target: '10.0.0.6:22' }];
    const live = [conn({ id: 'under-old', startedAt: T0 + 60 * MIN }), conn({ id: 'under-new', startedAt: T0 + 61 * MIN }), conn({ id: 'before-old', startedAt: T0 - 1 })];
    assert.deepEqual(ids(sessionsToEnd(input({ live, activeGrants, endedGrants: [ended], targetsLogged: false }))), [['under-old', 'grant-ended-targets-unknown', ['g-old']]]);
  });
});

describe('unexplainedLogins', () => {
  const grants = [{ id: 'g1', fingerprint: KEY, activatedAt: T0, endedAt: T0 + 60 * MIN }, { id: 'g2', fingerprint: OTHER, activatedAt: T0 + 120 * MIN }];
  const run = (accepted: ConnectionRecord[]) =>
    unexplainedLogins({ accepted, grants, blockFingerprints: new Set([KEY, OTHER, BROKER]), brokerFingerprints: new Set([BROKER]), graceMs: 30_000 }).map((c) => c.id);

  it('a login no grant of its key covers, the grace after a grant’s end included', () => {
    assert.deepEqual(
      run([
        conn({ id: 'at-start', startedAt: T0 }),
        conn({ id: 'before', startedAt: T0 - 1 }),
        conn({ id: 'in-grace', startedAt: T0 + 60 * MIN + 30_000 }),
        conn({ id: 'after-grace', startedAt: T0 + 60 * MIN + 30_001 }),
        conn({ id: 'other-keys-grant', fingerprint: OTHER, startedAt: T0 + MIN }),
        conn({ id: 'open-grant', fingerprint: OTHER, startedAt: T0 + 900 * MIN }),
      ]),
      ['before', 'after-grace', 'other-keys-grant'],
    );
  });

  it('never reports the broker’s key nor a key outside the block', () => {
    assert.deepEqual(run([conn({ id: 'broker', fingerprint: BROKER, startedAt: T0 - MIN }), conn({ id: 'standing', fingerprint: `SHA256:${'S'.repeat(43)}`, startedAt: T0 - MIN })]), []);
  });
});
