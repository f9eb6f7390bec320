// `jit-jump check-config`: what an operator runs before deploying a policy.
import pino from 'pino';
import { loadPolicy, PolicyError, type JumpHostConfig } from './config/policy.ts';
import { JumpHostConnections } from './jumphost/jump-host-connections.ts';
import { expiryFormatFor } from './jumphost/jump-host-sync.ts';
import { parseAuthorizedKeys } from './domain/managed-block.ts';
import { checkPrivateKeyFile } from './jumphost/private-key-file.ts';
import { checkSshdLog } from './jumphost/sshd-log-check.ts';
import { brokerKeyFingerprints } from './broker.ts';
import { effectivePolicyLines } from './domain/effective-policy.ts';
import { checkForwardingHardening, FORWARDING_HARDENING } from './jumphost/sshd-hardening.ts';
import { supportsExpiryTime, type ServerVersion } from './jumphost/server-version.ts';
import { judgeRecordedJumpHosts } from './domain/retirement.ts';
import type { Policy } from './config/policy.ts';
import { JumpHostRegistry } from './store/jump-host-registry.ts';
import { asCommandClient, createRedisClient, parseRedisUrl } from './store/redis-connection.ts';

/** What an operator must know about how this server's keys will expire; undefined when all is well (OpenSSH ≥ 9.1). */
export function expiryWarning(server: ServerVersion | undefined, jh: JumpHostConfig): string | undefined {
  if (!server?.openssh)
    return `server ${JSON.stringify(server?.raw ?? 'unknown')} is not OpenSSH (or hides its version): keys are written with expiry-time="…Z", which sshd understands from OpenSSH 9.1; a server that does not may reject every key line`;
  const format = expiryFormatFor(server, jh);
  if (format === 'none')
    return supportsExpiryTime(server)
      ? 'sshd is older than OpenSSH 9.1, so keys carry no expiry-time; access ends only when the broker removes the line (set utcExpiryOnOldServers: true if the server runs in UTC)'
      : 'sshd is older than OpenSSH 7.7, which has no expiry-time; access ends only when the broker removes the line';
  if (format === 'local') return 'sshd is older than 9.1; expiry-time is written as local time (declared UTC)';
  return undefined;
}

/** Where check-config looks for the jump server's sshd configuration unless told otherwise (--sshd-config). */
export const SSHD_CONFIG_PATH = '/etc/ssh/sshd_config';

export async function checkConfig(
  policyPath: string,
  o: { offline: boolean; print: (line: string) => void; /** with it, the jump servers the broker wrote to are checked too */ redisUrl?: string; redisPrefix?: string; sshdConfigPath?: string },
): Promise<number> {
  let errors = 0;
  let warnings = 0;
  const ok = (m: string) => o.print(`ok    ${m}`);
  const warn = (m: string) => {
    warnings++;
    o.print(`warn  ${m}`);
  };
  const fail = (m: string) => {
    errors++;
    o.print(`error ${m}`);
  };
  let policy;
  try {
    policy = loadPolicy(policyPath);
  } catch (err) {
    if (err instanceof PolicyError) {
      fail(err.message);
      return 1;
    }
    throw err;
  }
  ok(`${policyPath}: ${policy.jumpHosts.length} jump host(s), ${policy.hosts.length} host(s)`);
  // The policy each host runs under once the defaults and its rules are applied.
  for (const line of effectivePolicyLines(policy)) ok(line);
  for (const jh of policy.jumpHosts) {
    const problem = checkPrivateKeyFile(jh.privateKeyPath);
    if (problem) fail(`jumpHosts ${jh.name}: privateKeyPath ${problem}`);
    else ok(`jumpHosts ${jh.name}: private key ${jh.privateKeyPath}`);
  }
  if (o.redisUrl) await checkRecordedInRedis(policy, o.redisUrl, o.redisPrefix, { ok, warn, fail });
  if (!o.offline) await checkOnline(policy, o.sshdConfigPath ?? SSHD_CONFIG_PATH, { ok, warn, fail });
  o.print(`${errors} error(s), ${warnings} warning(s)`);
  return errors > 0 ? 1 : 0;
}

type Report = Record<'ok' | 'warn' | 'fail', (line: string) => void>;

