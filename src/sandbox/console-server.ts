// The sandbox's web console: a small Slack look-alike on loopback. It holds no product logic: it shows what
// the broker posted to the local Slack API, and turns a person's typing and clicking into signed Slack
// requests to the broker, exactly as Slack would send them.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { APPROVAL_CHANNEL, AUDIT_CHANNEL, ENGINEER, PEOPLE, type Environment } from './environment.ts';
import { endedGrants, readGrantNotice } from './grant-notice.ts';
import type { FakeMessage } from './local-slack-api.ts';
import { hasRegisteredKey, suggestions } from './suggestions.ts';

const PAGE = fileURLToPath(new URL('./console.html', import.meta.url));

interface Ephemeral {
  id: string;
  user: string;
  channel: string;
  text: string;
  at: number;
  /** the slash command this answers, shown above the answer as Slack shows "/jump …" being run */
  command?: string;
}

interface OpenModal {
  user: string;
  view: any;
  errors?: Record<string, string>;
}

export interface ConsoleServer {
  url: string;
  /** runs a slash command as `user` (a signed request to the broker) and shows the answer in the console */
  command(user: string, text: string, channel?: string): Promise<{ status: number; reply: string }>;
  stop(): Promise<void>;
}

export interface ConsoleOptions {
  /** the ssh command that works in this sandbox for a host (the sandbox key and -F config) */
  connectHint: (host: string) => string;
  /** the grant length the request suggestion asks for (SANDBOX_DURATION) */
  duration: string;
}

/** The console's port, held from the first moment (a busy port is known at once); it answers once `serve` ran. */
export interface ConsoleListener {
  url: string;
  serve(env: Environment, opts: ConsoleOptions): ConsoleServer;
  stop(): Promise<void>;
}

class BadRequest extends Error {}

