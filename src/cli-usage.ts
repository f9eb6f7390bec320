// What `jit-jump --help` and `jit-jump <command> --help` print, and the options each command takes: one table,
// so that the help, the option check and the README's exit codes cannot drift apart.

export interface CommandHelp {
  /** the words after `jit-jump`, e.g. `audit export` */
  name: string;
  /** what follows the name in the usage line */
  synopsis: string;
  /** one line, for the list of commands */
  summary: string;
  /** what it does, in a few lines */
  about: string;
  /** how many words may follow the name (audit verify: its FILE); default none */
  operands?: number;
  /** `--flag VALUE` → what it means; the flags a command takes are exactly these (and --help) */
  options: [flag: string, text: string][];
  exits: [code: number, text: string][];
}

const CONFIG: [string, string] = ['--config PATH', 'policy file (default: $JIT_CONFIG or ./jit.config.yaml)'];
const USAGE_ERROR: [number, string] = [2, 'usage error: an unknown option, a missing or stray argument (the usage is printed)'];

export const COMMANDS: readonly CommandHelp[] = [
  {
    name: 'start',
    synopsis: '[--config PATH]',
    summary: 'run the broker',
    about: `Runs the broker with the environment of the README (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, REDIS_URL, …;
SLACK_APP_TOKEN for Socket Mode). At start it checks the policy, the broker's key files, Slack and Redis, and
names what is wrong in one line. SIGHUP or a change of the policy file reloads the policy; SIGTERM or SIGINT
stops it after the work in flight (15 s at most).`,
    options: [CONFIG],
    exits: [
      [0, 'stopped by SIGTERM or SIGINT after a clean shutdown'],
      [1, 'did not start (policy, environment, key file, a token Slack refuses) or did not stop cleanly within 15 s'],
      USAGE_ERROR,
    ],
  },
  {
    name: 'sandbox',
    synopsis: '',
    summary: 'the whole product on this machine with a Slack-like web console (no Slack account needed)',
    about: `Starts redis-server, a jump sshd, an internal sshd, a local fake of Slack and the broker, and prints the URL
of a web console that plays Slack, and the sandbox engineer's first command (/jump key add with a generated key).
SANDBOX_PORT (default 3838; 0: any free port; a chosen port in use stops the start at once) and SANDBOX_DURATION
(default 2m) change it. Ctrl-C, SIGTERM (also to npm run alone), a closed terminal or the end of the process
that started it stops everything and removes its temp dir.`,
    options: [],
    exits: [
      [0, 'stopped by Ctrl-C, SIGTERM or SIGHUP; nothing left running'],
      [1, 'could not start (a missing system package, a busy SANDBOX_PORT) or did not stop within 20 s'],
      USAGE_ERROR,
    ],
  },
  {
    name: 'check-config',
    synopsis: '[--config PATH] [--offline] [--sshd-config PATH]',
    summary: "validate the policy and the broker's keys, and reach every jump server",
    about: `Validates the policy (naming the exact field), the broker's private key files, then connects to every jump
server: pinned host key, OpenSSH version, the sshd forwarding hardening. With REDIS_URL set it also checks the
jump servers the broker wrote to, as start does. Each problem is printed once, with how to fix it.`,
    options: [
      CONFIG,
      ['--offline', 'do not connect to the jump servers'],
      ['--sshd-config PATH', "the jump server's sshd configuration to read over SFTP (default /etc/ssh/sshd_config)"],
    ],
    exits: [
      [0, 'no error (warnings may be printed)'],
      [1, 'at least one error, each on its own line'],
      USAGE_ERROR,
    ],
  },
  {
    name: 'reconcile',
    synopsis: '--dry-run [--config PATH]',
    summary: 'print what the next reconcile would change on every jump server',
    about: `Reads the active grants from Redis (REDIS_URL) and every jump server's managed block, and prints what the
next reconcile would change. It changes nothing: the running brokers reconcile by themselves every
reconcileInterval.`,
    options: [['--dry-run', 'required: change nothing, print the plan'], CONFIG],
    exits: [
      [0, 'the plan was printed'],
      [1, "a jump server's block could not be read, or Redis or the policy failed"],
      [2, 'usage error, or --dry-run missing'],
    ],
  },
  {
    name: 'audit export',
    synopsis: '--since ISO [--until ISO] [--format jsonl|csv]',
    summary: 'write the audit events stored in a time window to standard output',
    about: `Writes the audit events stored in Redis (REDIS_URL) from --since to --until (default: now) to standard
output. jsonl (the default) carries each event's hash chain fields for \`audit verify\`; csv is for spreadsheets.`,
    options: [
      ['--since ISO', 'first instant, ISO 8601 (a date alone is midnight UTC); required'],
      ['--until ISO', 'last instant (default: now)'],
      ['--format jsonl|csv', 'output format (default jsonl)'],
    ],
    exits: [
      [0, 'the events were written'],
      [1, 'Redis failed'],
      [2, 'usage error: --since missing, a time that is not ISO 8601, --until before --since, another format'],
    ],
  },
  {
    name: 'audit verify',
    synopsis: 'FILE [--checkpoint SEQ:HASH ...]',
    operands: 1,
    summary: "check an exported audit file's hash chain",
    about: `Checks a jsonl export: every event's hash, the chain from one event to the next, and that the chain passes
through every checkpoint given (the <seq>:<hash> pairs posted in the audit channel).`,
    options: [['--checkpoint SEQ:HASH', 'a checkpoint from the audit channel; may be repeated']],
    exits: [
      [0, 'the chain is intact and passes through every checkpoint'],
      [1, 'the first bad event is named'],
      [2, 'usage error: no FILE, an unreadable file, a CSV export, a malformed checkpoint'],
    ],
  },
  {
    name: 'audit standing',
    synopsis: '[--config PATH]',
    summary: 'list the keys that can log in to a jump account outside the managed block',
    about: `Reads every jump server's authorized_keys as sshd reads it and lists each key outside the managed block
(the broker's own excepted): jump server, fingerprint, type, line, comment and options.`,
    options: [CONFIG],
    exits: [
      [0, 'no such key'],
      [1, 'at least one key, or a jump server could not be read'],
      [2, 'usage error: a stray argument'],
    ],
  },
];

