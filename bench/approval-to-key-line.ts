// How fast access feels: the time from an owner's Approve click (a signed HTTP request to the real broker)
// to the key line standing in the real jump sshd's authorized_keys, and from `/jump revoke` to the line gone.
// Everything is real (redis-server, OpenSSH, the broker's HTTP endpoint) except Slack, which is the local fake.
// Run: node_modules/.bin/tsx bench/approval-to-key-line.ts [iterations]
import { generateUserKey } from '../src/sandbox/sshd-process.ts';
import { findButton } from '../src/sandbox/slack-sender.ts';
import { OWNER, startEnvironment } from '../src/sandbox/environment.ts';

const iterations = Number(process.argv[2] ?? 100);

function stats(name: string, samples: number[]): void {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
  console.log(`${name.padEnd(40)} n=${String(s.length).padStart(4)}  p50 ${at(0.5).toFixed(1).padStart(7)} ms  p99 ${at(0.99).toFixed(1).padStart(7)} ms  max ${at(1).toFixed(1).padStart(7)} ms`);
}

async function until<T>(probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
  }
}

const env = await startEnvironment({ logLevel: 'warn', duration: '10m', maxDuration: '1h' });
const approve: number[] = [];
const ack: number[] = [];
const revoke: number[] = [];
try {
  const hasLine = (id: string) => env.jump.readAuthorizedKeys().includes(`jit:${id}`);
  for (let i = 0; i < iterations; i++) {
    // A person of their own per round: per-user limits on requests must not shape the figure.
    const user = `U0BENCH${i}`;
    const key = generateUserKey(env.dir, `bench_${i}`);
    await env.sender.command(user, `key add ${key.publicKey}`);
    const t0 = performance.now();
    const res = await env.sender.command(user, 'request internal-2 10m benchmark round');
    ack.push(performance.now() - t0);
    const id = /Request `(r[a-z0-9]+)`/.exec(res.json?.text ?? '')?.[1];
    if (!id) throw new Error(`no request id: ${res.body}`);
    const msg = await until(() => env.slack.messages(`D${OWNER}`).find((m) => JSON.stringify(m.blocks ?? []).includes(id)));
    const b = findButton(msg.blocks, 'jit_approve');
    const clicked = performance.now();
    await env.sender.blockAction(OWNER, { actionId: b.actionId, value: b.value, blockId: b.blockId, message: { channel: msg.channel, ts: msg.ts } });
    await until(() => hasLine(id));
    approve.push(performance.now() - clicked);
    const r0 = performance.now();
    await env.sender.command(user, `revoke ${id}`);
    await until(() => !hasLine(id));
    revoke.push(performance.now() - r0);
  }
  console.log(`real broker over HTTP, redis-server, jump sshd on loopback; ${iterations} rounds`);
  stats('slash command /jump request → ack', ack);
  stats('Approve click → key line on jump server', approve);
  stats('/jump revoke → key line gone', revoke);
} finally {
  await env.stop();
}
