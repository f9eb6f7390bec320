// Hostile command texts and key strings (fast-check), run through the broker's own domain code from Slack text to
// the rendered managed block, and an independent strict reader of what lands in authorized_keys. Shared by
// test/security/managed-block-property.test.ts (a few thousand cases) and bench/fuzz-managed-block.ts (≥ 100,000).
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import sshpk from 'sshpk';
import { validatePolicy, type Policy } from '../../src/config/policy.ts';
import { evaluateRequest } from '../../src/domain/access-policy.ts';
import { parseCommand } from '../../src/domain/command.ts';
import { renderableGrants } from '../../src/domain/desired-block.ts';
import { formatExpiryTime, parseAuthorizedKeys, renderKeyLines, spliceManagedBlock, type ExpiryFormat } from '../../src/domain/managed-block.ts';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';

// ---------------------------------------------------------------- real keys to start from

function sshLine(type: 'ed25519' | 'ec' | 'rsa' | 'dsa', opts: object): string {
  const { publicKey } = generateKeyPairSync(type as never, opts as never) as unknown as { publicKey: import('node:crypto').KeyObject };
  return reserialize(sshpk.parseKey(publicKey.export({ type: 'spki', format: 'pem' }) as string, 'pem'));
}

/** "<type> <base64>" as sshpk writes it, without the comment it adds ("(unnamed)"). */
function reserialize(key: sshpk.Key): string {
  return key.toString('ssh').split(' ').slice(0, 2).join(' ');
}

export interface KeyPool {
  good: string[];
  weak: string[];
  privateKeys: string[];
}

/** Real keys: acceptable ones (ed25519, ECDSA on all three curves, RSA 3072), weak ones (RSA 2048, DSA) and private keys. */
export function makeKeyPool(): KeyPool {
  const good = [
    sshLine('ed25519', {}),
    sshLine('ed25519', {}),
    sshLine('ed25519', {}),
    sshLine('ec', { namedCurve: 'P-256' }),
    sshLine('ec', { namedCurve: 'P-384' }),
    sshLine('ec', { namedCurve: 'P-521' }),
    sshLine('rsa', { modulusLength: 3072 }),
  ];
  const weak = [sshLine('rsa', { modulusLength: 2048 }), sshLine('dsa', { modulusLength: 1024, divisorLength: 160 })];
  const pk = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const privateKeys = [
    pk,
    pk.replace(/\n/g, ' '),
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZWQyNTUxOQ\n-----END OPENSSH PRIVATE KEY-----',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZWQyNTUxOQ',
    'PuTTY-User-Key-File-3: ssh-ed25519',
  ];
  return { good, weak, privateKeys };
}

// ---------------------------------------------------------------- hostile pieces

/** Characters and fragments that mean something to sshd, a shell, Slack or our own parsers. */
const NASTY = [
  '\n', '\r', '\r\n', '\u0000', '\u0007', '\u001b[31m', '\u007f', '\u0085', '\u2028', '\u2029', '\u202e', '\t', ' ', '  ',
  '"', "'", '`', ',', ';', '\\', '\\"', '=', '#', '*', '?', ':', '$(', '`id`', '$(reboot)', '&&', '|', '>', '<',
  'permitopen="*:*"', ',permitopen="0.0.0.0:22"', 'command="/bin/sh"', 'from="*"', 'restrict', 'no-restrict',
  'environment="LD_PRELOAD=/tmp/x"', 'expiry-time="99991231235959Z"', 'jit:rother1', ' jit:r1234,r5678',
  '# BEGIN jit-jump managed block: do not edit', '# END jit-jump managed block',
  '<!channel>', '<!here>', '<@U0BOSS>', '<http://evil.example|click me>', '&lt;', '*bold*', '_it_', '~s~', '```',
  'ssh-ed25519', 'ssh-rsa AAAAB3NzaC1yc2E', 'ssh-dss AAAA', 'ssh-ed25519-cert-v01@openssh.com', 'sk-ssh-ed25519@openssh.com',
  'AAAA', '====', '+/', 'é', '中文', '🔑', '\ufeff', '\u200b',
];

