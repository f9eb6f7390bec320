// The sandbox's web console: a small Slack look-alike on loopback. It holds no product logic: it shows what
// the broker posted to the local Slack API, and turns a person's typing and clicking into signed Slack
// requests to the broker, exactly as Slack would send them.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { APPROVAL_CHANNEL, AUDIT_CHANNEL, PEOPLE, type Environment } from './environment.ts';

const PAGE = fileURLToPath(new URL('./console.html', import.meta.url));

interface Ephemeral {
  user: string;
  channel: string;
  text: string;
  at: number;
}

interface OpenModal {
  user: string;
  view: any;
  errors?: Record<string, string>;
}

export interface ConsoleServer {
  url: string;
  stop(): Promise<void>;
}

function readJson(req: IncomingMessage): Promise<any> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      body += c;
      if (body.length > 100_000) req.destroy();
    });
    req.on('end', () => {
      try {
        resolve(body ? JSON.parse(body) : {});
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

export async function startConsoleServer(env: Environment, opts: { port?: number; connectHint: (host: string) => string }): Promise<ConsoleServer> {
  const ephemerals: Ephemeral[] = [];
  const modals = new Map<string, OpenModal>();
  const known = new Set(Object.keys(PEOPLE));

  const state = (user: string) => {
    // What this person can see: their DM with the bot, the approval and audit channels, their ephemerals.
    const channels = [
      { id: `D${user}`, name: 'jit-jump (DM)', kind: 'dm' },
      { id: APPROVAL_CHANNEL, name: '#access-approvals', kind: 'channel' },
      { id: AUDIT_CHANNEL, name: '#access-audit', kind: 'channel' },
    ];
    for (const c of env.slack.calls) {
      if (c.method === 'chat.postEphemeral' && c.args.user === user && !ephemerals.some((e) => e.at === c.at && e.text === c.args.text))
        ephemerals.push({ user, channel: c.args.channel, text: c.args.text, at: c.at });
    }
    const modal = [...modals.entries()].find(([, m]) => m.user === user);
    return {
      me: user,
      people: PEOPLE,
      channels: channels.map((ch) => ({ ...ch, messages: env.slack.messages(ch.id) })),
      ephemerals: ephemerals.filter((e) => e.user === user),
      modal: modal ? { id: modal[0], view: modal[1].view, errors: modal[1].errors } : undefined,
      hosts: env.policy.hosts.map((h) => ({ name: h.name, connect: opts.connectHint(h.name) })),
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/') return send(res, 200, readFileSync(PAGE, 'utf8'), 'text/html; charset=utf-8');
    if (req.method === 'GET' && url.pathname === '/api/state') {
      const user = url.searchParams.get('user') ?? '';
      if (!known.has(user)) return send(res, 400, { error: 'unknown user' });
      return send(res, 200, state(user));
    }
    if (req.method !== 'POST') return send(res, 404, { error: 'not found' });
    const body = await readJson(req);
    if (!known.has(body.user)) return send(res, 400, { error: 'unknown user' });
    if (url.pathname === '/api/command') {
      const text = String(body.text ?? '').replace(/^\/jump\s*/, '');
      const r = await env.sender.command(body.user, text);
      const reply = r.json?.text ?? (r.status === 200 ? '' : `(the broker answered HTTP ${r.status})`);
      if (reply) ephemerals.push({ user: body.user, channel: String(body.channel ?? `D${body.user}`), text: reply, at: Date.now() });
      return send(res, 200, { status: r.status, reply });
    }
    if (url.pathname === '/api/click') {
      const triggerId = `trigger-${randomUUID()}`;
      const r = await env.sender.blockAction(body.user, {
        actionId: String(body.actionId),
        value: String(body.value),
        blockId: String(body.blockId),
        message: { channel: String(body.channel), ts: String(body.ts) },
        triggerId,
      });
      // A Deny click answers with a modal: show it to whoever clicked.
      for (let i = 0; i < 50; i++) {
        const opened = env.slack.calls.find((c) => c.method === 'views.open' && c.args.trigger_id === triggerId);
        if (opened) {
          modals.set(randomUUID(), { user: body.user, view: opened.args.view });
          break;
        }
        if (env.slack.calls.some((c) => c.method === 'chat.postEphemeral' && c.args.user === body.user && c.at >= Date.now() - 1000)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return send(res, 200, { status: r.status });
    }
    if (url.pathname === '/api/modal') {
      const modal = modals.get(String(body.modalId));
      if (!modal || modal.user !== body.user) return send(res, 404, { error: 'no such modal' });
      if (body.cancel) {
        modals.delete(String(body.modalId));
        return send(res, 200, { closed: true });
      }
      const values: Record<string, Record<string, { type: string; value: string }>> = {};
      for (const block of modal.view.blocks ?? []) {
        if (block.type !== 'input') continue;
        values[block.block_id] = { [block.element.action_id]: { type: block.element.type, value: String(body.values?.[block.block_id] ?? '') } };
      }
      const r = await env.sender.viewSubmission(body.user, { callbackId: modal.view.callback_id, privateMetadata: modal.view.private_metadata, values });
      if (r.json?.response_action === 'errors') {
        modal.errors = r.json.errors;
        return send(res, 200, { errors: r.json.errors });
      }
      modals.delete(String(body.modalId));
      return send(res, 200, { closed: true });
    }
    return send(res, 404, { error: 'not found' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: String((err as Error).message) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
