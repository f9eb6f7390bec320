// Slack's v0 request signature, checked by the broker (Bolt's check is off): the right secret, timestamp and body
// match; anything else, or a header that is not `v0=` and 64 hex digits, does not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { readSignedBody, signatureMatches } from '../../src/slack/signed-request.ts';
import { signSlackRequest } from '../../src/sandbox/slack-sender.ts';

const SECRET = 'a-signing-secret-0123456789abcdef';
const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
const ts = 1_800_000_000;

describe('Slack request signature', () => {
  it('matches the signature Slack computes with the signing secret over v0:timestamp:body', () => {
    assert.equal(signatureMatches(SECRET, String(ts), Buffer.from(body), signSlackRequest(SECRET, ts, body)), true);
  });

  it('refuses another secret, timestamp or body, another version, a short or non-hex hash, and no header', () => {
    const good = signSlackRequest(SECRET, ts, body);
    for (const [what, secret, t, b, sig] of [
      ['secret', 'another-secret-0123456789abcdef', String(ts), body, good],
      ['timestamp', SECRET, String(ts + 1), body, good],
      ['body', SECRET, String(ts), `${body}&x=1`, good],
      ['version', SECRET, String(ts), body, `v1=${good.slice(3)}`],
      ['short hash', SECRET, String(ts), body, good.slice(0, -2)],
      ['non-hex hash', SECRET, String(ts), body, `v0=${'z'.repeat(64)}`],
      ['zeros', SECRET, String(ts), body, `v0=${'0'.repeat(64)}`],
      ['empty', SECRET, String(ts), body, ''],
    ] as const)
      assert.equal(signatureMatches(secret, t, Buffer.from(b), sig), false, what);
    assert.equal(signatureMatches(SECRET, String(ts), Buffer.from(body), undefined), false, 'no header');
  });

  it('reads a body: signed → handed on; unsigned ssl_check → answered 200, never dispatched; over the limit → 413; stale or unsigned → 401', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const post = (text: string, headers: Record<string, string>) => Object.assign(Readable.from([Buffer.from(text)]), { headers }) as unknown as IncomingMessage;
    const o = { signingSecret: SECRET, limit: 1024, nowMs: ts * 1000 };
    const signed = { ...form, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(SECRET, ts, body) };
    const ok = await readSignedBody(post(body, signed), o);
    assert.deepEqual(ok, { ok: true, body: Buffer.from(body) });
    // A payload smuggled beside ssl_check is never handed on: the answer is the check's.
    assert.deepEqual(await readSignedBody(post(`ssl_check=1&${body}`, form), o), { ok: false, status: 200 });
    assert.deepEqual(await readSignedBody(post('x'.repeat(1025), signed), o), { ok: false, status: 413, problem: 'body over 1024 bytes' });
    assert.deepEqual(await readSignedBody(post(body, form), o), { ok: false, status: 401, problem: 'missing or malformed x-slack-request-timestamp' });
    assert.deepEqual(await readSignedBody(post(body, signed), { ...o, nowMs: (ts + 301) * 1000 }), { ok: false, status: 401, problem: 'x-slack-request-timestamp is 301s old' });
    assert.deepEqual(await readSignedBody(post(`${body}&x=1`, signed), o), { ok: false, status: 401, problem: 'signature mismatch' });
  });
});
