// Where the time of one approval goes: every Redis command (MONITOR) between the Approve click and the key line
// on the jump server, with its offset from the click. `npx tsx bench/trace-approve.ts [rounds]`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { generateUserKey } from '../src/sandbox/sshd-process.ts';
import { addKey, approveTimed, benchEnvironment, request, revoke } from './grants.ts';
import { KeysWatch } from './keys-watch.ts';

const rounds = Number(process.argv[2] ?? 10);
// When the broker's HTTP server sees each request, and when its answer is sent (same process).
const http = await import('node:http');
let marks: string[] = [];
const origEmit = http.Server.prototype.emit;
http.Server.prototype.emit = function (this: unknown, event: string, ...args: unknown[]) {
  if (event === 'request') {
    const [req, res] = args as [{ url?: string }, { on(e: string, f: () => void): void }];
    const t = performance.timeOrigin + performance.now();
    marks.push(`${t} request ${req.url}`);
    res.on('finish', () => marks.push(`${performance.timeOrigin + performance.now()} answered ${req.url}`));
  }
  return (origEmit as (...a: unknown[]) => boolean).call(this, event, ...args);
} as typeof origEmit;
const env = await benchEnvironment();
const watch = new KeysWatch(env.jump.authorizedKeysPath);
// Spans of the broker's own steps (same process): wrapped instance methods.
function span(obj: Record<string, unknown>, name: string, label: string): void {
  const orig = obj[name] as (...a: unknown[]) => Promise<unknown>;
  obj[name] = async function (this: unknown, ...a: unknown[]) {
    marks.push(`${performance.timeOrigin + performance.now()} >${label}`);
    try {
      return await orig.apply(this, a);
    } finally {
      marks.push(`${performance.timeOrigin + performance.now()} <${label}`);
    }
  };
}
// The event loop held up: a 1 ms timer that came late says when, and for how long.
let lastTick = performance.now();
setInterval(() => {
  const t = performance.now();
  if (t - lastTick > 2.5) marks.push(`${performance.timeOrigin + lastTick} blocked ${(t - lastTick).toFixed(1)} ms`);
  lastTick = t;
}, 1).unref();
const b = env.broker as unknown as Record<string, Record<string, unknown>>;
span(b.requests!, 'approve', 'store.approve');
span(b.requests!, 'withActivationLease', 'lease');
span(b.requests!, 'get', 'get');
span(b.sync!, 'sync', 'sync');
const mon = spawn('redis-cli', ['-u', env.redisUrl, 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
let log: { t: number; args: string[] }[] = [];
createInterface({ input: mon.stdout }).on('line', (l) => {
  const m = /^([\d.]+) \[[^\]]*\] (.*)$/.exec(l);
  if (m) log.push({ t: Number(m[1]) * 1000, args: [m[2]!.slice(0, 160)] });
});
const seen = new Set<string>();
const now = () => performance.timeOrigin + performance.now();
for (let i = 0; i < rounds; i++) {
  const user = `U0TRACE${i}`;
  const key = generateUserKey(env.dir, `trace_${i}`);
  await addKey(env, user, key.publicKey);
  const msg = await request(env, user, 'internal-2 10m trace', seen);
  await new Promise((r) => setTimeout(r, 300));
  log = [];
  marks = [];
  const { sent, answered: acked } = approveTimed(env, msg);
  const clicked = performance.timeOrigin + sent;
  const line = (await watch.present(msg.id)).mono + performance.timeOrigin - clicked;
  await acked;
  const ackAt = now() - clicked;
  await new Promise((r) => setTimeout(r, 300));
  console.log(`\n=== round ${i}: line at ${line.toFixed(1)} ms, ack seen ${ackAt.toFixed(1)} ms; ${log.filter((e) => e.t - clicked <= line).length} commands before the line`);
  if (i === rounds - 1 || process.env.ALL)
    for (const m of marks) { const [t, ...rest] = m.split(' '); log.push({ t: Number(t), args: ['** ' + rest.join(' ')] }); }
  log.sort((a, b) => a.t - b.t);
  if (i === rounds - 1 || process.env.ALL)
    for (const e of log) console.log(`${(e.t - clicked).toFixed(2).padStart(8)} ${e.args[0]}`);
  await revoke(env, user, msg.id);
  await watch.gone(msg.id);
}
watch.close();
mon.kill();
await env.stop();
process.exit(0);
