// The store's Lua scripts (lua/*.lua). Every multi-key change is one script, so two replicas or two clicks can
// never interleave, and each appends its audit event(s) in the same atomic step (lua/include/audit-append.lua,
// the one place that writes the audit stream).
//
// Each script's header names its KEYS and ARGV; the spec below names the same (checked when the file is read),
// and the loader binds them as KEY.<name> and ARG.<name> in front of the script, so no script reads a position.
// A `-- #include <name>` line is replaced by lua/include/<name>.lua. Scripts are defined once per client with
// ioredis defineCommand: EVAL the first time on each connection, EVALSHA after, EVAL again on NOSCRIPT (a
// restarted or promoted server). Every script's keys share one hash tag (redis-keys.ts), so it runs on a Cluster.
import { readFileSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';

interface ScriptSpec {
  readonly keys: readonly string[];
  readonly args: readonly string[];
  /** the script takes further field/value pairs after `args` (Lua: ARGV[REST], ARGV[REST + 1], …) */
  readonly rest?: true;
  /** each reply status and the names of the values that follow it */
  readonly replies: Readonly<Record<string, readonly string[]>>;
}

export const SCRIPTS = {
  'transition': {
    keys: ['request', 'auditStream', 'activeGrants', 'endedGrants', 'pendingRequests'],
    args: ['allowedFrom', 'to', 'initialState', 'activeState', 'event', 'endedAt', 'endsAt'],
    rest: true,
    replies: { ok: ['from'], conflict: ['state'], 'not-due': ['expiresAt'], missing: [] },
  },
  'approve': {
    keys: ['request', 'auditStream', 'activeGrants', 'pendingRequests', 'activating', 'grant'],
    args: [
      'approver', 'now', 'allowedFrom', 'activeState', 'recordedEvent', 'approvedEvent', 'activatedEvent',
      'approvalTimeoutMs', 'maxDurationMs', 'requiredApprovals', 'extendedState', 'extendedEvent', 'maxTotalMs', 'approvedMs',
    ],
    replies: {
      recorded: ['approvals', 'required'],
      activated: ['expiresAt'],
      'extension-approved': ['grantId', 'expiresAt'],
      'grant-ended': ['state'],
      'over-total': ['totalMs'],
      duplicate: [],
      self: [],
      conflict: ['state'],
      missing: [],
      'too-late': ['deadline'],
      'too-long': ['durationMs'],
    },
  },
  'create-request': {
    keys: ['request', 'userRequests', 'auditStream', 'pendingRequests', 'reviews'],
    args: ['maxPending', 'scan', 'requestKeyPrefix', 'initialState', 'createdAt', 'id', 'event', 'reviewBy'],
    rest: true,
    replies: { ok: [], capped: ['pending'] },
  },
  'ask-extension': {
    keys: ['grant', 'extension', 'userRequests', 'auditStream', 'pendingRequests', 'activeGrants'],
    args: ['now', 'requester', 'durationMs', 'maxTotalMs', 'selfExtendMs', 'activeState', 'initialState', 'requestKeyPrefix', 'extendedEvent', 'requestedEvent'],
    rest: true,
    replies: { 'self-extended': ['expiresAt'], asked: [], waiting: ['extensionId'], 'grant-ended': ['state'], 'over-total': ['totalMs'], missing: [] },
  },
  acknowledge: {
    keys: ['request', 'reviews', 'auditStream'],
    args: ['actor', 'now', 'event'],
    replies: { ok: [], already: ['acknowledgedBy'], 'not-break-glass': [], missing: [] },
  },
  'append-audit': { keys: ['auditStream'], args: ['event'], replies: { ok: [] } },
  'set-key': {
    keys: ['userKey', 'keyOwner', 'auditStream'],
    args: ['user', 'line', 'fingerprint', 'type', 'now', 'event', 'keyOwnerPrefix'],
    replies: { ok: ['previousFingerprint'], taken: [] },
  },
  'remove-key': { keys: ['userKey', 'auditStream'], args: ['event', 'keyOwnerPrefix'], replies: { ok: ['fingerprint'], none: [] } },
  'rate-limit': {
    keys: ['window', 'notice'],
    args: ['now', 'windowMs', 'limit', 'member'],
    replies: { ok: ['count'], limited: ['retryAfterMs', 'firstRefusal'] },
  },
  'record-connections': {
    keys: ['logPosition', 'liveConnections', 'auditStream', 'targetsLogged', 'pendingTunnels'],
    args: ['position', 'pending', 'records', 'events', 'connectionPrefix', 'keyConnectionsPrefix', 'endedTtlSeconds', 'targetsSeen'],
    replies: { ok: [] },
  },
  'claim-digest': { keys: ['day', 'lease'], args: ['token', 'leaseMs', 'keepMs'], replies: { fresh: [], retry: [], busy: [], posted: [] } },
  'digest-posted': { keys: ['day', 'lease', 'windowEnd'], args: ['token', 'keepMs', 'upTo'], replies: { ok: [] } },
  'render-inputs': { keys: ['activeGrants'], args: ['after', 'requestPrefix', 'userKeyPrefix'], replies: { ok: ['json'] } },
  'release-lock': { keys: ['lock'], args: ['token'], replies: { released: [], notHeld: [] } },
  'renew-lock': { keys: ['lock'], args: ['token', 'leaseMs'], replies: { renewed: [], lost: [] } },
} as const satisfies Record<string, ScriptSpec>;

export type ScriptName = keyof typeof SCRIPTS;
type Spec<N extends ScriptName> = (typeof SCRIPTS)[N];
type Replies<N extends ScriptName> = Spec<N>['replies'];
/** A decoded reply: its status and each value by name. */
export type ScriptReply<N extends ScriptName> = {
  [S in keyof Replies<N>]: { status: S } & { [V in Replies<N>[S] extends readonly (infer U extends string)[] ? U : never]: string };
}[keyof Replies<N>];

const LUA_DIR = new URL('./lua/', import.meta.url);

/** The script's text as Redis runs it: the name bindings, then the file with its includes expanded. */
export function scriptSource(name: ScriptName): string {
  const spec: ScriptSpec = SCRIPTS[name];
  const text = readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8');
  checkHeader(name, text, spec);
  const body = text.replace(/^-- #include ([a-z-]+)$/gm, (_, include: string) => readFileSync(new URL(`include/${include}.lua`, LUA_DIR), 'utf8'));
  const bind = (table: string, names: readonly string[], from: string) =>
    `local ${table} = { ${names.map((n, i) => `${n} = ${from}[${i + 1}]`).join(', ')} }`;
  return [bind('KEY', spec.keys, 'KEYS'), bind('ARG', spec.args, 'ARGV'), `local REST = ${spec.args.length + 1}`, body].join('\n');
}

/** The header's `-- KEYS:` and `-- ARGV:` lines must name what the spec names, in its order. */
function checkHeader(name: string, text: string, spec: ScriptSpec): void {
  const listed = (label: string) =>
    new RegExp(`^-- ${label}: (.*)$`, 'm')
      .exec(text)?.[1]
      ?.replace(/,?\s*\[.*$/, '') // the trailing "[field, value]..." pairs
      .split(',')
      .map((s) => s.trim());
  const expect = (label: string, names: readonly string[]) => {
    const got = listed(label);
    if (got?.join(',') !== names.join(','))
      throw new Error(`lua/${name}.lua: header "-- ${label}:" lists ${got ? got.join(', ') : 'nothing'}, the spec in scripts.ts ${names.join(', ')}`);
  };
  expect('KEYS', spec.keys);
  expect('ARGV', spec.args);
  if (/^-- ARGV: .*\[/m.test(text) !== Boolean(spec.rest)) throw new Error(`lua/${name}.lua: header and spec disagree about trailing field/value pairs`);
}

// Read once, at start-up: a missing or mismatched file stops the broker before it serves anyone.
const SOURCES = new Map((Object.keys(SCRIPTS) as ScriptName[]).map((n) => [n, scriptSource(n)]));
const defined = new WeakSet<object>();

const commandName = (name: ScriptName) => `jit_${name.replace(/-/g, '_')}`;

/** Defines every script on this client (once). */
function ensureDefined(redis: Redis): void {
  if (defined.has(redis)) return;
  for (const [name, lua] of SOURCES) redis.defineCommand(commandName(name), { numberOfKeys: SCRIPTS[name].keys.length, lua });
  defined.add(redis);
}

/** Runs a script with its keys and arguments by name (`rest`: further field/value pairs) and decodes its reply. */
export async function runScript<N extends ScriptName>(
  redis: Redis,
  name: N,
  keys: Record<Spec<N>['keys'][number], string>,
  args: Record<Spec<N>['args'][number], string | number>,
  rest: readonly (string | number)[] = [],
): Promise<ScriptReply<N>> {
  return decodeReply(name, await callScript(redis, name, keys, args, rest)) as ScriptReply<N>;
}

/** Adds a script to a pipeline (its reply: decodeReply), as the pipeline's own command. */
export function sendScript<N extends ScriptName>(
  pipe: ChainableCommander,
  name: N,
  keys: Record<Spec<N>['keys'][number], string>,
  args: Record<Spec<N>['args'][number], string | number>,
): void {
  const redis = (pipe as unknown as { redis: Redis }).redis;
  ensureDefined(redis);
  // Not the client's method: with replicas that one is wrapped to WAIT after the script, and runs on the client
  // itself (redis-connection.ts). ioredis's script object sends EVAL/EVALSHA into the pipeline (a read: no WAIT).
  const script = (redis as unknown as { scriptsSet: Record<string, { execute(on: unknown, args: string[], options: object): unknown }> }).scriptsSet[commandName(name)]!;
  script.execute(pipe, argumentsOf(name, keys, args, []), { replyEncoding: 'utf8' });
}

/** The script's command on the client: EVAL/EVALSHA as ioredis defined it (and as redis-connection.ts wraps it). */
function callScript(redis: Redis, name: ScriptName, keys: Record<string, string>, args: Record<string, string | number>, rest: readonly (string | number)[]): Promise<unknown> {
  ensureDefined(redis);
  const command = (redis as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[commandName(name)]!;
  return command.call(redis, ...argumentsOf(name, keys, args, rest));
}

/** KEYS then ARGV, each in the order the spec names them. */
function argumentsOf(name: ScriptName, keys: Record<string, string>, args: Record<string, string | number>, rest: readonly (string | number)[]): string[] {
  const spec: ScriptSpec = SCRIPTS[name];
  const byName = <T>(o: Record<string, T>, names: readonly string[]) => names.map((n) => String(o[n]));
  return [...byName(keys, spec.keys), ...byName(args, spec.args), ...rest.map(String)];
}

/** Every script answers {status, value…} with string values: named here, once. */
export function decodeReply(name: ScriptName, raw: unknown): { status: string; [value: string]: string } {
  const spec: ScriptSpec = SCRIPTS[name];
  const [status, ...values] = Array.isArray(raw) ? raw : [];
  const names = typeof status === 'string' && Object.hasOwn(spec.replies, status) ? spec.replies[status]! : undefined;
  if (!names || values.length !== names.length || values.some((v) => typeof v !== 'string'))
    throw new Error(`Lua script ${name} gave an unexpected reply: ${JSON.stringify(raw)}`);
  return Object.fromEntries([['status', status], ...names.map((n, i) => [n, values[i] as string])]) as { status: string; [value: string]: string };
}
