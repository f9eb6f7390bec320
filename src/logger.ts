// Structured logs. Secrets are redacted by path wherever they could appear, by value (the configured secrets),
// and by shape (Slack tokens, private keys) as a last resort on every serialized line.
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/** The ids of the work in progress (request, grant, job, jump server, Slack user): on every line it logs. */
const workFields = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs `work` with these fields added to every log line written inside it, awaited work included. */
export function withLogFields<T>(fields: Record<string, unknown>, work: () => T): T {
  return workFields.run({ ...workFields.getStore(), ...fields }, work);
}

/** Runs `work` with only these fields: work shared by many callers (a coalesced sync) must not carry the id
 *  of whichever caller happened to start it. */
export function withOnlyLogFields<T>(fields: Record<string, unknown>, work: () => T): T {
  return workFields.run(fields, work);
}

export const REDACT_PATHS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'privateKey',
  'password',
  'secret',
  'keyText',
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.privateKey',
  '*.password',
  '*.secret',
  '*.keyText',
  'headers.authorization',
  'headers.Authorization',
  'headers["x-slack-signature"]',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers["x-slack-signature"]',
  // @slack/web-api and axios errors carry the request they made, bearer token included
  'err.config.headers.Authorization',
  'err.config.headers.authorization',
  'err.original.config.headers.Authorization',
  'err.original.config.headers.authorization',
  'err.request.headers.authorization',
  'env.SLACK_BOT_TOKEN',
  'env.SLACK_SIGNING_SECRET',
  'env.SLACK_APP_TOKEN',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
];

// Slack tokens (bot, user, app, config, refresh) and private key armour or bodies, in any log line.
const SECRET_SHAPES: readonly RegExp[] = [
  /\bxox[abposre]-[A-Za-z0-9-]{8,}/g,
  /\bxapp-[A-Za-z0-9-]{8,}/g,
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|(?="|$))/g,
  /b3BlbnNzaC1rZXktdjEA[A-Za-z0-9+/=\\]*/g,
];

/** Removes the given secrets and anything shaped like a token or private key from a text. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = secrets.filter((s) => s.length >= 8).reduce((t, s) => t.split(s).join('[REDACTED]'), text);
  for (const shape of SECRET_SHAPES) out = out.replace(shape, '[REDACTED]');
  return out;
}

/**
 * JSON lines for log collectors; readable colored lines when standard output is a terminal (a person trying it)
 * and no destination is given. `pretty` forces either.
 */
export function createLogger(opts: { level?: string; secrets?: readonly string[]; destination?: pino.DestinationStream; pretty?: boolean } = {}): Logger {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 8);
  const human = opts.pretty ?? (!opts.destination && process.stdout.isTTY === true);
  return pino(
    {
      level: opts.level ?? 'info',
      base: { app: 'jit-jump' },
      mixin: () => workFields.getStore() ?? {},
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      // A secret inside an error message or a URL is not at a known path: scrub the serialized line.
      hooks: { streamWrite: (line) => scrubSecrets(line, secrets) },
    },
    opts.destination ?? (human ? pretty({ colorize: process.stdout.isTTY === true, sync: true, ignore: 'pid,hostname,app', translateTime: 'SYS:HH:MM:ss.l' }) : pino.destination(1)),
  );
}
