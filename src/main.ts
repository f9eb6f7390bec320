#!/usr/bin/env node
// The jit-jump command line (bin/jit-jump.mjs runs it): `start` runs the broker, `sandbox` the whole product locally,
// `check-config` validates the policy and reaches the jump servers, `reconcile --dry-run` and `audit …` (src/cli-usage.ts).
import { parseArgs } from 'node:util';
import { EnvError, readEnv, readRedisEnv, secretValues } from './config/env.ts';
import { loadPolicy, PolicyError } from './config/policy.ts';
import type { Broker } from './broker.ts';
import { commandNamed, commandUsage, groupUsage, mainUsage, optionNames } from './cli-usage.ts';
import { limitHeapGrowth } from './system/heap-tuning.ts';

const OPTIONS = {
  config: { type: 'string' },
  offline: { type: 'boolean' },
  'sshd-config': { type: 'string' },
  'dry-run': { type: 'boolean' },
  since: { type: 'string' },
  until: { type: 'string' },
  format: { type: 'string' },
  checkpoint: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;
type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Help asked for: printed on standard output, exit 0. */
function help(text: string): number {
  console.log(text);
  return 0;
}

/** A usage error: the message and the usage to print on standard error, exit 2. */
function usageError(message: string, usage: string): number {
  console.error(`jit-jump: ${message}\n\n${usage}`);
  return 2;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (err) {
    // An unknown option, or a value missing after one: node:util says which.
    const words = process.argv.slice(2).filter((w) => !w.startsWith('-'));
    const c = commandNamed(words);
    return usageError(err instanceof Error ? err.message : String(err), c ? commandUsage(c) : mainUsage());
  }
  const { positionals, values } = parsed;
  const command = commandNamed(positionals);
  if (!command) {
    if (positionals.length === 0) {
      if (values.help) return help(mainUsage());
      return usageError('name a command', mainUsage());
    }
    const group = groupUsage(positionals[0]!);
    if (group) return values.help && positionals.length === 1 ? help(group) : usageError(positionals[1] ? `unknown command "${positionals.join(' ')}"` : `say which ${positionals[0]} command`, group);
    return usageError(`unknown command "${positionals[0]}"`, mainUsage());
  }
  if (values.help) return help(commandUsage(command));
  const foreign = Object.keys(values).filter((o) => !optionNames(command).has(o));
  if (foreign.length > 0) return usageError(`${command.name} does not take --${foreign[0]}`, commandUsage(command));
  const operands = positionals.slice(command.name.split(' ').length);
  if (operands.length > (command.operands ?? 0)) return usageError(`${command.name}: unexpected argument "${operands[command.operands ?? 0]}"`, commandUsage(command));
  return run(command.name, positionals, values);
}

/** Runs a command whose options were checked against its usage. Each loads its own modules, so that help and
 *  usage errors answer at once (Bolt, BullMQ and ssh2 take seconds to load on a busy machine). */
async function run(name: string, positionals: string[], values: Values): Promise<number> {
  // An empty JIT_CONFIG means unset (a compose file that declares the variable without a value).
  const policyPath = values.config || process.env.JIT_CONFIG || './jit.config.yaml';
  switch (name) {
    case 'check-config': {
      // With REDIS_URL set it also checks the jump servers the broker wrote to, as `start` does.
      const { checkConfig } = await import('./check-config.ts');
      return checkConfig(policyPath, {
        offline: values.offline ?? false,
        print: (l) => console.log(l),
        redisUrl: process.env.REDIS_URL || undefined,
        sshdConfigPath: values['sshd-config'],
      });
    }
    case 'reconcile': {
      if (!values['dry-run']) {
        console.error('jit-jump: the running brokers reconcile every reconcileInterval by themselves; use `reconcile --dry-run` to see what the next one would change');
        return 2;
      }
      const { REDIS_URL } = readRedisEnv(process.env);
      const { reconcileDryRun } = await import('./reconcile-dry-run.ts');
      return reconcileDryRun({ redisUrl: REDIS_URL, policy: loadPolicy(policyPath), print: (t) => console.log(t) });
    }
    case 'sandbox':
      // The sandbox runs on import and ends the process itself (on Ctrl-C, SIGTERM or SIGHUP).
      await import('./sandbox/main.ts');
      return -1;
    case 'start':
      return start(policyPath);
    default:
      return audit(positionals, values, policyPath);
  }
}

/** `jit-jump audit export | verify | standing` (main made sure it is one of them): the audit trail out of Redis, its proof, and who holds standing access. */
async function audit(positionals: string[], values: { since?: string; until?: string; format?: string; checkpoint?: string[] }, policyPath: string): Promise<number> {
  const { auditExport, auditVerify } = await import('./audit/audit-cli.ts');
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
  const { auditStanding } = await import('./audit-standing.ts');
  return auditStanding({ policyPath, args: positionals.slice(2), print: (t) => console.log(t), error: (l) => console.error(l) });
}

/** Standard output with backpressure: an export of years goes through a pipe without piling up in memory. */
function writeOut(text: string): Promise<void> | void {
  if (process.stdout.write(text)) return;
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/** `jit-jump start`: runs until SIGTERM or SIGINT; SIGHUP reads the policy file again. */
async function start(policyPath: string): Promise<number> {
  limitHeapGrowth();
  const env = readEnv({ ...process.env, JIT_CONFIG: policyPath });
  const policy = loadPolicy(env.JIT_CONFIG);
  const [{ createLogger }, { privateKeyLines }, { startBroker }] = await Promise.all([import('./logger.ts'), import('./jumphost/private-key-file.ts'), import('./broker.ts')]);
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

