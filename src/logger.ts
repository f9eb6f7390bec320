// Structured logs. Secrets are redacted by path wherever they could appear, and by value as a last resort.
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'privateKey',
  'password',
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.privateKey',
  '*.password',
  'headers.authorization',
  '*.headers.authorization',
  'env.SLACK_BOT_TOKEN',
  'env.SLACK_SIGNING_SECRET',
  'env.SLACK_APP_TOKEN',
];

export function createLogger(opts: { level?: string; secrets?: readonly string[]; destination?: pino.DestinationStream } = {}): Logger {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 8);
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join('[REDACTED]'), text);
  return pino(
    {
      level: opts.level ?? 'info',
      base: { app: 'jit-jump' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      // A secret inside an error message or a URL is not at a known path: scrub the serialized line.
      ...(secrets.length ? { hooks: { streamWrite: scrub } } : {}),
    },
    opts.destination ?? pino.destination(1),
  );
}