/** Connects to each jump server: pinned host key, sshd version, the authorized_keys file and sshd's hardening (read only). */
async function checkOnline(policy: Policy, sshdConfigPath: string, { ok, warn, fail }: Report): Promise<void> {
  const connections = new JumpHostConnections({ logger: pino({ level: 'silent' }) });
  const brokerKeys = brokerKeyFingerprints(policy).fingerprints;
  for (const jh of policy.jumpHosts) {
    try {
      const server = await connections.serverVersion(jh);
      ok(`jumpHosts ${jh.name}: ${jh.user}@${jh.address}:${jh.port} host key ${jh.hostKey} matches; server ${server?.raw ?? 'unknown'}`);
      const expiryProblem = expiryWarning(server, jh);
      if (expiryProblem) warn(`jumpHosts ${jh.name}: ${expiryProblem}`);
      // Read only: check-config never writes. A missing file would be created by the first grant; say so, since a
      // wrong path (a typo, another account's home) looks just like that.
      const current = await connections.readRemoteFile(jh, jh.authorizedKeysPath);
      const parsed = current === undefined ? undefined : parseAuthorizedKeys(current);
      if (!parsed)
        warn(`jumpHosts ${jh.name}: ${jh.authorizedKeysPath} does not exist for ${jh.user}; the first grant would create it (mode 0600): check the path if sshd reads another file`);
      else if (parsed.damaged) warn(`jumpHosts ${jh.name}: ${jh.authorizedKeysPath} has broken managed-block markers; the next sync rebuilds the block`);
      else ok(`jumpHosts ${jh.name}: ${jh.authorizedKeysPath} readable, managed block ${parsed.block ? `holds ${parsed.block.length} line(s)` : 'not present yet'}`);
      await checkHardening(connections, jh, sshdConfigPath, ok, warn);
      const log = await checkSshdLog(connections, jh, brokerKeys.get(jh.name), () => Date.now());
      for (const m of log.ok) ok(`jumpHosts ${jh.name}: ${m}`);
      for (const m of log.warn) warn(`jumpHosts ${jh.name}: ${m}`);
      for (const m of log.fail) fail(`jumpHosts ${jh.name}: ${m}`);
    } catch (err) {
      fail(`jumpHosts ${jh.name}: ${(err as Error).message}`);
    }
  }
  await connections.close();
}

/** The jump account's forwarding hardening, as far as its sshd configuration can be read over SFTP. */
async function checkHardening(
  connections: JumpHostConnections,
  jh: JumpHostConfig,
  path: string,
  ok: (m: string) => void,
  warn: (m: string) => void,
): Promise<void> {
  const wanted = FORWARDING_HARDENING.map((h) => `${h.keyword} ${h.wanted}`).join(', ');
  const report = await checkForwardingHardening(
    { read: (p) => connections.readRemoteFile(jh, p), list: (d) => connections.listRemoteDir(jh, d) },
    path,
    jh.user,
  );
  if (!report.readable) {
    warn(`jumpHosts ${jh.name}: could not check sshd's forwarding hardening: ${report.why}; make sure ${jh.user} has ${wanted}`);
    return;
  }
  const wrong = report.settings.filter((s) => s.value.toLowerCase() !== s.wanted);
  for (const s of wrong)
    warn(`jumpHosts ${jh.name}: sshd gives ${jh.user} ${s.keyword} ${s.value} (from ${s.from}); set ${s.keyword} ${s.wanted}: the key line's port-forwarding cannot forbid it`);
  for (const u of report.undecided.filter((u) => u.value.toLowerCase() !== FORWARDING_HARDENING.find((h) => h.keyword === u.keyword)?.wanted))
    warn(`jumpHosts ${jh.name}: ${u.keyword} ${u.value} is set under "${u.match}", which check-config cannot evaluate; make sure it does not apply to ${jh.user}`);
  if (wrong.length === 0)
    ok(`jumpHosts ${jh.name}: sshd forwarding hardening for ${jh.user}: ${wanted} (read ${report.files.join(', ')})`);
}

/** What the broker's start-up check (broker.ts) would say about the jump servers it wrote to, read-only. */
async function checkRecordedInRedis(policy: Policy, redisUrl: string, prefix: string | undefined, report: Report): Promise<void> {
  // One attempt, no reconnecting: check-config says that Redis is unreachable and goes on.
  const redis = asCommandClient(createRedisClient(parseRedisUrl(redisUrl), 'commands', { overrides: { maxRetriesPerRequest: 1, commandTimeout: 5000, retryStrategy: () => null } }));
  redis.on('error', () => undefined);
  try {
    // The commands client queues nothing while it connects: wait for it.
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('end', () => reject(new Error('cannot reach Redis (REDIS_URL)')));
    });
    const verdicts = judgeRecordedJumpHosts(policy, await new JumpHostRegistry(redis, prefix).recorded());
    report.ok(`recorded jump servers: ${verdicts.stop.length} would stop the start`);
    for (const f of verdicts.forget) report.ok(`jump server ${f.name} ${f.why}: forgotten at the next start`);
    for (const m of verdicts.stop) report.fail(m);
  } catch (err) {
    report.warn(`could not read the recorded jump servers from Redis: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}
