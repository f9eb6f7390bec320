// `npm run sandbox`: the whole product on this machine, with a Slack-like web console, in one command.
// Ctrl-C (SIGINT), SIGTERM, a closed terminal (SIGHUP) or the end of the process that started it stops
// everything and removes the temp dir.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSystemPackages, type SystemNeed } from '../system/ensure-system-packages.ts';
import { listenConsole, type ConsoleListener, type ConsoleServer } from './console-server.ts';
import { ENGINEER, PEOPLE, startEnvironment, type Environment } from './environment.ts';
import { endedLine, readGrantNotice } from './grant-notice.ts';
import { writeSandboxSshConfig } from './ssh-config.ts';
import { keyAddSuggestion, requestSuggestion } from './suggestions.ts';

const DEFAULT_CONSOLE_PORT = 3838;
/** A clean stop takes about a second; past this something hangs, and the sandbox kills what it started. */
const STOP_DEADLINE_MS = 20_000;

// A closed terminal (SIGHUP) or a reader gone away must not turn the clean-up into a crash on EPIPE/EIO.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string): never => {
  process.stderr.write(`sandbox: ${line}\n`);
  process.exit(1);
};

/** The sandbox's knobs, from the environment (the tests use short durations and any free port). */
function sandboxOptions(e: NodeJS.ProcessEnv) {
  const port = e.SANDBOX_PORT === undefined ? undefined : Number(e.SANDBOX_PORT);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) fail(`SANDBOX_PORT must be a port number (0: any free port), not ${JSON.stringify(e.SANDBOX_PORT)}`);
  return {
    port,
    duration: e.SANDBOX_DURATION ?? '2m',
    minDuration: e.SANDBOX_MIN_DURATION ?? '20s',
    maxDuration: e.SANDBOX_MAX_DURATION ?? '30m',
    // A 2m grant gets its warning after 1m30s: the broker warns only when the grant is over twice as long.
    expiryWarning: e.SANDBOX_EXPIRY_WARNING ?? '30s',
  };
}

/**
 * Holds the console port before anything starts, so that a busy port is reported at once. The default port,
 * when taken (another sandbox?), gives way to any free one; a port the person chose does not.
 */
