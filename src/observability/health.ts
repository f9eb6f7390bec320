// /healthz, /readyz and /metrics: on Bolt's HTTP receiver in HTTP mode, on a server of their own (HEALTH_PORT)
// in Socket Mode. /healthz says the process answers; /readyz runs every readiness check and answers 503 naming
// the ones that fail; /metrics is the Prometheus text of the broker's registry.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One readiness check: undefined when fine, else why not (one line, no secrets). */
export type ReadinessCheck = () => Promise<string | undefined>;

export interface HealthProbes {
  /** by name; each runs with a deadline, so a hanging dependency makes the check fail, not the probe hang */
  readiness: Record<string, ReadinessCheck>;
  /** reported in /readyz's body without deciding readiness (e.g. each jump server) */
  informational?: () => Promise<Record<string, string>>;
  metrics?: () => Promise<{ body: string; contentType: string }>;
}

const CHECK_DEADLINE_MS = 2_000;

export interface Readiness {
  ready: boolean;
  /** "ok" or the reason, per check */
  checks: Record<string, string>;
  info?: Record<string, string>;
}

export async function readiness(p: HealthProbes): Promise<Readiness> {
  const entries = await Promise.all(
    Object.entries(p.readiness).map(async ([name, check]): Promise<[string, string]> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<string>((r) => (timer = setTimeout(r, CHECK_DEADLINE_MS, `no answer within ${CHECK_DEADLINE_MS / 1000} s`)));
      try {
        const problem = await Promise.race([check().catch((err: unknown) => (err instanceof Error ? err.message : String(err)) || 'failed'), late]);
        return [name, problem ?? 'ok'];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checks = Object.fromEntries(entries);
  const info = await p.informational?.().catch(() => undefined);
  return { ready: entries.every(([, v]) => v === 'ok'), checks, ...(info ? { info } : {}) };
}

export const HEALTH_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** Answers one of HEALTH_PATHS (GET or HEAD). */
export async function answerHealth(p: HealthProbes, path: string, res: ServerResponse): Promise<void> {
  try {
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } else if (path === '/readyz') {
      const r = await readiness(p);
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r));
    } else if (path === '/metrics' && p.metrics) {
      const m = await p.metrics();
      res.writeHead(200, { 'content-type': m.contentType }).end(m.body);
    } else {
      res.writeHead(404).end();
    }
  } catch (err) {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
  }
}

/** The endpoints on a server of their own (Socket Mode): loopback or all interfaces, as `host` says. */
export function startHealthServer(p: HealthProbes, port: number, host?: string): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !(HEALTH_PATHS as readonly string[]).includes(path)) {
      res.writeHead(404).end();
      return;
    }
    void answerHealth(p, path, res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
