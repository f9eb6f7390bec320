// Environment: the names are part of the interface contract (DESIGN.md). Each secret may come from a file
// named by the same variable plus _FILE (Docker/Kubernetes secrets).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseRedisUrl, redisSecrets, RedisUrlError } from '../store/redis-connection.ts';

// REDIS_URL counts: it may carry the Redis password.
const SECRETS = ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'REDIS_URL'] as const;

const envSchema = z.object({
  SLACK_BOT_TOKEN: z.string({ error: 'is required (the bot token, xoxb-…)' }).min(1, 'is required (the bot token, xoxb-…)'),
  SLACK_SIGNING_SECRET: z
    .string({ error: 'is required (Basic Information → Signing Secret)' })
    .min(1, 'is required (Basic Information → Signing Secret)'),
  SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
  SLACK_API_URL: z.url().optional(),
  // One server, a Sentinel set or a Cluster (see redis-connection.ts). The message never repeats the value:
  // it may hold a password.
  REDIS_URL: z
    .string()
    .superRefine((url, ctx) => {
      try {
        parseRedisUrl(url);
      } catch (err) {
        if (!(err instanceof RedisUrlError)) throw err;
        ctx.addIssue({ code: 'custom', message: err.message });
      }
    })
    .default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Socket Mode has no HTTP server of its own: /healthz, /readyz and /metrics listen here (0: not at all).
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  JIT_CONFIG: z.string().min(1).default('./jit.config.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.output<typeof envSchema>;

/** Every variable the broker reads: the schema's, and the _FILE form of each secret (deploy recipes are checked against it). */
export const ENV_NAMES: readonly string[] = [...Object.keys(envSchema.shape), ...SECRETS.map((name) => `${name}_FILE`)];

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

/** The variables with each unset secret read from its <NAME>_FILE, and empty values made unset. */
function withSecretFiles(source: NodeJS.ProcessEnv, names: readonly string[] = SECRETS): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = { ...source };
  for (const name of names) {
    const file = source[`${name}_FILE`];
    if (file && !source[name]) {
      try {
        values[name] = readFileSync(file, 'utf8').trim();
      } catch (err) {
        throw new EnvError(`${name}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
  }
  for (const k of Object.keys(values)) if (values[k] === '') values[k] = undefined;
  return values;
}

/** The secret values of the environment, for the logger to scrub wherever they appear: tokens and Redis passwords. */
export function secretValues(env: Env): string[] {
  return [env.SLACK_BOT_TOKEN, env.SLACK_SIGNING_SECRET, env.SLACK_APP_TOKEN ?? '', ...redisSecrets(env.REDIS_URL)].filter((s) => s !== '');
}

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(withSecretFiles(source));
  if (result.success) return result.data;
  throw new EnvError(
    `environment is invalid:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
  );
}

/** Only what tools that read the store need (reconcile --dry-run): no Slack secrets. */
export function readRedisEnv(source: NodeJS.ProcessEnv = process.env): Pick<Env, 'REDIS_URL'> {
  const result = envSchema.pick({ REDIS_URL: true }).safeParse({ REDIS_URL: withSecretFiles(source, ['REDIS_URL']).REDIS_URL });
  if (result.success) return result.data;
  throw new EnvError(`environment is invalid:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
}
