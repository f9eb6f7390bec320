// A local fake of the Slack Web API that records every call, and the response_url targets. It is as strict as
// Slack where the broker could get it wrong: the token, trigger ids (known, unused, not expired), Block Kit
// and text limits, metadata, well-formed UTF-8 and Unicode. It can also fail the way Slack fails (an error
// code, missing_scope, HTTP 429 with Retry-After), on demand.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkMessage, checkView, loneSurrogateAt, type Problem } from './slack-checks.ts';

export interface SlackCall {
  method: string;
  args: Record<string, any>;
  at: number;
  token?: string;
  /** the error code the fake answered with (a refused or injected failure); absent when the call worked */
  error?: string;
  /** the HTTP status when not 200 (429: rate limited) */
  status?: number;
}

/** A failure to answer with instead of doing the call: an error code (with extra fields, as missing_scope
 *  has `needed` and `provided`), or HTTP 429 with a Retry-After header in seconds. */
export type InjectedFailure = string | { error: string; [field: string]: unknown } | { status: 429; retryAfter: number };

export interface FailOptions {
  /** how many matching calls fail (default 1; Infinity until clearFailures) */
  times?: number;
  /** only calls whose arguments match fail (e.g. one channel) */
  match?: (args: Record<string, any>) => boolean;
}

/** A modal Slack opened: for whom, from which trigger. */
export interface FakeView {
  id: string;
  user?: string;
  triggerId: string;
  view: any;
  /** changes with every views.update; an update naming another hash is refused (hash_conflict) */
  hash: string;
  /** how many times views.update redrew it */
  updates: number;
}

export interface LocalSlackApiOptions {
  /** the bot token every Web API call must carry (as Slack knows the app's token) */
  botToken: string;
  /** the app-level token, for apps.connections.open (Socket Mode) */
  appToken?: string;
  usergroups?: Record<string, string[]>;
  teamId?: string;
  /** the fake's clock, for trigger expiry (default Date.now) */
  now?: () => number;
  /** how long a trigger id can be exchanged for a modal (Slack: 3 s) */
  triggerTtlMs?: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: any[];
  /** a reply: the ts of the message whose thread it is in (absent on a message in the channel itself) */
  thread_ts?: string;
  /** Slack message metadata ({ event_type, event_payload }), as posted */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** when it was posted (ms): the ts above is a counter, not a time */
  postedAt: number;
}

