// Driving the real broker as people do, through its HTTP endpoint with signed requests: keys, requests, the
// owner's Approve click, `/jump revoke`. Messages are found by their metadata, as the product does.
import { generateKeyPairSync } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import sshpk from 'sshpk';
import { AUDIT_CHANNEL, OWNER, SIGNING_SECRET, startEnvironment, TEAM_ID, type Environment, type EnvironmentOptions } from '../src/sandbox/environment.ts';
import type { FakeMessage } from '../src/sandbox/local-slack-api.ts';
import { blockActionPayload, findButton, signSlackRequest } from '../src/sandbox/slack-sender.ts';
import { until } from './keys-watch.ts';

/** An installation on loopback whose per-person limits never shape a figure. */
export function benchEnvironment(opts: EnvironmentOptions = {}): Promise<Environment> {
  return startEnvironment({
    logLevel: 'warn',
    duration: '10m',
    minDuration: '1s',
    maxDuration: '1h',
    limits: { requestsPerWindow: 10_000, keyChangesPerWindow: 10_000, maxPendingRequests: 1_000 },
    ...opts,
  });
}

/** A fresh ed25519 public key line, made in-process (ssh-keygen per person would dominate a 1,000-person setup). */
export function freshPublicKey(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  return `${sshpk.parseKey(publicKey.export({ type: 'spki', format: 'pem' }), 'pem').toString('ssh')} ${comment}`;
}

function check(what: string, res: { status: number; body: string }): void {
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status} ${res.body}`);
}

/**
 * What the harness drives: the fake Slack, a signed sender, and the broker (its port, and its keys read from
 * Redis): the environment's own broker, or one in a process of its own (bench/broker-child.ts).
 */
export interface Driven {
  slack: Environment['slack'];
  sender: Environment['sender'];
  broker: { port?: number; keys: Pick<Environment['broker']['keys'], 'get'>; requests: Pick<Environment['broker']['requests'], 'get'> };
}

export async function addKey(env: Driven, user: string, publicKey = freshPublicKey(`${user}@bench`)): Promise<void> {
  check(`key add for ${user}`, await env.sender.command(user, `key add ${publicKey}`));
  await until(`${user}'s key stored`, () => env.broker.keys.get(user), 30_000);
}

function pendingOf(m: FakeMessage): { id: string; requester: string } | undefined {
  if (m.metadata?.event_type !== 'jit_request_pending') return undefined;
  return { id: String(m.metadata.event_payload.request_id), requester: String(m.metadata.event_payload.requester) };
}

/** The owner's approval messages, by request id (the owner of internal-2 is OWNER alone). */
export function approvalMessages(env: Pick<Driven, 'slack'>): Map<string, FakeMessage & { requester: string }> {
  const out = new Map<string, FakeMessage & { requester: string }>();
  for (const m of env.slack.messages(`D${OWNER}`)) {
    const p = pendingOf(m);
    if (p) out.set(p.id, { ...m, requester: p.requester });
  }
  return out;
}

/**
 * `/jump request <host> <duration> …` as `user`; the new request's approval message (by metadata: one the caller
 * has not seen, `seen` grows). The message appears after the ack: it is waited for, not timed.
 */
export async function request(env: Driven, user: string, text: string, seen: Set<string>): Promise<FakeMessage & { id: string }> {
  const res = await env.sender.command(user, `request ${text}`);
  check(`request by ${user}`, res);
  return until(`approval message of ${user}'s request (reply: ${res.body})`, () => {
    const mine = [...approvalMessages(env)].find(([id, m]) => m.requester === user && !seen.has(id));
    if (!mine) return undefined;
    seen.add(mine[0]);
    return { ...mine[1], id: mine[0] };
  }, 30_000);
}

/** The owner clicks Approve on an approval message; resolves when the endpoint has answered. */
export async function approve(env: Driven, msg: FakeMessage): Promise<void> {
  const b = findButton(msg.blocks, 'jit_approve');
  check('Approve click', await env.sender.blockAction(OWNER, { actionId: b.actionId, value: b.value, blockId: b.blockId, message: { channel: msg.channel, ts: msg.ts } }));
}

export async function revoke(env: Driven, user: string, id: string): Promise<void> {
  check(`revoke ${id}`, await env.sender.command(user, `revoke ${id}`));
}

/** One kept-alive connection to the broker, as Slack keeps one: no TCP connect inside a timed click. */
const keptAlive = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * The owner's Approve click, built and signed now, sent later by `send()`: `sent` is when its bytes were handed to
 * the socket (what the broker can be held to), `answered` resolves with the endpoint's answer. The same request
 * `approve` sends, over node:http with kept-alive connections: fetch (undici) adds 2–4 ms of its own per
 * request on this machine, in the process that also runs the broker.
 */
export function prepareApprove(env: Driven, msg: FakeMessage): () => { sent: number; answered: Promise<void> } {
  const b = findButton(msg.blocks, 'jit_approve');
  const body = `payload=${encodeURIComponent(JSON.stringify(blockActionPayload(env.slack, TEAM_ID, OWNER, { actionId: b.actionId, value: b.value, blockId: b.blockId, message: { channel: msg.channel, ts: msg.ts } })))}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': Buffer.byteLength(body),
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signSlackRequest(SIGNING_SECRET, timestamp, body),
  };
  const url = `http://127.0.0.1:${env.broker.port}/slack/events`;
  return () => {
    const req = httpRequest(url, { method: 'POST', headers, agent: keptAlive });
    const answered = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`Approve click: HTTP ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
    });
    const sent = performance.now();
    req.end(body);
    return { sent, answered };
  };
}

/** `prepareApprove` sent at once: the timer starts when the request leaves. */
export function approveTimed(env: Driven, msg: FakeMessage): { sent: number; answered: Promise<void> } {
  return prepareApprove(env, msg)();
}

/**
 * Until the audit channel holds the `type` line of request `id` (by metadata): the work that event's change
 * started is over. An owner clicks seconds after being asked; the timed click should not land in the middle of
 * the request's own follow-up (its messages, and the audit line posted a moment after it).
 */
export function auditPosted(env: Driven, id: string, type: string): Promise<unknown> {
  return until(`the ${type} audit line of ${id}`, () =>
    env.slack.messages(AUDIT_CHANNEL).find((m) => m.metadata?.event_type === 'jit_audit' && m.metadata.event_payload.request_id === id && m.metadata.event_payload.audit_type === type),
  30_000);
}

/** Until the activation's follow-up is over: its last step, the approval thread's `activated` line (by metadata). */
export function activationDone(env: Driven, id: string): Promise<unknown> {
  return until(`the activation follow-up of ${id}`, () =>
    env.slack.messages().find((m) => m.metadata?.event_type === 'jit_request_step' && m.metadata.event_payload.request_id === id && m.metadata.event_payload.state === 'active'),
  30_000);
}
