// The chaos run behind test/chaos/chaos.test.ts (short, in CI) and `npm run chaos` (long, by hand): many short
// grant lifecycles driven through signed Slack requests against 3 broker processes on one real redis-server
// and a real jump sshd, while a seeded random schedule kill -9's and restarts brokers, restarts redis-server
// (AOF on) and stops the jump sshd for a while. Then, after a reconcile interval, it counts what must be zero
// or one: lines on the jump server without an active grant, active grants without a line, activation
// messages per grant and audit events of each kind per grant.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { parseAuthorizedKeys } from '../../src/domain/managed-block.ts';
import { startLocalSlackApi, type LocalSlackApi, type SlackCall } from '../../src/sandbox/local-slack-api.ts';
import { startRedis, type RedisProcess } from '../../src/sandbox/redis-process.ts';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { generateUserKey, startSshd, type SshdProcess } from '../../src/sandbox/sshd-process.ts';
import { redisKeys } from '../../src/store/redis-keys.ts';
import { startFleet, type Fleet } from '../support/broker-fleet.ts';

export interface ChaosOptions {
  lifecycles: number;
  seed: number;
  users?: number;
  replicas?: number;
  reconcileIntervalMs?: number;
  log?: (line: string) => void;
}

export interface ChaosFigures {
  seed: number;
  lifecycles: number;
  requests: number;
  grants: number;
  grantsByEnd: Record<string, number>;
  brokerKills: number;
  redisRestarts: number;
  jumpOutages: number;
  checkpoint: { activeGrants: number; lines: number; linesWithoutActiveGrant: number; activeGrantsWithoutLine: number };
  final: { activeGrants: number; lines: number; linesWithoutActiveGrant: number; activeGrantsWithoutLine: number };
  activationMessages: { total: number; grantsWithNone: number; grantsWithMore: number; extraKinds: Record<string, number> };
  audit: { streamEvents: number; posted: number; duplicates: number; grantsMissingAKind: number; grantsWithADuplicateKind: number; duplicated: string[] };
  doubleApprovals: number;
  unexpectedExits: string[];
  durationMs: number;
}