export interface LocalSlackApi {
  apiUrl: string;
  baseUrl: string;
  calls: SlackCall[];
  responseUrl(): string;
  /** Every message posted, replies in threads included (oldest first), in one channel or all. */
  messages(channel?: string): FakeMessage[];
  /** The replies in the thread of the message `ts` of `channel`, oldest first (the message itself not included). */
  replies(channel: string, ts: string): FakeMessage[];
  waitFor<T>(predicate: (calls: SlackCall[]) => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** The next call(s) of `method` fail (see InjectedFailure, FailOptions). */
  failNext(method: string, failure: InjectedFailure, opts?: FailOptions): void;
  /** Drops every failure not yet used. */
  clearFailures(): void;
  /**
   * The next call of `method` whose arguments match is done at once but answered only on release(): a caller
   * that dies meanwhile never learns that it worked (the crash between Slack's answer and the caller's record).
   */
  holdAnswer(method: string, match: (args: Record<string, any>) => boolean): { arrived: Promise<void>; release(): void };
  /**
   * The next call of `method` whose arguments match waits before it is done: release() does and answers it,
   * drop() never does it (its connection is cut, and it leaves `calls`), as if the caller had died before the
   * call reached Slack.
   */
  holdCall(method: string, match: (args: Record<string, any>) => boolean): { arrived: Promise<void>; release(): void; drop(): void };
  /** A trigger id as Slack puts in a slash command or click: exchangeable once, for a while, for a modal. */
  issueTriggerId(user?: string): string;
  /** The modals opened (views.open that worked), oldest first, as views.update last redrew them. */
  views(): FakeView[];
  /** The Home tab last published for this user (views.publish that worked), or undefined. */
  home(user: string): { view: any; publishedAt: number; count: number } | undefined;
  /** Socket Mode: cuts the connection from Slack's side (no close frame), as a network drop or a Slack restart does. */
  dropSocket(): void;
  /**
   * What Slack does with the message an app answers a slash command with (the HTTP response or the Socket Mode
   * ack): checks it like a posted message, and records it as a call of `method` ('command_response'), refused
   * with Slack's error code if it fails. Returns the problem, if any.
   */
  answered(method: string, message: Record<string, any>): Problem | undefined;
  /** Calls of `method` from now on get no answer until the returned function is called (work held in flight). */
  hold(method: string): () => void;
  /** Socket Mode: resolves once a broker has connected to the fake's WebSocket (after apps.connections.open). */
  socketConnected(timeoutMs?: number): Promise<void>;
  /** Socket Mode: sends an envelope (type 'slash_commands' | 'interactive' …) and resolves with the broker's ack. */
  socketSend(type: string, payload: Record<string, unknown>, timeoutMs?: number): Promise<{ envelope_id: string; payload?: any }>;
  reset(): void;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

class BadRequest extends Error {
  constructor(readonly error: string, message: string) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A form body, strictly: malformed percent-encoding or UTF-8 is refused, not replaced with U+FFFD. */
function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of body.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const [k, v] = eq === -1 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    try {
      out[decodeURIComponent(k.replace(/\+/g, ' '))] = decodeURIComponent(v.replace(/\+/g, ' '));
    } catch {
      throw new BadRequest('invalid_form_data', `the form field ${JSON.stringify(k.slice(0, 40))} is not valid percent-encoded UTF-8`);
    }
  }
  return out;
}

/** Form bodies carry JSON-encoded blocks/view/attachments/metadata strings; decode them so tests read objects. */
function parseArgs(raw: Buffer, contentType: string | undefined): Record<string, any> {
  if (raw.length === 0) return {};
  let body: string;
  try {
    body = utf8.decode(raw);
  } catch {
    throw new BadRequest(contentType?.includes('application/json') ? 'invalid_json' : 'invalid_form_data', 'the request body is not valid UTF-8');
  }
  if (contentType?.includes('application/json')) {
    try {
      return JSON.parse(body) as Record<string, any>;
    } catch {
      throw new BadRequest('invalid_json', 'the request body is not JSON');
    }
  }
  const args: Record<string, any> = parseForm(body);
  for (const k of ['blocks', 'attachments', 'view', 'metadata']) {
    if (typeof args[k] !== 'string') continue;
    try {
      args[k] = JSON.parse(args[k]);
    } catch {
      throw new BadRequest(k === 'blocks' ? 'invalid_blocks_format' : 'invalid_arguments', `${k} is not valid JSON [json-pointer:/${k}]`);
    }
  }
  return args;
}

/** Web API methods that take the app-level token instead of the bot token. */
const APP_TOKEN_METHODS = new Set(['apps.connections.open']);

/** A message the app answers with (response_url, slash command response): Slack checks it as a posted message. */
function answerProblem(args: Record<string, any>): Problem | undefined {
  const lone = loneSurrogateAt(args);
  if (lone) return { error: 'invalid_arguments', detail: `a lone UTF-16 surrogate is not text [json-pointer:${lone}]` };
  return checkMessage(args);
}

export async function startLocalSlackApi(opts: LocalSlackApiOptions): Promise<LocalSlackApi> {
  const calls: SlackCall[] = [];
  const messages: FakeMessage[] = [];
  const opened: FakeView[] = [];
  /** the latest Home tab per user, and how many were published */
  const homes = new Map<string, { view: any; publishedAt: number; count: number }>();
  const failures: { method: string; failure: InjectedFailure; left: number; match?: (args: Record<string, any>) => boolean }[] = [];
  /** answers held back until released: `once` holds catch one matching call, the others every call of the method */
  const holds: { method: string; match: (args: Record<string, any>) => boolean; once: boolean; used: boolean; arrived: () => void; released: Promise<void>; release: () => void }[] = [];
  const addHold = (method: string, match: (args: Record<string, any>) => boolean, once: boolean) => {
    let arrived!: () => void;
    let release!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    const released = new Promise<void>((r) => (release = r));
    const hold = { method, match, once, used: false, arrived, released, release };
    holds.push(hold);
    return { arrival, hold };
  };
  /** calls held before they are done (holdCall) */
  const callHolds: { method: string; match: (args: Record<string, any>) => boolean; arrived: () => void; decided: Promise<'do' | 'drop'> }[] = [];
  const now = opts.now ?? Date.now;
  const triggerTtlMs = opts.triggerTtlMs ?? 3000;
  /** trigger id → when issued, for whom, and whether it was exchanged already */
  const triggers = new Map<string, { issuedAt: number; user?: string; used: boolean }>();
  let tsCounter = 0;
  let responseCounter = 0;
  let triggerCounter = 0;
  const nextTs = () => `1700000000.${String(++tsCounter).padStart(6, '0')}`;
  const refuse = (p: Problem) => ({ ok: false, error: p.error, errors: [p.detail], response_metadata: { messages: [`[ERROR] ${p.detail}`] } });

  /** Slack's token check: none → not_authed, someone else's → invalid_auth, the wrong kind → not_allowed_token_type. */
  const tokenProblem = (method: string, token: string | undefined): string | undefined => {
    if (!token) return 'not_authed';
    const expected = APP_TOKEN_METHODS.has(method) ? opts.appToken : opts.botToken;
    if (token === expected) return undefined;
    return token === opts.botToken || token === opts.appToken ? 'not_allowed_token_type' : 'invalid_auth';
  };

  const injected = (method: string, args: Record<string, any>): InjectedFailure | undefined => {
    const i = failures.findIndex((f) => f.method === method && (f.match?.(args) ?? true));
    if (i === -1) return undefined;
    const f = failures[i]!;
    if (--f.left <= 0) failures.splice(i, 1);
    return f.failure;
  };

  const exchangeTrigger = (triggerId: unknown): { error: string } | { user?: string } => {
    const t = typeof triggerId === 'string' ? triggers.get(triggerId) : undefined;
    if (!t) return { error: 'invalid_trigger_id' };
    if (t.used) return { error: 'exchanged_trigger_id' };
    if (now() - t.issuedAt > triggerTtlMs) return { error: 'expired_trigger_id' };
    t.used = true;
    return { user: t.user };
  };

  /**
   * The thread a post names (thread_ts), as Slack finds it: a malformed ts is invalid_thread_ts, one that names no
   * message of the channel thread_not_found; a reply's ts stands for its thread's first message.
   */
  const threadOf = (channel: string, threadTs: unknown): { ts: string } | { ok: false; error: string } | undefined => {
    if (threadTs === undefined || threadTs === null) return undefined;
    if (typeof threadTs !== 'string' || !/^\d+\.\d+$/.test(threadTs)) return { ok: false, error: 'invalid_thread_ts' };
    const named = messages.find((m) => m.channel === channel && m.ts === threadTs);
    if (!named) return { ok: false, error: 'thread_not_found' };
    return { ts: named.thread_ts ?? named.ts };
  };
  /** A message as conversations.history and .replies list it: metadata only when asked for (include_all_metadata). */
  const asListed = (m: FakeMessage, a: Record<string, any>) => {
    const withMetadata = a.include_all_metadata === true || a.include_all_metadata === 'true';
    return { type: 'message', ts: m.ts, text: m.text, blocks: m.blocks, ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}), ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}) };
  };

  const handle = (method: string, a: Record<string, any>): Record<string, unknown> => {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.test/', team: 'Test', team_id: opts.teamId ?? 'T0TEST', user: 'jitjump', user_id: 'UBOT', bot_id: 'BBOT' };
      case 'chat.postMessage': {
        if (!a.channel) return { ok: false, error: 'channel_not_found' };
        const problem = checkMessage(a);
        if (problem) return refuse(problem);
        const thread = threadOf(a.channel, a.thread_ts);
        if (thread !== undefined && 'error' in thread) return thread;
        const msg: FakeMessage = {
          channel: a.channel,
          ts: nextTs(),
          text: a.text,
          blocks: a.blocks,
          ...(thread ? { thread_ts: thread.ts } : {}),
          ...(a.metadata ? { metadata: a.metadata } : {}),
          postedAt: Date.now(),
        };
        messages.push(msg);
        return { ok: true, channel: msg.channel, ts: msg.ts, message: { text: msg.text, blocks: msg.blocks, metadata: msg.metadata } };
      }
      case 'chat.update': {
        const msg = messages.find((m) => m.channel === a.channel && m.ts === a.ts);
        if (!msg) return { ok: false, error: 'message_not_found' };
        const problem = checkMessage(a);
        if (problem) return refuse(problem);
        msg.text = a.text;
        msg.blocks = a.blocks;
        if (a.metadata) msg.metadata = a.metadata;
        return { ok: true, channel: msg.channel, ts: msg.ts };
      }
      case 'chat.postEphemeral': {
        if (!a.channel) return { ok: false, error: 'channel_not_found' };
        if (!a.user) return refuse({ error: 'invalid_arguments', detail: 'missing required field: user' });
        const problem = checkMessage(a);
        if (problem) return refuse(problem);
        return { ok: true, message_ts: nextTs() };
      }
      case 'conversations.history': {
        // Like Slack, the channel's own messages, newest first: replies stay in their threads.
        const found = messages.filter((m) => m.channel === a.channel && m.thread_ts === undefined).reverse().slice(0, Number(a.limit ?? 100));
        return { ok: true, messages: found.map((m) => asListed(m, a)) };
      }
      case 'conversations.replies': {
        // Like Slack, the thread's first message, then its replies, oldest first.
        const parent = messages.find((m) => m.channel === a.channel && m.ts === a.ts && m.thread_ts === undefined);
        if (!parent) return { ok: false, error: 'thread_not_found' };
        const thread = [parent, ...messages.filter((m) => m.channel === a.channel && m.thread_ts === parent.ts)].slice(0, Number(a.limit ?? 1000));
        return { ok: true, messages: thread.map((m) => asListed(m, a)) };
      }
      case 'conversations.open':
        if (!a.users) return refuse({ error: 'invalid_arguments', detail: 'missing required field: users' });
        return { ok: true, channel: { id: `D${String(a.users).split(',')[0]}` } };
      case 'users.info':
        if (!a.user) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: { id: a.user, name: String(a.user).toLowerCase(), real_name: a.user, tz: 'UTC', is_bot: false, deleted: false } };
      case 'usergroups.users.list': {
        const users = opts.usergroups?.[a.usergroup];
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${port}/socket` };
      case 'views.open': {
        const problem = checkView(a.view);
        if (problem) return refuse(problem);
        const exchanged = exchangeTrigger(a.trigger_id);
        if ('error' in exchanged) return { ok: false, error: exchanged.error };
        const view: FakeView = { id: `V${++responseCounter}`, user: exchanged.user, triggerId: a.trigger_id, view: a.view, hash: `${++responseCounter}.h`, updates: 0 };
        opened.push(view);
        return { ok: true, view: { ...a.view, id: view.id, hash: view.hash } };
      }
      case 'views.update': {
        const known = opened.find((v) => v.id === a.view_id);
        if (!known) return { ok: false, error: 'not_found' };
        if (a.hash !== undefined && a.hash !== known.hash) return { ok: false, error: 'hash_conflict' };
        const problem = checkView(a.view);
        if (problem) return refuse(problem);
        Object.assign(known, { view: a.view, hash: `${++responseCounter}.h`, updates: known.updates + 1 });
        return { ok: true, view: { ...a.view, id: known.id, hash: known.hash } };
      }
      case 'views.publish': {
        if (typeof a.user_id !== 'string' || !/^[UW][A-Z0-9]+$/.test(a.user_id)) return { ok: false, error: 'user_not_found' };
        const problem = checkView(a.view, 'home');
        if (problem) return refuse(problem);
        homes.set(a.user_id, { view: a.view, publishedAt: Date.now(), count: (homes.get(a.user_id)?.count ?? 0) + 1 });
        return { ok: true, view: { id: `VHOME${a.user_id}`, team_id: opts.teamId ?? 'T0TEST', ...a.view } };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const server: Server = createServer(async (req, res) => {
    const url = req.url ?? '';
    const reply = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    let args: Record<string, any>;
    let bad: BadRequest | undefined;
    try {
      args = parseArgs(await readBody(req), req.headers['content-type']);
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      args = {};
      bad = err;
    }
    // The token travels in the Authorization header or, for some calls, the form body: keep it apart from args.
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? (args.token as string | undefined);
    delete args.token;
    if (url.startsWith('/response/')) {
      // A response_url takes a message as chat.postMessage does: the same checks (Slack answers 4xx and a code).
      const problem = bad ? { error: bad.error, detail: bad.message } : answerProblem(args);
      calls.push({ method: 'response_url', args: { ...args, url }, at: Date.now(), ...(problem ? { error: problem.error } : {}) });
      res.writeHead(problem ? 400 : 200, { 'content-type': 'text/plain' }).end(problem ? `${problem.error}: ${problem.detail}` : 'ok');
      return;
    }
    const method = url.replace(/^\/api\//, '').split('?')[0]!;
    const call: SlackCall = { method, args, at: Date.now(), token };
    calls.push(call);
    const answer = (status: number, body: Record<string, unknown>, headers?: Record<string, string>) => {
      if (body.ok === false) call.error = String(body.error);
      if (status !== 200) call.status = status;
      reply(status, body, headers);
    };
    const authProblem = tokenProblem(method, token);
    if (authProblem) return answer(200, { ok: false, error: authProblem });
    if (bad) return answer(200, refuse({ error: bad.error, detail: bad.message }));
    const lone = loneSurrogateAt(args);
    if (lone) return answer(200, refuse({ error: 'invalid_arguments', detail: `a lone UTF-16 surrogate is not text [json-pointer:${lone}]` }));
    const failure = injected(method, args);
    if (failure !== undefined) {
      if (typeof failure === 'string') return answer(200, { ok: false, error: failure });
      if ('status' in failure) return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(failure.retryAfter) });
      return answer(200, { ...failure, ok: false });
    }
    const before = callHolds.find((h) => h.method === method && h.match(args));
    if (before) {
      callHolds.splice(callHolds.indexOf(before), 1);
      before.arrived();
      // Dropped: it never reached Slack, so it is not among the calls either.
      if ((await before.decided) === 'drop') return void (calls.splice(calls.indexOf(call), 1), res.destroy());
    }
    const done = handle(method, args);
    const hold = holds.find((h) => !h.used && h.method === method && h.match(args));
    if (hold) {
      hold.used = hold.once;
      hold.arrived();
      await hold.released;
      if (res.destroyed) return; // the caller is gone
    }
    answer(200, done);
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
  const answered = (method: string, message: Record<string, any>): Problem | undefined => {
    const problem = answerProblem(message);
    calls.push({ method, args: message, at: Date.now(), ...(problem ? { error: problem.error } : {}) });
    return problem;
  };

  return {
    apiUrl: `${baseUrl}/api/`,
    baseUrl,
    calls,
    responseUrl: () => `${baseUrl}/response/${++responseCounter}`,
    messages: (channel) => structuredClone(messages.filter((m) => channel === undefined || m.channel === channel)),
    replies: (channel, ts) => structuredClone(messages.filter((m) => m.channel === channel && m.thread_ts === ts)),
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = predicate(calls);
        if (v) return v;
        if (Date.now() > deadline) throw new Error('fake Slack: timed out waiting for a call');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    failNext: (method, failure, o = {}) => void failures.push({ method, failure, left: o.times ?? 1, match: o.match }),
    clearFailures: () => void failures.splice(0),
    holdAnswer(method, match) {
      const { arrival, hold } = addHold(method, match, true);
      return { arrived: arrival, release: hold.release };
    },
    holdCall(method, match) {
      let arrived!: () => void;
      let decide!: (d: 'do' | 'drop') => void;
      const arrival = new Promise<void>((r) => (arrived = r));
      callHolds.push({ method, match, arrived, decided: new Promise((r) => (decide = r)) });
      return { arrived: arrival, release: () => decide('do'), drop: () => decide('drop') };
    },
    issueTriggerId(user) {
      const id = `${Math.floor(now() / 1000)}.${++triggerCounter}.${randomBytes(16).toString('hex')}`;
      triggers.set(id, { issuedAt: now(), user, used: false });
      return id;
    },
    views: () => structuredClone(opened),
    home: (user) => structuredClone(homes.get(user)),
    answered,
    dropSocket: () => socket?.terminate(),
    hold(method) {
      const { hold } = addHold(method, () => true, false);
      return () => {
        holds.splice(holds.indexOf(hold), 1);
        hold.release();
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
      const ack = await acked;
      // A slash command's answer travels in the ack: Slack shows it, so it is checked like any message.
      if (type === 'slash_commands' && ack.payload && typeof ack.payload === 'object') answered('command_response', ack.payload);
      return ack;
    },
    reset() {
      calls.length = 0;
      messages.length = 0;
      opened.length = 0;
      homes.clear();
      failures.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const h of holds.splice(0)) h.release();
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
