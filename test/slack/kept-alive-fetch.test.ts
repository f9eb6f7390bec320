// The Web API client's transport (kept-alive-fetch.ts) against real local servers: what a server receives, what
// comes back, connections kept, timeouts, TLS checked, and the bodies it leaves to the global fetch.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WebClient } from '@slack/web-api';
import { startLocalSlackApi } from '../../src/sandbox/local-slack-api.ts';
import { keptAliveFetch } from '../../src/slack/kept-alive-fetch.ts';

const TLS = join(import.meta.dirname, '../fixtures/tls');
const cert = readFileSync(join(TLS, 'localhost.crt'));
const key = readFileSync(join(TLS, 'localhost.key'));

interface Seen {
  method?: string;
  headers: IncomingMessage['headers'];
  body: string;
  port?: number;
}

async function serve(server: Server, handle: (seen: Seen, res: ServerResponse) => void, scheme: 'http' | 'https' = 'http'): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s = { method: req.method, headers: req.headers, body, port: req.socket.remotePort };
      seen.push(s);
      handle(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `${scheme}://127.0.0.1:${port}/api/chat.postMessage`, seen };
}

describe('kept-alive fetch (the Slack Web API transport)', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('sends the method, headers and text body as given; returns status, every header and the body', async () => {
    const server = createServer();
    servers.push(server);
    const { url, seen } = await serve(server, (_s, res) => {
      res.setHeader('retry-after', '7');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(429, 'Too Many Requests', { 'content-type': 'application/json' });
      res.end('{"ok":false,"error":"ratelimited"}');
    });
    const fetch = keptAliveFetch();
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-1' }, body: 'channel=C1&text=h%C3%A9' });
    assert.equal(res.status, 429);
    assert.equal(res.statusText, 'Too Many Requests');
    assert.equal(res.headers.get('retry-after'), '7');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.deepEqual(await res.json(), { ok: false, error: 'ratelimited' });
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.headers.authorization, 'Bearer xoxb-1');
    assert.equal(seen[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(seen[0]!.headers['content-length'], String(Buffer.byteLength('channel=C1&text=h%C3%A9')));
    assert.equal(seen[0]!.headers['accept-encoding'], undefined, 'answers come uncompressed');
    assert.equal(seen[0]!.body, 'channel=C1&text=h%C3%A9');
    // URLSearchParams bodies are text too; the connection is kept for the next call.
    await (await fetch(url, { method: 'POST', body: new URLSearchParams({ a: 'b c' }) })).text();
    assert.equal(seen[1]!.body, 'a=b+c');
    assert.equal(seen[1]!.port, seen[0]!.port, 'the same kept-alive connection');
  });

  it('gives up at the signal: a timeout rejects with its reason, an aborted signal at once', async () => {
    const server = createServer();
    servers.push(server);
    const { url } = await serve(server, () => undefined); // never answers
    const fetch = keptAliveFetch();
    await assert.rejects(fetch(url, { method: 'POST', body: 'x=1', signal: AbortSignal.timeout(100) }), (err: Error) => err.name === 'TimeoutError');
    const aborted = AbortSignal.abort(new Error('gone'));
    await assert.rejects(fetch(url, { method: 'POST', body: 'x=1', signal: aborted }), /gone/);
  });

  it('checks the server certificate over HTTPS: refused without the CA that signed it, accepted with it', async () => {
    const server = createTlsServer({ cert, key });
    servers.push(server);
    const { url: https } = await serve(server, (_s, res) => res.end('{"ok":true}'), 'https');
    await assert.rejects(keptAliveFetch()(https, { method: 'POST', body: 'x=1' }), /self[- ]signed|certificate/i);
    const res = await keptAliveFetch({ ca: cert })(https, { method: 'POST', body: 'x=1' });
    assert.deepEqual(await res.json(), { ok: true });
  });

  it('leaves a body that is not text (a file upload) to the global fetch', async () => {
    const server = createServer();
    servers.push(server);
    const { url, seen } = await serve(server, (_s, res) => res.end('{"ok":true}'));
    const form = new FormData();
    form.append('file', new Blob(['abc']), 'a.txt');
    await (await keptAliveFetch()(url, { method: 'POST', body: form })).text();
    assert.match(String(seen[0]!.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.match(seen[0]!.body, /abc/);
  });

  it('carries the Web API client: a post lands, and a 429 is waited out and retried as Slack asks', async () => {
    const slack = await startLocalSlackApi({ botToken: 'xoxb-fetch' });
    try {
      const client = new WebClient('xoxb-fetch', { slackApiUrl: slack.apiUrl, fetch: keptAliveFetch(), retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20 } });
      slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
      const res = await client.chat.postMessage({ channel: 'C0FETCH', text: 'héllo' });
      assert.equal(res.ok, true);
      assert.deepEqual(slack.messages('C0FETCH').map((m) => m.text), ['héllo']);
      assert.equal(slack.calls.filter((c) => c.method === 'chat.postMessage').length, 2, 'refused once, then posted');
    } finally {
      await slack.stop();
    }
  });
});