const nasty = fc.constantFrom(...NASTY);
const junk = fc.oneof(
  { weight: 3, arbitrary: fc.array(nasty, { maxLength: 4 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

/** Inserts `piece` at a position given as a fraction of the text. */
function insertAt(text: string, where: number, piece: string): string {
  const i = Math.floor(where * (text.length + 1));
  return text.slice(0, i) + piece + text.slice(i);
}

export function hostileKeyText(pool: KeyPool): fc.Arbitrary<string> {
  const base = fc.constantFrom(...pool.good, ...pool.weak);
  const mutated = fc
    .record({
      key: base,
      prefix: fc.option(fc.oneof(nasty, junk), { freq: 3 }),
      comment: fc.option(junk, { freq: 2 }),
      inserts: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.oneof(nasty, junk)), { maxLength: 2 }),
      cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 6 }),
      second: fc.option(base, { freq: 6 }),
      sep: fc.constantFrom(' ', '\n', ',', '\r\n'),
    })
    .map(({ key, prefix, comment, inserts, cut, second, sep }) => {
      let t = key;
      if (cut !== null) t = t.slice(0, Math.floor(cut * t.length));
      for (const [where, piece] of inserts) t = insertAt(t, where, piece);
      if (prefix !== null) t = `${prefix} ${t}`;
      if (comment !== null) t = `${t} ${comment}`;
      if (second !== null) t = `${t}${sep}${second}`;
      return t;
    });
  return fc.oneof(
    { weight: 3, arbitrary: base.map((k) => `${k} someone@laptop`) },
    { weight: 6, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...pool.privateKeys) },
    { weight: 1, arbitrary: junk },
  );
}

/** Host names: the policy's, near misses of them, and junk. */
function hostileHost(policy: Policy): fc.Arbitrary<string> {
  const names = policy.hosts.map((h) => h.name);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...names) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...names), nasty).map(([n, x]) => `${n}${x}`) },
    { weight: 1, arbitrary: fc.constantFrom(...names).map((n) => n.toUpperCase()) },
    { weight: 1, arbitrary: junk },
  );
}

function hostileDuration(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('1m', '15m', '1h', '2h', '4h'),
    fc.constantFrom('1m', '5m', '30m', '1h', '2h', '1h30m', '8h', '1d', '90', '0m', '-1h', '1.5h', '2:30', '999999999999999999d', '1h\n', '1e3s', '1h;'),
    fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom('s', 'm', 'h', 'd', 'x', '')).map(([n, u]) => `${n}${u}`),
  );
}

export function hostileCommandText(policy: Policy, pool: KeyPool): fc.Arbitrary<string> {
  const reason = fc.array(fc.oneof(junk, fc.constantFrom('fix', 'replication', 'urgent')), { maxLength: 6 }).map((a) => a.join(' '));
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(hostileHost(policy), fc.option(hostileDuration(), { freq: 3 }), reason).map(([h, d, r]) => `request ${h} ${d ?? ''} ${r}`) },
    { weight: 4, arbitrary: hostileKeyText(pool).map((k) => `key add ${k}`) },
    { weight: 1, arbitrary: fc.constantFrom('key remove', 'key', 'list', 'help', 'key delete') },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('revoke', 'cancel', 'REQUEST', 'Key ADD', ''), junk).map(([v, j]) => `${v} ${j}`) },
    { weight: 1, arbitrary: junk },
  );
}

// ---------------------------------------------------------------- a scenario through the domain

export const USERS = ['U0AAA', 'U0BBB', 'U0CCC', 'U0DDD'] as const;

export interface Step {
  user: number;
  text: string;
  /** for an accepted request: approved (active) or left pending */
  approve: boolean;
  /** how far into its duration the grant is at render time (≥ 1: already expired) */
  elapsed: number;
}

export interface Scenario {
  /** who registers a clean key first (so that hostile requests have something to be granted) */
  setup: boolean[];
  steps: Step[];
  expiry: ExpiryFormat;
  /** authorized_keys content around the block (someone else's lines) */
  outside: string;
}