function readJson(req: IncomingMessage): Promise<any> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      body += c;
      if (body.length > 100_000) req.destroy(new BadRequest('body too large'));
    });
    req.on('end', () => {
      try {
        resolve(body ? JSON.parse(body) : {});
      } catch {
        reject(new BadRequest('body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** The conversations a person sees: their DM with the app, then the two channels the policy names. */
function conversations(user: string) {
  return [
    { id: `D${user}`, name: 'jit-jump', kind: 'dm' as const },
    { id: APPROVAL_CHANNEL, name: 'access-approvals', kind: 'channel' as const },
    { id: AUDIT_CHANNEL, name: 'access-audit', kind: 'channel' as const },
  ];
}

/** Listens on 127.0.0.1:`port` (0: any free port); rejects with the listen error (EADDRINUSE) at once. */
export async function listenConsole(port: number): Promise<ConsoleListener> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server: Server = createServer((req, res) => {
    if (!handler) return send(res, 503, 'The sandbox is still starting: reload in a few seconds.', 'text/plain; charset=utf-8');
    handler(req, res).catch((err: unknown) => send(res, err instanceof BadRequest ? 400 : 500, { error: String((err as Error).message) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : 0;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${bound}/`,
    stop,
    serve(env, opts) {
      const app = consoleApp(env, opts, bound);
      handler = app.handle;
      return { url: `http://127.0.0.1:${bound}/`, command: app.command, stop };
    },
  };
}

function consoleApp(env: Environment, opts: ConsoleOptions, port: number) {
  const ephemerals: Ephemeral[] = [];
  const modals = new Map<string, OpenModal>();
  /** trigger id of a click → who clicked: views.open names only the trigger */
  const triggers = new Map<string, string>();
  const known = new Set(Object.keys(PEOPLE));
  let scanned = 0;

  // Ephemerals and modals are Web API calls the broker makes after it has answered: read them as they come.
  const scanCalls = () => {
    const calls = env.slack.calls;
    for (; scanned < calls.length; scanned++) {
      const c = calls[scanned]!;
      if (c.method === 'chat.postEphemeral' && known.has(c.args.user))
        ephemerals.push({ id: randomUUID(), user: c.args.user, channel: String(c.args.channel), text: String(c.args.text ?? ''), at: c.at });
      if (c.method === 'views.open' && !c.error) {
        const user = triggers.get(String(c.args.trigger_id));
        if (!user) continue;
        triggers.delete(String(c.args.trigger_id));
        for (const [id, m] of modals) if (m.user === user) modals.delete(id);
        modals.set(randomUUID(), { user, view: c.args.view });
      }
    }
  };

  // Only the sandbox engineer holds the sandbox key: their grant DMs get the command that works here, marked
  // as ended once any message of the broker says that grant expired or was revoked (a revocation by the
  // requester themselves gets no DM, but its audit line and approval message say so).
  const withSandboxHints = (channel: string, messages: FakeMessage[], ended: Set<string>) => {
    if (channel !== `D${ENGINEER}`) return messages;
    return messages.map((m) => {
      const n = readGrantNotice(m);
      if (n?.kind !== 'granted') return m;
      return { ...m, sandboxConnect: { command: opts.connectHint(n.host), ended: ended.has(n.requestId) } };
    });
  };
  const guide = { engineer: ENGINEER, publicKey: env.engineerKey.publicKey, duration: opts.duration };

  const state = (user: string) => {
    scanCalls();
    const modal = [...modals.entries()].find(([, m]) => m.user === user);
    const all = env.slack.messages();
    const ended = endedGrants(all);
    const keyRegistered = hasRegisteredKey(all.filter((m) => m.channel === AUDIT_CHANNEL), user);
    return {
      me: user,
      people: PEOPLE,
      suggestions: suggestions(user, keyRegistered, guide),
      channels: conversations(user).map((ch) => ({
        ...ch,
        messages: withSandboxHints(ch.id, all.filter((m) => m.channel === ch.id), ended),
      })),
      ephemerals: ephemerals.filter((e) => e.user === user),
      modal: modal ? { id: modal[0], view: modal[1].view, errors: modal[1].errors } : undefined,
    };
  };

  const command = async (user: string, text: string, channel = `D${user}`) => {
    const typed = text.trim();
    // Slack names the conversation the command was typed in.
    const where = conversations(user).find((c) => c.id === channel);
    // `/jump request` alone answers with a form: remember who typed it before the broker opens it.
    const triggerId = env.slack.issueTriggerId(user);
    triggers.set(triggerId, user);
    const r = await env.sender.command(user, typed.replace(/^\/jump\b\s*/, ''), {
      channel_id: channel,
      channel_name: where?.kind === 'channel' ? where.name : 'directmessage',
      trigger_id: triggerId,
    });
    const reply = r.json?.text ?? (r.status === 200 ? '' : `The broker answered HTTP ${r.status}.`);
    ephemerals.push({ id: randomUUID(), user, channel, text: reply, at: Date.now(), command: typed.startsWith('/') ? typed : `/jump ${typed}` });
    return { status: r.status, reply };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // Loopback is not enough: a web page open in the same browser could post here (CSRF), or reach us under
    // its own host name (DNS rebinding). Only our own host name, and only JSON posts (which need CORS).
    if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`) return send(res, 403, { error: 'wrong host' });
    if (req.method === 'POST' && !String(req.headers['content-type']).startsWith('application/json')) return send(res, 415, { error: 'JSON only' });
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/') return send(res, 200, readFileSync(PAGE, 'utf8'), 'text/html; charset=utf-8');
    if (req.method === 'GET' && url.pathname === '/api/state') {
      const user = url.searchParams.get('user') ?? '';
      if (!known.has(user)) return send(res, 400, { error: `unknown user ${JSON.stringify(user)}` });
      return send(res, 200, state(user));
    }
    if (req.method !== 'POST') return send(res, 404, { error: 'not found' });
    const body = await readJson(req);
    if (!known.has(body.user)) return send(res, 400, { error: `unknown user ${JSON.stringify(body.user)}` });
    const channel = conversations(body.user).find((c) => c.id === body.channel)?.id;

    if (url.pathname === '/api/command') {
      const text = String(body.text ?? '');
      if (!/^\/jump\b/.test(text.trim())) return send(res, 400, { error: 'Only /jump commands reach the broker here.' });
      return send(res, 200, await command(body.user, text, channel));
    }
    if (url.pathname === '/api/click') {
      if (!channel) return send(res, 400, { error: 'no such channel' });
      const triggerId = env.slack.issueTriggerId(body.user);
      // Remember who clicked before the broker can answer with views.open (it does so after its ack).
      triggers.set(triggerId, body.user);
      const r = await env.sender.blockAction(body.user, {
        actionId: String(body.actionId),
        value: String(body.value),
        blockId: String(body.blockId),
        message: { channel, ts: String(body.ts) },
        triggerId,
        // The menus of the clicked message (the choice next to Approve), as Slack sends them with a click.
        ...(body.state && typeof body.state === 'object' ? { state: body.state as { values: Record<string, Record<string, unknown>> } } : {}),
      });
      return send(res, 200, { status: r.status });
    }
    if (url.pathname === '/api/modal') {
      const modal = modals.get(String(body.modalId));
      if (!modal || modal.user !== body.user) return send(res, 404, { error: 'no such modal' });
      if (body.cancel) {
        modals.delete(String(body.modalId));
        return send(res, 200, { closed: true });
      }
      // Slack's view.state.values: block id → action id → { type, value } (a menu: { type, selected_option }).
      const values: Record<string, Record<string, Record<string, unknown>>> = {};
      for (const block of modal.view.blocks ?? []) {
        if (block.type !== 'input') continue;
        const value = String(body.values?.[block.block_id] ?? '');
        const state = block.element.type === 'static_select' ? { selected_option: value ? { value } : null } : { value };
        values[block.block_id] = { [block.element.action_id]: { type: block.element.type, ...state } };
      }
      const r = await env.sender.viewSubmission(body.user, { callbackId: modal.view.callback_id, privateMetadata: modal.view.private_metadata, values });
      if (r.json?.response_action === 'errors') {
        modal.errors = r.json.errors;
        return send(res, 200, { errors: r.json.errors });
      }
      modals.delete(String(body.modalId));
      return send(res, 200, { closed: true, status: r.status });
    }
    return send(res, 404, { error: 'not found' });
  };

  return { handle, command };
}
