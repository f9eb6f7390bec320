// A local fake of the Slack Web API that records every call, and the response_url targets.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SlackCall {
  method: string;
  args: Record<string, any>;
  at: number;
  token?: string;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: any[];
  thread_ts?: string;
  /** when it was posted (ms): the ts above is a counter, not a time */
  postedAt: number;
}

export interface LocalSlackApi {
  apiUrl: string;
  baseUrl: string;
  calls: SlackCall[];
  responseUrl(): string;
  messages(channel?: string): FakeMessage[];
  waitFor<T>(predicate: (calls: SlackCall[]) => T | undefined | false, timeoutMs?: number): Promise<T>;
  failNext(method: string, error: string): void;
  /** Calls of `method` from now on get no answer until the returned function is called (work held in flight). */
  hold(method: string): () => void;
  /** Socket Mode: resolves once a broker has connected to the fake's WebSocket (after apps.connections.open). */
  socketConnected(timeoutMs?: number): Promise<void>;
  /** Socket Mode: sends an envelope (type 'slash_commands' | 'interactive' …) and resolves with the broker's ack. */
  socketSend(type: string, payload: Record<string, unknown>, timeoutMs?: number): Promise<{ envelope_id: string; payload?: any }>;
  reset(): void;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** Form bodies carry JSON-encoded blocks/view/attachments strings; decode them so tests read objects. */
function parseArgs(body: string, contentType: string | undefined): Record<string, any> {
  if (!body) return {};
  if (contentType?.includes('application/json')) return JSON.parse(body) as Record<string, any>;
  const args: Record<string, any> = Object.fromEntries(new URLSearchParams(body));
  for (const k of ['blocks', 'attachments', 'view', 'metadata']) {
    if (typeof args[k] === 'string') {
      try {
        args[k] = JSON.parse(args[k]);
      } catch {
        /* leave as text */
      }
    }
  }
  return args;
}

export async function startLocalSlackApi(opts: { usergroups?: Record<string, string[]>; teamId?: string } = {}): Promise<LocalSlackApi> {
  const calls: SlackCall[] = [];
  const messages: FakeMessage[] = [];
  const failures = new Map<string, string>();
  const held = new Map<string, Promise<void>>();
  let tsCounter = 0;
  let responseCounter = 0;
  const nextTs = () => `1700000000.${String(++tsCounter).padStart(6, '0')}`;

  const handle = (method: string, a: Record<string, any>): Record<string, unknown> => {
    const failure = failures.get(method);
    if (failure) {
      failures.delete(method);
      return { ok: false, error: failure };
    }
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.test/', team: 'Test', team_id: opts.teamId ?? 'T0TEST', user: 'jitjump', user_id: 'UBOT', bot_id: 'BBOT' };
      case 'chat.postMessage': {
        if (!a.channel) return { ok: false, error: 'channel_not_found' };
        const msg: FakeMessage = { channel: a.channel, ts: nextTs(), text: a.text, blocks: a.blocks, thread_ts: a.thread_ts, postedAt: Date.now() };
        messages.push(msg);
        return { ok: true, channel: msg.channel, ts: msg.ts, message: { text: msg.text, blocks: msg.blocks } };
      }
      case 'chat.update': {
        const msg = messages.find((m) => m.channel === a.channel && m.ts === a.ts);
        if (!msg) return { ok: false, error: 'message_not_found' };
        msg.text = a.text;
        msg.blocks = a.blocks;
        return { ok: true, channel: msg.channel, ts: msg.ts };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: nextTs() };
      case 'conversations.history': {
        const found = messages.filter((m) => m.channel === a.channel).reverse().slice(0, Number(a.limit ?? 100));
        return { ok: true, messages: found.map((m) => ({ type: 'message', ts: m.ts, text: m.text, blocks: m.blocks })) };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(a.users ?? '').split(',')[0]}` } };
      case 'users.info':
        return { ok: true, user: { id: a.user, name: String(a.user).toLowerCase(), real_name: a.user, tz: 'UTC', is_bot: false, deleted: false } };
      case 'usergroups.users.list': {
        const users = opts.usergroups?.[a.usergroup];
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${port}/socket` };
      case 'views.open':
        return { ok: true, view: { id: `V${++responseCounter}` } };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = req.url ?? '';
    const args = parseArgs(body, req.headers['content-type']);
    // The token travels in the Authorization header or, for some calls, the form body: keep it apart from args.
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? (args.token as string | undefined);
    delete args.token;
    if (url.startsWith('/response/')) {
      calls.push({ method: 'response_url', args: { ...args, url }, at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const method = url.replace(/^\/api\//, '').split('?')[0]!;
    calls.push({ method, args, at: Date.now(), token });
    await held.get(method);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(handle(method, args)));
  });
  // Socket Mode: the broker dials out to this WebSocket; Slack says hello, then sends envelopes to be acked.
  const wss = new WebSocketServer({ server, path: '/socket' });
  let socket: WebSocket | undefined;
  const acks = new Map<string, (ack: { envelope_id: string; payload?: any }) => void>();
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => {
      const ack = JSON.parse(String(data)) as { envelope_id: string; payload?: any };
      acks.get(ack.envelope_id)?.(ack);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake' }, connection_info: { app_id: 'A0JITJUMP' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const until = async (probe: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`fake Slack: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${baseUrl}/api/`,
    baseUrl,
    calls,
    responseUrl: () => `${baseUrl}/response/${++responseCounter}`,
    messages: (channel) => structuredClone(messages.filter((m) => channel === undefined || m.channel === channel)),
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = predicate(calls);
        if (v) return v;
        if (Date.now() > deadline) throw new Error('fake Slack: timed out waiting for a call');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    failNext: (method, error) => void failures.set(method, error),
    hold(method) {
      let release!: () => void;
      held.set(method, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        held.delete(method);
        release();
      };
    },
    socketConnected: (timeoutMs = 10_000) => until(() => socket?.readyState === 1, timeoutMs, 'a Socket Mode connection'),
    async socketSend(type, payload, timeoutMs = 10_000) {
      if (!socket) throw new Error('fake Slack: no Socket Mode connection');
      const envelope_id = randomUUID();
      const acked = new Promise<{ envelope_id: string; payload?: any }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fake Slack: no ack for ${type}`)), timeoutMs);
        acks.set(envelope_id, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
      });
      socket.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
      return acked;
    },
    reset() {
      calls.length = 0;
      messages.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