export function scenario(policy: Policy, pool: KeyPool): fc.Arbitrary<Scenario> {
  const step = fc.record({
    user: fc.integer({ min: 0, max: USERS.length - 1 }),
    text: hostileCommandText(policy, pool),
    approve: fc.boolean(),
    elapsed: fc.double({ min: 0, max: 1.5, noNaN: true }),
  });
  const outsideLine = fc.oneof(fc.constantFrom(`restrict ${pool.good[0]} broker`, '# a comment', ''), junk.map((j) => j.replace(/[\r\n]/g, ' ')));
  return fc.record({
    setup: fc.array(fc.boolean(), { minLength: USERS.length, maxLength: USERS.length }),
    steps: fc.array(step, { minLength: 1, maxLength: 10 }),
    expiry: fc.constantFrom<ExpiryFormat>('utc', 'local', 'none'),
    outside: fc.array(outsideLine, { maxLength: 3 }).map((ls) => ls.filter((l) => !l.includes('jit-jump managed block')).join('\n')),
  });
}

/** Hosts with hostile-looking but policy-valid addresses, next to ordinary ones. */
export function fuzzPolicy(): Policy {
  return validatePolicy({
    auditChannel: 'C0AUDIT',
    defaults: { duration: '1h', minDuration: '1m', maxDuration: '8h', requireReason: false, approvals: 1 },
    jumpHosts: [{ name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: `SHA256:${'A'.repeat(43)}`, privateKeyPath: '/k' }],
    hosts: [
      { name: 'db-prod-1', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0OWNER'] },
      { name: 'web-1', address: 'Web-1.Internal', port: 2200, jumpHost: 'bastion', owners: ['U0OWNER'], maxDuration: '2h' },
      { name: 'v6', address: 'fd00::5', port: 22, jumpHost: 'bastion', owners: ['U0OWNER'] },
      { name: 'v6b', address: '[fd00::6]', port: 65535, jumpHost: 'bastion', owners: ['U0OWNER'] },
      { name: 'same-addr', address: '10.0.0.5', port: 22, jumpHost: 'bastion', owners: ['U0OWNER'] },
    ],
  });
}

export interface Stats {
  cases: number;
  commands: number;
  keyTextsSeen: number;
  keysAccepted: number;
  keysRefused: Record<string, number>;
  privateKeysRefused: number;
  requestsAccepted: number;
  requestsRefused: number;
  grantsActive: number;
  linesRendered: number;
  maxLines: number;
}

export function newStats(): Stats {
  return { cases: 0, commands: 0, keyTextsSeen: 0, keysAccepted: 0, keysRefused: {}, privateKeysRefused: 0, requestsAccepted: 0, requestsRefused: 0, grantsActive: 0, linesRendered: 0, maxLines: 0 };
}

const NOW = Date.UTC(2026, 10, 24, 9, 0, 0);

/**
 * Runs one scenario the way the broker does (parse → key check / policy → grants → render → splice) and checks
 * the property on the resulting file. Throws with a description on any violation.
 */
export function runScenario(policy: Policy, pool: KeyPool, s: Scenario, stats: Stats): void {
  stats.cases++;
  const keyOf = new Map<string, { line: string; fingerprint: string }>(); // user → key
  const ownerOf = new Map<string, string>(); // fingerprint → user
  const grants: AccessRequest[] = [];
  let n = 0;
  const setup = s.setup.flatMap((yes, i): Step[] => (yes ? [{ user: i, text: `key add ${pool.good[i]} setup`, approve: false, elapsed: 0 }] : []));
  for (const step of [...setup, ...s.steps]) {
    stats.commands++;
    const user = USERS[step.user]!;
    const cmd = parseCommand(step.text, policy.limits.maxCommandLength);
    if (cmd.kind === 'private-key') {
      stats.privateKeysRefused++;
      continue;
    }
    if (cmd.kind === 'key-add') {
      stats.keyTextsSeen++;
      const check = checkUserPublicKey(cmd.keyText, { minRsaBits: policy.keys.minRsaBits });
      if (!check.ok) {
        stats.keysRefused[check.code] = (stats.keysRefused[check.code] ?? 0) + 1;
        continue;
      }
      // what the broker must never store: anything but "<type> <base64>" of an allowed, strong key
      assertStoredKey(check.value.line, policy);
      const owner = ownerOf.get(check.value.fingerprint);
      if (owner && owner !== user) continue; // duplicate key across people: refused (KeyStore)
      const previous = keyOf.get(user);
      if (previous) ownerOf.delete(previous.fingerprint);
      keyOf.set(user, check.value);
      ownerOf.set(check.value.fingerprint, user);
      stats.keysAccepted++;
    } else if (cmd.kind === 'key-remove') {
      const previous = keyOf.get(user);
      if (previous) ownerOf.delete(previous.fingerprint);
      keyOf.delete(user);
    } else if (cmd.kind === 'request') {
      const d = evaluateRequest(policy, { hostName: cmd.host, duration: cmd.duration, reason: cmd.reason, hasKey: keyOf.has(user) });
      if (!d.ok) {
        stats.requestsRefused++;
        continue;
      }
      stats.requestsAccepted++;
      const id = `rfz${String(++n).padStart(4, '0')}`;
      const activatedAt = NOW - Math.floor(step.elapsed * d.value.durationMs);
      grants.push({
        id,
        requester: user,
        host: d.value.host.name,
        jumpHost: d.value.host.jumpHost,
        durationMs: d.value.durationMs,
        reason: d.value.reason, // data only: never rendered
        state: step.approve ? 'active' : 'pending',
        createdAt: activatedAt,
        requiredApprovals: 1,
        approvers: step.approve ? ['U0OWNER'] : [],
        // Bound to the key registered when asked. The model does not end grants on a key change (the service
        // does): a grant whose owner changed keys since stands for the race, and must get no line at all.
        keyFingerprint: keyOf.get(user)?.fingerprint,
        ...(step.approve ? { activatedAt, expiresAt: activatedAt + d.value.durationMs } : {}),
      });
    }
  }

  // What the store would hand the sync: grants indexed as active; the renderer itself drops expired ones.
  const keyLines = new Map([...keyOf].map(([u, k]) => [u, k.line]));
  const renderable = renderableGrants(policy, grants.filter((g) => g.state === 'active'), keyLines);
  const lines = renderKeyLines(renderable, NOW, s.expiry);
  const before = s.outside === '' ? '' : `${s.outside}\n`;
  const file = spliceManagedBlock(before, lines);
  const parsed = parseAuthorizedKeys(file);
  if (parsed.damaged || parsed.block === undefined && lines.length > 0) throw new Error(`block not found in ${JSON.stringify(file)}`);
  if (before !== '' && !file.startsWith(before)) throw new Error('the lines outside the block changed');
  const block = parsed.block ?? [];

  // Expected, computed independently: per person with a key, the active unexpired grants' targets.
  const expected = new Map<string, { targets: Set<string>; ids: Set<string>; earliest: number }>();
  for (const g of grants) {
    const key = keyOf.get(g.requester);
    if (g.state !== 'active' || !key || g.expiresAt! <= NOW || key.fingerprint !== g.keyFingerprint) continue;
    const host = policy.hosts.find((h) => h.name === g.host)!;
    const bare = host.address.replace(/^\[(.*)\]$/, '$1');
    const target = bare.includes(':') ? `[${bare}]:${host.port}` : `${bare}:${host.port}`;
    const e = expected.get(key.line) ?? { targets: new Set(), ids: new Set(), earliest: Infinity };
    e.targets.add(target);
    e.ids.add(g.id);
    e.earliest = Math.min(e.earliest, g.expiresAt!);
    expected.set(key.line, e);
    stats.grantsActive++;
  }

  if (block.length !== expected.size) throw new Error(`${block.length} lines for ${expected.size} keys:\n${block.join('\n')}`);
  const seenKeys = new Set<string>();
  for (const line of block) {
    const l = readKeyLine(line);
    const key = `${l.type} ${l.blob}`;
    if (seenKeys.has(key)) throw new Error(`key on two lines: ${key}`);
    seenKeys.add(key);
    const e = expected.get(key);
    if (!e) throw new Error(`a line for a key with no active grant: ${line}`);
    if (!sameSet(l.permitopen, e.targets)) throw new Error(`permitopen ${[...l.permitopen]} ≠ approved ${[...e.targets]}: ${line}`);
    if (!sameSet(l.ids, e.ids)) throw new Error(`grant ids ${[...l.ids]} ≠ ${[...e.ids]}: ${line}`);
    const wantExpiry = s.expiry === 'none' ? undefined : formatExpiryTime(e.earliest, s.expiry);
    if (l.expiry !== wantExpiry) throw new Error(`expiry-time ${l.expiry} ≠ ${wantExpiry}: ${line}`);
  }
  stats.linesRendered += block.length;
  stats.maxLines = Math.max(stats.maxLines, block.length);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

const STORED_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa) ([A-Za-z0-9+/]+={0,2})$/;

function assertStoredKey(line: string, policy: Policy): void {
  const m = STORED_KEY.exec(line);
  if (!m) throw new Error(`stored key line has the wrong shape: ${JSON.stringify(line)}`);
  const key = sshpk.parseKey(line, 'ssh');
  if (reserialize(key) !== line) throw new Error(`stored key does not round-trip: ${line}`);
  if (key.type === 'rsa' && key.size < policy.keys.minRsaBits) throw new Error(`weak RSA key stored: ${key.size}`);
  if (!['ed25519', 'ecdsa', 'rsa'].includes(key.type)) throw new Error(`key type ${key.type} stored`);
}

export interface KeyLine {
  type: string;
  blob: string;
  permitopen: Set<string>;
  ids: Set<string>;
  expiry?: string;
}

/**
 * Reads one authorized_keys line the way sshd does (options up to the first unquoted blank, comma-separated,
 * values in double quotes), strictly: exactly the broker's option set, one key, a jit: comment, nothing else.
 */
export function readKeyLine(line: string): KeyLine {
  if (/[\u0000-\u001f\u007f]/.test(line)) throw new Error(`control character in ${JSON.stringify(line)}`);
  let i = 0;
  let quoted = false;
  for (; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '\\') {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (c === ' ' && !quoted) break;
  }
  if (quoted || i >= line.length) throw new Error(`options do not end: ${line}`);
  const options: string[] = [];
  let cur = '';
  quoted = false;
  for (const c of line.slice(0, i)) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      options.push(cur);
      cur = '';
    } else cur += c;
  }
  options.push(cur);
  const rest = line.slice(i + 1).split(' ');
  if (rest.length !== 3) throw new Error(`expected "<type> <key> <comment>" after the options: ${line}`);
  const [type, blob, comment] = rest as [string, string, string];
  if (!STORED_KEY.test(`${type} ${blob}`)) throw new Error(`not one allowed key: ${line}`);
  if (reserialize(sshpk.parseKey(`${type} ${blob}`, 'ssh')) !== `${type} ${blob}`) throw new Error(`key does not round-trip: ${line}`);
  const idm = /^jit:(r[a-z0-9]{1,40}(?:,r[a-z0-9]{1,40})*)$/.exec(comment);
  if (!idm) throw new Error(`comment is not jit:<ids>: ${line}`);
  if (options[0] !== 'restrict' || options[1] !== 'port-forwarding') throw new Error(`must start restrict,port-forwarding: ${line}`);
  const permitopen = new Set<string>();
  let command = 0;
  let expiry: string | undefined;
  for (const o of options.slice(2)) {
    let m: RegExpExecArray | null;
    if ((m = /^permitopen="((?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9a-fA-F:.]+\]):\d{1,5})"$/.exec(o))) {
      if (permitopen.has(m[1]!)) throw new Error(`duplicate permitopen: ${line}`);
      permitopen.add(m[1]!);
    } else if (o === 'command="/bin/false"') command++;
    else if ((m = /^expiry-time="(\d{14}Z?)"$/.exec(o)) && expiry === undefined) expiry = m[1];
    else throw new Error(`unexpected option ${JSON.stringify(o)}: ${line}`);
  }
  if (command !== 1) throw new Error(`expected exactly one command="/bin/false": ${line}`);
  if (permitopen.size === 0) throw new Error(`a line without permitopen: ${line}`);
  return { type, blob, permitopen, ids: new Set(idm[1]!.split(',')), expiry };
}
