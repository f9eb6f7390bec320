#!/usr/bin/env node
// jit-jump command line: `start` runs the broker, `check-config` validates the policy and reaches the jump servers.
import { parseArgs } from 'node:util';
import { EnvError, readEnv, readRedisEnv, secretValues } from './config/env.ts';
import { loadPolicy, PolicyError } from './config/policy.ts';
import { privateKeyLines } from './jumphost/private-key-file.ts';
import { startBroker, type Broker } from './broker.ts';
import { checkConfig } from './check-config.ts';
import { createLogger } from './logger.ts';
import { reconcileDryRun } from './reconcile-dry-run.ts';
import { auditExport, auditVerify } from './audit/audit-cli.ts';
import { auditStanding } from './audit-standing.ts';

const USAGE = `usage: jit-jump <command>

commands:
  start              run the broker (environment and JIT_CONFIG as in the README); SIGHUP or a change
                     of the policy file reloads the policy, SIGTERM stops it
  check-config       validate the policy, the broker's keys and reach every jump server
                     (with REDIS_URL set: also the jump servers the broker wrote to, as start checks them)
  reconcile --dry-run  print what the next reconcile would change on every jump server (needs REDIS_URL);
                     the brokers reconcile by themselves every reconcileInterval
  audit export --since ISO [--until ISO] [--format jsonl|csv]
                     write the audit events stored in that window to standard output (needs REDIS_URL);
                     jsonl carries each event's hash chain fields, csv is for spreadsheets
  audit verify FILE [--checkpoint SEQ:HASH ...]
                     check an exported jsonl file: exit 0 when the chain is intact and passes through every
                     checkpoint posted in the audit channel, 1 naming the first bad event
  audit standing     list every key that can log in to a jump account outside the managed block (the
                     broker's own excepted): exit 0 when there is none, 1 when any (or a server was not read)
options:
  --config PATH   policy file (default: $JIT_CONFIG or ./jit.config.yaml)
  --offline       check-config without connecting to the jump servers
  --sshd-config PATH  check-config: the jump server's sshd configuration to read over SFTP (default /etc/ssh/sshd_config)
  --dry-run       reconcile: change nothing, print the plan`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      offline: { type: 'boolean' },
      'sshd-config': { type: 'string' },
      'dry-run': { type: 'boolean' },
      since: { type: 'string' },
      until: { type: 'string' },
      format: { type: 'string' },
      checkpoint: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  // An empty JIT_CONFIG means unset (a compose file that declares the variable without a value).
  const policyPath = values.config || process.env.JIT_CONFIG || './jit.config.yaml';
  if (command === 'check-config') {
    // With REDIS_URL set it also checks the jump servers the broker wrote to, as `start` does.
    return checkConfig(policyPath, {
      offline: values.offline ?? false,
      print: (l) => console.log(l),
      redisUrl: process.env.REDIS_URL || undefined,
      sshdConfigPath: values['sshd-config'],
    });
  }
  if (command === 'reconcile') {
    if (!values['dry-run']) {
      console.error('jit-jump: the running brokers reconcile every reconcileInterval by themselves; use `reconcile --dry-run` to see what the next one would change');
      return 2;
    }
    const { REDIS_URL } = readRedisEnv(process.env);
    return reconcileDryRun({ redisUrl: REDIS_URL, policy: loadPolicy(policyPath), print: (t) => console.log(t) });
  }
  if (command === 'audit') return audit(positionals, values, policyPath);
  if (command !== 'start') {
    console.error(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  return start(policyPath);
}

/** `jit-jump audit export | verify | standing`: the audit trail out of Redis, its proof, and who holds standing access. */
async function audit(positionals: string[], values: { since?: string; until?: string; format?: string; checkpoint?: string[] }, policyPath: string): Promise<number> {
  if (positionals[1] === 'export') {
    const { REDIS_URL } = readRedisEnv(process.env);
    return auditExport({
      redisUrl: REDIS_URL,
      since: values.since,
      until: values.until,
      format: values.format,
      write: (text) => writeOut(text),
      error: (line) => console.error(line),
    });
  }
  if (positionals[1] === 'verify') {
    return auditVerify({ file: positionals[2], checkpoints: values.checkpoint ?? [], print: (l) => console.log(l), error: (l) => console.error(l) });
  }
  if (positionals[1] === 'standing') return auditStanding({ policyPath, args: positionals.slice(2), print: (t) => console.log(t), error: (l) => console.error(l) });
  console.error(`jit-jump audit: say export, verify or standing\n\n${USAGE}`);
  return 2;
}

/** Standard output with backpressure: an export of years goes through a pipe without piling up in memory. */
function writeOut(text: string): Promise<void> | void {
  if (process.stdout.write(text)) return;
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/** `jit-jump start`: runs until SIGTERM or SIGINT; SIGHUP reads the policy file again. */
async function start(policyPath: string): Promise<number> {
  const env = readEnv({ ...process.env, JIT_CONFIG: policyPath });
  const policy = loadPolicy(env.JIT_CONFIG);
  const logger = createLogger({
    level: env.LOG_LEVEL,
    secrets: [...secretValues(env), ...policy.jumpHosts.flatMap((jh) => privateKeyLines(jh.privateKeyPath))],
  });
  // The broker also reloads when the file changes. A SIGHUP while the broker starts is answered once it runs
  // (without a handler, SIGHUP would end the process).
  let running: Broker | undefined;
  let hupWhileStarting = false;
  process.on('SIGHUP', () => (running ? running.policy.reload('SIGHUP') : (hupWhileStarting = true)));
  const broker = await startBroker({ env, policy, policyPath: env.JIT_CONFIG, logger });
  running = broker;
  if (hupWhileStarting) broker.policy.reload('SIGHUP');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Bounded: a stuck connection must not keep the process (and the deploy) hanging.
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    broker.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return -1; // keep running
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof PolicyError || err instanceof EnvError) console.error(`jit-jump: ${err.message}`);
    else console.error('jit-jump: failed to start:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