/** The command that `words` (positionals after `jit-jump`) name: the longest name they start with. */
export function commandNamed(words: readonly string[]): CommandHelp | undefined {
  return COMMANDS.filter((c) => c.name.split(' ').every((w, i) => words[i] === w)).sort((a, b) => b.name.length - a.name.length)[0];
}

/** The parseArgs names of the options a command takes (`--sshd-config PATH` → `sshd-config`), plus help. */
export function optionNames(command: CommandHelp): Set<string> {
  return new Set(['help', ...command.options.map(([flag]) => flag.split(' ')[0]!.replace(/^--/, ''))]);
}

const table = (rows: [string | number, string][]) => {
  const width = Math.max(...rows.map(([k]) => String(k).length));
  return rows.map(([k, v]) => `  ${String(k).padEnd(width)}  ${v}`).join('\n');
};

/** `jit-jump --help`: every command, one line each, and the exit codes they share. */
export function mainUsage(): string {
  return `usage: jit-jump <command> [options]

commands:
${table(COMMANDS.map((c) => [c.name, c.summary]))}

\`jit-jump <command> --help\` shows a command's options and exit codes.

exit codes:
${table([
  [0, 'done; nothing wrong found'],
  [1, 'a problem found or a failure (named in the output)'],
  USAGE_ERROR,
])}`;
}

/** `jit-jump <command> --help`. */
export function commandUsage(c: CommandHelp): string {
  return `usage: jit-jump ${c.name}${c.synopsis ? ` ${c.synopsis}` : ''}

${c.about}

options:
${table([...c.options, ['-h, --help', 'print this help']])}

exit codes:
${table(c.exits)}`;
}

/** `jit-jump audit --help`: the three audit commands. */
export function groupUsage(group: string): string | undefined {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  if (members.length === 0) return undefined;
  return `usage: jit-jump ${group} <${members.map((c) => c.name.slice(group.length + 1)).join('|')}> [options]

${table(members.map((c) => [c.name, c.summary]))}

\`jit-jump ${group} <command> --help\` shows a command's options and exit codes.`;
}
