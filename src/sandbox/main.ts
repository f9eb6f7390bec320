// `npm run sandbox`: the whole product on this machine, with a Slack-like web console, in one command.
import { ensureSystemPackages, type SystemNeed } from '../system/ensure-system-packages.ts';
import { startConsoleServer, type ConsoleServer } from './console-server.ts';
import { ENGINEER, PEOPLE, startEnvironment } from './environment.ts';
import { writeSandboxSshConfig } from './ssh-config.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const needs: SystemNeed[] = process.env.REDIS_URL ? ['sshd'] : ['redis', 'sshd'];
  try {
    await ensureSystemPackages(needs, (line) => say(`sandbox: ${line}`));
  } catch (err) {
    process.stderr.write(`sandbox: ${(err as Error).message}\n`);
    process.exit(1);
  }
  say('sandbox: starting redis-server, a jump sshd, two internal sshds, a local Slack API and the broker…');
  const logLines: string[] = [];
  const env = await startEnvironment({
    duration: '2m',
    minDuration: '20s',
    maxDuration: '30m',
    expiryWarning: '1m',
    redisUrl: process.env.REDIS_URL,
    logLevel: process.env.LOG_LEVEL ?? 'info',
    logSink: (l) => logLines.push(l),
  });
  let consoleServer: ConsoleServer | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\nsandbox: ${signal}: stopping and cleaning up ${env.dir}`);
    await consoleServer?.stop().catch(() => undefined);
    await env.stop();
    say('sandbox: stopped; nothing left running');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const ssh = writeSandboxSshConfig(env);
  const reg = await env.sender.command(ENGINEER, `key add ${env.engineerKey.publicKey}`);
  consoleServer = await startConsoleServer(env, { port: Number(process.env.SANDBOX_PORT ?? 3838), connectHint: ssh.command }).catch(() =>
    startConsoleServer(env, { port: 0, connectHint: ssh.command }),
  );
  const pids = [env.redis?.pid, env.jump.pid, env.internal.pid, env.internal2.pid].filter(Boolean).join(',');
  say('');
  say(`jit-jump sandbox is running. Open the console: ${consoleServer.url}`);
  say(`  people: ${Object.values(PEOPLE).join(', ')}; ${PEOPLE[ENGINEER]} has a key registered (${reg.json?.text ?? ''})`);
  say('  try: /jump request internal-1 2m checking the sandbox   (as Erin), then Approve as Olivia or Oscar');
  say(`  ssh config for the sandbox key: ${ssh.path}`);
  say(`  state: ${env.dir} (removed on exit)   processes: ${pids}`);
  say('  stop with Ctrl-C');

  // Echo the moments that matter to the terminal too, so the ssh command can be pasted from here.
  let seen = 0;
  setInterval(() => {
    const calls = env.slack.calls;
    for (; seen < calls.length; seen++) {
      const c = calls[seen]!;
      if (c.method !== 'chat.postMessage' || c.args.channel !== `D${ENGINEER}`) continue;
      const text = String(c.args.text ?? '');
      const granted = /^Access to (\S+) is active until (\S+)\./.exec(text);
      if (granted) say(`\naccess granted to ${granted[1]} until ${granted[2]}; connect with:\n  ${ssh.command(granted[1]!)}`);
      else if (/has expired/.test(text)) say(`\n${text.replace(/[*`]/g, '')} The same ssh command now fails.`);
    }
  }, 300).unref();
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox: failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