async function holdConsolePort(chosen: number | undefined): Promise<ConsoleListener> {
  const port = chosen ?? DEFAULT_CONSOLE_PORT;
  try {
    return await listenConsole(port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (chosen === undefined && code === 'EADDRINUSE') return listenConsole(0);
    const why = code === 'EADDRINUSE' ? 'is in use' : `cannot be opened (${code ?? (err as Error).message})`;
    return fail(`console port ${port} ${why}: choose another with SANDBOX_PORT=<port> (SANDBOX_PORT=0: any free port)`);
  }
}

let env: Environment | undefined;
let dir: string | undefined;
let stopping: string | undefined;

async function main(): Promise<void> {
  const options = sandboxOptions(process.env);
  let consoleServer: ConsoleServer | undefined;

  const stop = async (signal: string) => {
    if (!env || !dir) return; // still starting: stopped as soon as the start finishes (below)
    say(`\nsandbox: ${signal}: stopping and removing ${dir}`);
    setTimeout(() => {
      rmSync(dir!, { recursive: true, force: true });
      fail(`did not stop within ${STOP_DEADLINE_MS / 1000} s; killed what it started and removed ${dir}`); // the exit hook kills the servers
    }, STOP_DEADLINE_MS).unref();
    await consoleServer?.stop().catch(() => undefined);
    await env.stop();
    say('sandbox: stopped; nothing left running');
    process.exit(0);
  };
  // Installed before anything starts, so that Ctrl-C during start-up still cleans up.
  const stopFor = (why: string) => {
    if (stopping) return;
    stopping = why;
    void stop(why);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stopFor(signal));
  // `npm run` runs the sandbox through `sh -c`, and npm passes a SIGTERM to that shell only: the shell dies and
  // the sandbox, orphaned, would run on. A new parent process id is that moment (or any wrapper's end).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stopFor(`the process that started it (${parent}) is gone`);
  }, 200).unref();

  const listener = await holdConsolePort(options.port);

  const needs: SystemNeed[] = process.env.REDIS_URL ? ['sshd'] : ['redis', 'sshd'];
  try {
    await ensureSystemPackages(needs, (line) => say(`sandbox: ${line}`));
  } catch (err) {
    fail((err as Error).message);
  }
  if (stopping) process.exit(0);
  dir = mkdtempSync(join(tmpdir(), 'jit-sandbox-'));
  say(`sandbox: starting redis-server, a jump sshd, two internal sshds, a local Slack API and the broker in ${dir}…`);
  const early: string[] = [];
  let logFile: string | undefined;
  env = await startEnvironment({
    dir,
    duration: options.duration,
    minDuration: options.minDuration,
    maxDuration: options.maxDuration,
    expiryWarning: options.expiryWarning,
    redisUrl: process.env.REDIS_URL,
    logLevel: process.env.LOG_LEVEL ?? 'info',
    logSink: (line) => (logFile ? appendFileSync(logFile, line) : early.push(line)),
    // Ctrl-C signals the terminal's whole process group: redis-server and sshd must outlive the broker's stop.
    ownProcessGroups: true,
  });
  logFile = join(dir, 'broker.log');
  appendFileSync(logFile, early.join(''));
  if (stopping) return stop(stopping);

  const ssh = writeSandboxSshConfig(env);
  consoleServer = listener.serve(env, { connectHint: ssh.command, duration: options.duration });
  const moved = options.port === undefined && !consoleServer.url.endsWith(`:${DEFAULT_CONSOLE_PORT}/`);

  const servers = [
    ...(env.redis ? [`redis-server ${env.redis.pid}`] : []),
    `jump sshd ${env.jump.pid}`,
    `internal-1 sshd ${env.internal.pid}`,
    `internal-2 sshd ${env.internal2.pid}`,
  ];
  say('');
  say(`jit-jump sandbox is running. Open the console: ${consoleServer.url}`);
  if (moved) say(`  (port ${DEFAULT_CONSOLE_PORT} was taken, perhaps by another sandbox; SANDBOX_PORT=<port> picks the port)`);
  say(`  people: ${Object.values(PEOPLE).join(', ')}; Erin holds the sandbox key`);
  say('  try: as Erin, register the sandbox key (the first suggestion in the console):');
  say(`    ${keyAddSuggestion(env.engineerKey.publicKey)}`);
  say(`  then send ${requestSuggestion(options.duration)}, switch to Olivia and click Approve`);
  say(`  ssh config for the sandbox key: ${ssh.path}`);
  say(`  temp dir: ${dir} (removed on exit; broker log: ${logFile})`);
  say(`  processes: ${servers.join(', ')}; the broker runs in this process (${process.pid})`);
  say('  stop with Ctrl-C');

  // Echo the moments that matter to the terminal too, so the ssh command can be pasted from here: the
  // engineer's grants (their connect DMs), and each one's end however the broker said it (posts and updates).
  const granted = new Set<string>();
  let seen = 0;
  setInterval(() => {
    const calls = env!.slack.calls;
    for (; seen < calls.length; seen++) {
      const c = calls[seen]!;
      if (c.error || (c.method !== 'chat.postMessage' && c.method !== 'chat.update')) continue;
      const notice = readGrantNotice(c.args);
      if (notice?.kind === 'granted' && c.args.channel === `D${ENGINEER}` && !granted.has(notice.requestId)) {
        granted.add(notice.requestId);
        say(`\nsandbox: access granted to ${notice.host} until ${notice.until}; connect with:\n  ${ssh.command(notice.host)}`);
      }
      if (notice?.kind === 'ended' && granted.delete(notice.requestId)) say(`\nsandbox: ${endedLine(notice)}`);
    }
  }, 250).unref();
}

main().catch(async (err: unknown) => {
  // Ctrl-C during start-up also reaches the tools it runs (ssh-keygen), so the start fails, possibly before
  // our own SIGINT handler has had its turn: let it run, then a failed start after a stop request is a stop.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await env?.stop().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (stopping) {
    say(`\nsandbox: ${stopping} while starting: stopped and removed ${dir ?? 'nothing'}; nothing left running`);
    process.exit(0);
  }
  fail(`failed to start: ${(err as Error).message}`);
});