const SIGNING_SECRET = 'chaos-signing-secret-0123456789abcdef';
const BOT_TOKEN = 'xoxb-chaos-bot-token-0123456789';
const TEAM_ID = 'T0CHAOS';
const OWNER = 'U0OWNER1';
const AUDIT = 'C0AUDIT';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: small, seeded, good enough to make a chaos run repeatable in what it decides. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`chaos: timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface LineCheck {
  activeGrants: number;
  lines: number;
  linesWithoutActiveGrant: number;
  activeGrantsWithoutLine: number;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosFigures> {
  const started = Date.now();
  const log = o.log ?? (() => undefined);
  const random = seeded(o.seed);
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));
  const interval = o.reconcileIntervalMs ?? 2000;
  const nUsers = o.users ?? 6;
  const dir = mkdtempSync(join(tmpdir(), 'jit-chaos-'));
  const stops: (() => Promise<void>)[] = [];
  const keys = redisKeys();
  let fleet: Fleet | undefined;
  let oracle: Redis | undefined;
  try {
    const redis: RedisProcess = await startRedis({ appendonly: true });
    stops.push(() => redis.stop());
    const brokerKey = generateUserKey(dir, 'broker_ed25519');
    const jump: SshdProcess = await startSshd({ name: 'chaos-jump', role: 'jump', authorizedKeysContent: `restrict ${brokerKey.publicKey}\n` });
    stops.push(() => jump.stop());
    const slack: LocalSlackApi = await startLocalSlackApi({ botToken: BOT_TOKEN, teamId: TEAM_ID, triggerTtlMs: 60_000 });
    stops.push(() => slack.stop());
    const policyPath = join(dir, 'jit.config.yaml');
    writeFileSync(
      policyPath,
      stringify({
        auditChannel: AUDIT,
        reconcileInterval: `${interval / 1000}s`,
        defaults: { duration: '5s', minDuration: '1s', maxDuration: '1h', requireReason: true, approvals: 1, approvalTimeout: '15s', expiryWarning: '10m' },
        jumpHosts: [
          { name: 'bastion', address: '127.0.0.1', port: jump.port, user: jump.user, hostKey: jump.hostKeyFingerprint, privateKeyPath: brokerKey.privateKeyPath, authorizedKeysPath: jump.authorizedKeysPath },
        ],
        hosts: [
          { name: 'internal-1', address: '127.0.0.1', port: 2201, jumpHost: 'bastion', owners: [OWNER] },
          { name: 'internal-2', address: '127.0.0.1', port: 2202, jumpHost: 'bastion', owners: [OWNER] },
        ],
      }),
    );
    fleet = await startFleet({
      replicas: o.replicas ?? 3,
      dir,
      slack,
      signingSecret: SIGNING_SECRET,
      teamId: TEAM_ID,
      random,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        REDIS_URL: redis.url,
        JIT_CONFIG: policyPath,
        LOG_LEVEL: 'info',
      },
      tuning: { activationLeaseMs: 3000, auditClaimIdleMs: 3000, syncLockLeaseMs: 3000, syncRetryBaseMs: 100, stopTimeoutMs: 5000 },
    });
    const f = fleet;
    stops.unshift(() => f.stopAll());
    oracle = new Redis(redis.url, { maxRetriesPerRequest: null });
    oracle.on('error', () => undefined);
    const db = oracle;
    log(`chaos: seed ${o.seed}, ${o.lifecycles} lifecycles, ${nUsers} users, 3 brokers, reconcile every ${interval} ms (setup ${Date.now() - started} ms)`);

    // Each simulated engineer has a key of their own.
    const users = Array.from({ length: nUsers }, (_, i) => `U0CHAOS${String(i + 1).padStart(2, '0')}`);
    for (const u of users) {
      const key = generateUserKey(dir, `${u}_ed25519`);
      await retryCommand(f, u, `key add ${key.publicKey}`, /Key registered/);
    }

    const stateOf = async (id: string) => (await db.hget(keys.request(id), 'state')) ?? undefined;
    // Approval messages in the owner's DM by request id, indexed as they arrive (cloning thousands of messages
    // on every poll would make this process, which also serves the fake Slack API, the bottleneck).
    const approvals = new Map<string, { channel: string; blocks: any[] }>();
    let seen = 0;
    const approvalFor = (id: string) => {
      for (; seen < slack.calls.length; seen++) {
        const c = slack.calls[seen]!;
        if (c.method !== 'chat.postMessage' || c.args.channel !== `D${OWNER}`) continue;
        const m = /"value":"(r[a-z0-9-]+)"/.exec(JSON.stringify(c.args.blocks ?? []));
        if (m) approvals.set(m[1]!, { channel: c.args.channel, blocks: c.args.blocks });
      }
      return approvals.get(id);
    };

    // ---- one grant's life, as a person and an owner would drive it ----
    // Each person's first grant is an anchor: long enough to outlast the chaos on any machine however loaded (its
    // line must survive everything and still stand at the checkpoint), and revoked after the checkpoint. The others
    // are short; the last ones a little longer, so that many grants overlap the end.
    const anchors: { user: string; id: string }[] = [];
    const lifecycle = async (user: string, n: number, last: boolean) => {
      const host = random() < 0.5 ? 'internal-1' : 'internal-2';
      const seconds = n === 0 ? 1800 : last ? between(10, 13) : between(2, 7);
      const reply = await retryCommand(f, user, `request ${host} ${seconds}s chaos ${n}`, /Request `r[a-z0-9]+`/);
      const id = /Request `(r[a-z0-9]+)`/.exec(reply)![1]!;
      if (n === 0) anchors.push({ user, id });
      // The owner clicks Approve in the DM; if the message never came (its replica died), clicks again from an
      // older copy; a lost click is clicked again. The state in Redis tells whether it took.
      const deadline = Date.now() + 40_000;
      while ((await stateOf(id)) === 'pending' && Date.now() < deadline) {
        const msg = await until('approval message', () => approvalFor(id), 3000).catch(() => undefined);
        const b = msg ? findButton(msg.blocks, 'jit_approve') : { actionId: 'jit_approve', value: id, blockId: 'approval' };
        await f.blockAction(OWNER, { ...b, message: { channel: msg?.channel ?? `D${OWNER}`, ts: '1700000000.000001' } }).catch(() => undefined);
        await until('decision', async () => (await stateOf(id)) !== 'pending', 3000).catch(() => undefined);
      }
      if (n > 0 && !last && random() < 0.4 && (await stateOf(id)) === 'active') {
        await sleep(between(200, 1500));
        await retryCommand(f, user, `revoke ${id}`, /revoked|nothing to revoke/);
      }
      await sleep(between(100, 800));
    };

    // Lifecycles are dealt round-robin; each person's last grant is longer, so grants are still active at the checkpoint.
    let lifecyclesRun = 0;
    let done = false;
    const people = users.map(async (u, ui) => {
      const mine = Math.ceil((o.lifecycles - ui) / nUsers);
      for (let k = 0; k < mine; k++) {
        lifecyclesRun++;
        await lifecycle(u, k, k === mine - 1);
      }
    });

    // ---- the chaos schedule ----
    let brokerKills = 0;
    let redisRestarts = 0;
    let jumpOutages = 0;
    const restarts: Promise<void>[] = [];
    const chaos = (async () => {
      const first = ['kill', 'sshd', 'redis', 'kill'];
      // The first faults always happen (one of each kind at least), then random ones while lifecycles run.
      for (let step = 0; !done || step < first.length; step++) {
        await sleep(between(400, 1500));
        const roll = random();
        const what = first[step] ?? (roll < 0.7 ? 'kill' : roll < 0.85 ? 'redis' : 'sshd');
        if (what === 'kill') {
          const alive = f.alive();
          if (f.serving().length < 2) continue; // keep one serving, as a rolling crash would
          const victim = alive[Math.floor(random() * alive.length)]!; // perhaps one still starting
          await f.kill9(victim);
          brokerKills++;
          log(`chaos: kill -9 broker ${victim}`);
          const downFor = between(200, 2500);
          // Restarted until it serves again (it may be killed again while starting: then this starts it anew).
          restarts.push(
            (async () => {
              await sleep(downFor);
              while (!f.alive().includes(victim)) await f.start(victim);
            })(),
          );
        } else if (what === 'redis') {
          await redis.restart();
          redisRestarts++;
          log('chaos: restarted redis-server');
        } else {
          await jump.kill9();
          jumpOutages++;
          const downFor = between(1000, 3000);
          log(`chaos: jump sshd down for ${downFor} ms`);
          await sleep(downFor);
          await jump.restart();
        }
      }
    })();

    await Promise.all(people);
    done = true;
    await chaos;
    await Promise.all(restarts);
    for (const i of [0, 1, 2].slice(0, o.replicas ?? 3)) if (!f.alive().includes(i)) await f.start(i);
    const calm = Date.now();
    log(`chaos: ${lifecyclesRun} lifecycles done after ${calm - started} ms; everything up again`);

    // ---- checkpoint: grants still active, after one reconcile interval from calm ----
    const checkLines = async (strict: boolean): Promise<LineCheck> => {
      const now = Date.now();
      const tolerance = strict ? 0 : 1500; // a grant ending right now is being taken out
      const surelyActive = new Set(await db.zrangebyscore(keys.activeGrants('bastion'), `(${now + tolerance}`, '+inf'));
      const maybeActive = new Set(await db.zrangebyscore(keys.activeGrants('bastion'), `(${now - tolerance}`, '+inf'));
      const lines = parseAuthorizedKeys(jump.readAuthorizedKeys()).block ?? [];
      const onLines = new Set<string>();
      let linesWithoutActiveGrant = 0;
      for (const l of lines) {
        const ids = /jit:([a-z0-9,-]+)$/.exec(l)?.[1]?.split(',') ?? [];
        ids.forEach((id) => onLines.add(id));
        if (ids.length === 0 || ids.some((id) => !maybeActive.has(id))) linesWithoutActiveGrant++;
      }
      const activeGrantsWithoutLine = [...surelyActive].filter((id) => !onLines.has(id)).length;
      return { activeGrants: surelyActive.size, lines: lines.length, linesWithoutActiveGrant, activeGrantsWithoutLine };
    };
    const afterReconcile = async (since: number) =>
      until('a reconcile after calm', async () => Number((await db.get(keys.lastReconcile)) ?? 0) > since + interval, 6 * interval + 30_000);
    await afterReconcile(calm);
    let checkpoint = await checkLines(false);
    const cpDeadline = Date.now() + interval + 5000;
    while ((checkpoint.linesWithoutActiveGrant || checkpoint.activeGrantsWithoutLine) && Date.now() < cpDeadline) {
      await sleep(100);
      checkpoint = await checkLines(false);
    }
    log(`chaos: checkpoint ${JSON.stringify(checkpoint)}`);
    for (const a of anchors) await retryCommand(f, a.user, `revoke ${a.id}`, /revoked|cancelled|nothing to revoke|already/);

    // ---- drain: every request decided and ended, every follow-up done, every audit event posted ----
    const allIds = async () => {
      const ids: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await db.scan(cursor, 'MATCH', keys.request('r*'), 'COUNT', 1000);
        cursor = next;
        ids.push(...batch.map((k) => k.slice(keys.request('').length)).filter((id) => /^r[a-z0-9-]+$/.test(id)));
      } while (cursor !== '0');
      return ids;
    };
    await until(
      'every request ended and every follow-up done',
      async () => {
        const ids = await allIds();
        const states = await Promise.all(ids.map((id) => db.hget(keys.request(id), 'state')));
        const open = states.filter((s) => s === 'pending' || s === 'active').length;
        return open === 0 && (await db.zcard(keys.activating)) === 0;
      },
      60_000,
      250,
    );
    const ended = Date.now();
    await afterReconcile(ended);
    const final = await checkLines(true);
    log(`chaos: final ${JSON.stringify(final)}`);
    const streamEvents = await db.xlen(keys.auditStream);
    const auditPosts = () => slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === AUDIT);
    // Every entry read by the forwarders' group and acknowledged (after its post).
    await until(
      'audit stream posted',
      async () => {
        const [pending] = (await db.xpending(keys.auditStream, 'audit-forwarder')) as [number];
        const groups = (await db.xinfo('GROUPS', keys.auditStream)) as unknown[][];
        const lag = Number(groups[0]?.[groups[0].indexOf('lag') + 1] ?? 1);
        return Number(pending) === 0 && lag === 0;
      },
      45_000,
      200,
    ).catch(() => log('chaos: audit stream not fully acknowledged in 45 s'));

    // ---- counts ----
    const ids = await allIds();
    const requests = await Promise.all(ids.map(async (id): Promise<Record<string, string> & { id: string }> => ({ ...(await db.hgetall(keys.request(id))), id })));
    const grants = requests.filter((r) => r.activatedAt !== undefined);
    const grantsByEnd: Record<string, number> = {};
    for (const g of grants) grantsByEnd[g.state ?? '?'] = (grantsByEnd[g.state ?? '?'] ?? 0) + 1;
    const dmCalls = slack.calls.filter((c) => c.method === 'chat.postMessage' && String(c.args.channel).startsWith('D'));
    // Recognised by metadata: the connect instructions, or the notice that none came of the approval.
    const isActivationMessage = (c: SlackCall, id: string) =>
      c.args.metadata?.event_payload?.request_id === id && ['jit_grant_active', 'jit_grant_failed'].includes(c.args.metadata?.event_type);
    let total = 0;
    let grantsWithNone = 0;
    let grantsWithMore = 0;
    const extraKinds: Record<string, number> = {};
    const kindOf = (c: SlackCall) => (c.args.metadata?.event_type === 'jit_grant_active' ? 'connect' : `not activated: ${c.args.metadata?.event_payload?.state}`);
    for (const g of grants) {
      const mine = dmCalls.filter((c) => c.args.channel === `D${g.requester}` && isActivationMessage(c, g.id));
      total += mine.length;
      if (mine.length === 0) grantsWithNone++;
      if (mine.length > 1) {
        grantsWithMore++;
        const k = `${mine.map(kindOf).join('+')} (${g.state}; ${mine.map((c) => c.at - Number(g.activatedAt)).join('/')} ms after activation)`;
        if (Object.keys(extraKinds).length < 15) extraKinds[k] = (extraKinds[k] ?? 0) + 1;
      }
    }
    const posted = auditPosts();
    const kinds = new Map<string, Map<string, number>>();
    const texts = new Map<string, number>();
    for (const c of posted) {
      const text = String(c.args.text);
      texts.set(text, (texts.get(text) ?? 0) + 1);
      // Recognised by the post's metadata, not its wording.
      const type = c.args.metadata?.event_payload?.audit_type as string | undefined;
      const id = (c.args.metadata?.event_payload?.request_id as string | undefined) || undefined;
      if (!type || !id) continue;
      const m = kinds.get(id) ?? new Map<string, number>();
      m.set(type, (m.get(type) ?? 0) + 1);
      kinds.set(id, m);
    }
    let grantsMissingAKind = 0;
    let grantsWithADuplicateKind = 0;
    for (const g of grants) {
      const m = kinds.get(g.id) ?? new Map<string, number>();
      const ends = (m.get('expired') ?? 0) + (m.get('revoked') ?? 0) + (m.get('failed') ?? 0);
      if (!m.get('requested') || !m.get('approved') || !m.get('activated') || ends === 0) grantsMissingAKind++;
      if ([...m.values()].some((n) => n > 1) || ends > 1) grantsWithADuplicateKind++;
    }
    const figures: ChaosFigures = {
      seed: o.seed,
      lifecycles: lifecyclesRun,
      requests: requests.length,
      grants: grants.length,
      grantsByEnd,
      brokerKills,
      redisRestarts,
      jumpOutages,
      checkpoint,
      final,
      activationMessages: { total, grantsWithNone, grantsWithMore, extraKinds },
      audit: {
        streamEvents,
        posted: posted.length,
        duplicates: [...texts.values()].filter((n) => n > 1).length,
        duplicated: [...texts].filter(([, n]) => n > 1).map(([t]) => t),
        grantsMissingAKind,
        grantsWithADuplicateKind,
      },
      doubleApprovals: grants.filter((g) => (JSON.parse(g.approvers ?? '[]') as string[]).length !== 1).length,
      unexpectedExits: [...f.unexpectedExits],
      durationMs: Date.now() - started,
    };
    return figures;
  } catch (err) {
    if (fleet) for (const i of [0, 1, 2]) log(`--- broker ${i} log tail ---\n${fleet.log(i).split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    oracle?.disconnect();
    for (const stop of stops) await stop().catch(() => undefined);
    if (process.env.JIT_CHAOS_KEEP) log(`chaos: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** A person retrying a slash command until the broker gives the answer they need (it may say "try again"). */
async function retryCommand(f: Fleet, user: string, text: string, want: RegExp): Promise<string> {
  const deadline = Date.now() + 60_000;
  let last = '';
  for (;;) {
    const res = await f.command(user, text).catch((err: unknown) => ({ status: 0, body: String(err), json: undefined }));
    last = String(res.json?.text ?? res.body);
    if (res.status === 200 && want.test(last)) return last;
    if (Date.now() > deadline) throw new Error(`chaos: "${text}" never got ${want}: last answer ${last}`);
    await sleep(300);
  }
}
