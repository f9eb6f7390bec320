// Bolt wiring: HTTP receiver at POST /slack/events (signature, timestamp both ways and body size checked by us
// before Bolt: signed-request.ts), or Socket Mode when an app token is given. Every request from another workspace, or carrying a
// response_url that is not Slack's, is refused before any listener runs. Listeners ack at once with the reply,
// then do the slow work (SSH, messages) after the ack; a /jump whose reply is late (slow store) is acked with
// "working" and answered on its response_url.
import { App, HTTPReceiver, type AllMiddlewareArgs, type SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { RefusalCode } from '../domain/result.ts';
import { REQUEST_ID_PATTERN } from '../domain/ids.ts';
import { answerHealth, HEALTH_PATHS, type HealthProbes } from '../observability/health.ts';
import { withLogFields } from '../logger.ts';
import type { AccessService, Outcome } from '../service/access-service.ts';
import { chosenApproveFor, registerApproveForMenu, type ActionsState } from './approve-for.ts';
import { registerExtendForm } from './extend-form.ts';
import { registerReviewButton } from './review-button.ts';
import { registerGrantButtons, type ButtonDeps } from './grant-buttons.ts';
import { HomeTab, openRequestForm, registerHomeTab } from './home-tab.ts';
import { SlackListeners } from './slack-listeners.ts';
import { createWebClient, openForm, slackClientOptions, slackLogger } from './web-client.ts';
import { isTrustedResponseUrl, responseUrlsOf, teamOf } from './request-checks.ts';
import { readSignedBody } from './signed-request.ts';
import { ACTION_APPROVE, ACTION_DENY, DENY_REASON_BLOCK, DENY_REASON_INPUT, denyReasonModal, replyMessage, SLACK_REPLIES, VIEW_DENY_REASON } from './messages.ts';

export interface BoltAppOptions {
  botToken: string;
  signingSecret: string;
  appToken?: string;
  apiUrl?: string;
  /** only this workspace may use the broker (policy teamId); default: the bot token's own workspace */
  teamId?: string;
  /** larger HTTP bodies get 413 (policy limits.maxBodyBytes) */
  maxBodyBytes?: number;
  /** for the timestamp check; default Date.now */
  now?: () => number;
  service: AccessService;
  logger: Logger;
  /** GET /healthz, /readyz and /metrics (HTTP mode; in Socket Mode the broker serves them on HEALTH_PORT) */
  health?: HealthProbes;
  /** told about every piece of work a Slack request starts (its handling, and what runs after the ack), so
   *  shutdown can wait for it */
  onWork?: (work: Promise<void>) => void;
  /** a slash command whose outcome is not ready this long after it arrived is acked with a "working" reply
   *  and answered on its response_url when ready (Slack drops a command not acked within 3 s; default 2 s) */
  ackDeadlineMs?: number;
  /** publishes Home tabs (the notifier's too); default: one of the app's own */
  home?: HomeTab;
}

const { tryAgain: TRY_AGAIN, cannotVerify: CANNOT_VERIFY, otherWorkspace: OTHER_WORKSPACE, formNotOpened: FORM_NOT_OPENED } = SLACK_REPLIES;

function userOf(body: unknown): string {
  const b = body as { user_id?: unknown; user?: { id?: unknown } };
  const u = b?.user_id ?? b?.user?.id;
  return typeof u === 'string' ? u : 'unknown';
}

/** The promise's value if it settles within `ms`, else undefined (the promise goes on). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(r, ms, undefined)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Runs `load` once and keeps its result; a failure is forgotten, so the next caller tries again. */
function keptOnceItWorks<T>(load: () => Promise<T>): () => Promise<T> {
  let kept: Promise<T> | undefined;
  return () =>
    (kept ??= load().catch((err: unknown) => {
      kept = undefined;
      throw err;
    }));
}

/** The ids a Slack request's log lines carry: who sent it, and the request a button or form acts on. */
function requestLogFields(body: unknown): Record<string, string> {
  const fields: Record<string, string> = { slackUser: userOf(body) };
  const b = body as { actions?: { value?: unknown }[]; view?: { private_metadata?: unknown } };
  const carried = [b?.actions?.[0]?.value, b?.view?.private_metadata].find((v) => typeof v === 'string' && REQUEST_ID_PATTERN.test(v));
  if (typeof carried === 'string') fields.requestId = carried;
  return fields;
}

export function createBoltApp(o: BoltAppOptions): App {
  const clientOptions = slackClientOptions(o.apiUrl, o.logger);
  const log = o.logger.child({ component: 'slack' });
  const identityClient = createWebClient(o.botToken, o.apiUrl, { logger: o.logger });
  // Bolt given `token` calls auth.test once at start and keeps the promise: if Slack is unreachable or refuses
  // the token then, the rejection is unhandled (the process dies) and every later request fails until a
  // restart. So the bot's identity is asked here instead: at start, logged if it fails, and asked again by
  // the next request until it works. A request that comes meanwhile gets the token alone (the workspace
  // check below then refuses it with a clear reply).
  // (The broker checks the token at start and keeps checking it: slack-reachability.ts logs what changes.)
  const botIdentity = keptOnceItWorks(() => identityClient.auth.test());
  botIdentity().catch(() => undefined);
  const app = new App({
    // Bolt's default keeps a per-conversation state store on every request; nothing here reads it.
    convoStore: false,
    authorize: async () => {
      try {
        const r = await botIdentity();
        return { botToken: o.botToken, botId: r.bot_id, botUserId: r.user_id, teamId: r.team_id };
      } catch {
        return { botToken: o.botToken };
      }
    },
    logger: slackLogger(o.logger, 'bolt'),
    clientOptions,
    ...(o.appToken
      ? { socketMode: true, appToken: o.appToken, signingSecret: o.signingSecret, installerOptions: { clientOptions } }
      : { receiver: httpReceiver(o, log) }),
  });
  // The workspace allowed in: the policy's, or else the one the bot token belongs to (asked once, kept).
  const tokenTeam = keptOnceItWorks(async () => (await identityClient.auth.test()).team_id);
  // First of all: the whole handling of a request is work in flight (an action acks first, then works).
  app.use(async ({ next, body }) => {
    // Every line this request's handling writes (its follow-up work too) names the Slack user and, for a
    // click, the request it acts on.
    const work = withLogFields(requestLogFields(body), () => next());
    o.onWork?.(work.catch(() => undefined));
    await work;
  });
  app.use(workspaceGuard(o, log, () => (o.teamId ? Promise.resolve(o.teamId) : tokenTeam())));
  const home = o.home ?? new HomeTab({ client: identityClient, home: (user) => o.service.home(user), logger: log });
  registerListeners(app, o, log, home);
  app.error(async (err) => {
    log.error({ err }, 'unhandled Slack error');
  });
  return app;
}

type Middleware = Parameters<App['use']>[0];

/** Refuses, before any listener runs, every request from another workspace or with a response_url not Slack's. */
function workspaceGuard(o: BoltAppOptions, log: Logger, expectedTeam: () => Promise<string | undefined>): Middleware {
  return async (args) => {
    const { body, next } = args;
    const ack = (args as { ack?: (response?: unknown) => Promise<void> }).ack;
    const isCommand = typeof (body as { command?: unknown }).command === 'string';
    const answer = (text: string) => ack?.(isCommand ? { response_type: 'ephemeral', text } : undefined).catch(() => undefined);
    const refuse = async (code: RefusalCode, detail: string, reply: string) => {
      log.warn({ user: userOf(body), detail }, 'Slack request refused');
      await answer(reply);
      await o.service.refuseCaller(userOf(body), 'slack-request', code, detail).catch((err: unknown) => log.warn({ err }, 'could not audit a refused request'));
    };
    let expected: string | undefined;
    try {
      expected = await expectedTeam();
    } catch (err) {
      log.error({ err }, 'could not learn the bot token’s workspace (auth.test): refusing requests until it works');
      await answer(CANNOT_VERIFY);
      return;
    }
    const team = teamOf(body);
    if (!expected || team !== expected) return refuse('other-workspace', `request from workspace ${team?.slice(0, 40) ?? '(none)'} refused`, OTHER_WORKSPACE);
    if (responseUrlsOf(body).some((u) => !isTrustedResponseUrl(u, o.apiUrl)))
      return refuse('untrusted-origin', 'request with a response_url outside hooks.slack.com refused', SLACK_REPLIES.notFromSlack);
    await next();
  };
}

type ButtonAction = import('@slack/bolt').BlockAction<import('@slack/bolt').ButtonAction>;

/** Listeners ack at once with the reply, then run the use case's follow-up work. */
function registerListeners(app: App, o: BoltAppOptions, log: Logger, home: HomeTab): void {
  const runAfter = (outcome: Outcome, what: string) => {
    if (!outcome.after) return;
    // Started whether or not anyone is told (`o.onWork?.(run())` would not run it without onWork).
    const work = outcome.after().catch((err: unknown) => log.error({ err }, `${what}: follow-up work failed`));
    o.onWork?.(work);
  };
  // A use case that throws (Redis away) has changed nothing: the person is asked to try again.
  const attempt: Attempt = async (what, run) => {
    try {
      const outcome = await run();
      const message = outcome.reply && replyMessage(outcome.reply);
      return { ...outcome, text: message?.text, message };
    } catch (err) {
      log.error({ err }, `${what} failed`);
      return { text: TRY_AGAIN };
    }
  };
  // A click on the Home tab has no channel: the answer is shown on top of the clicker's Home tab instead.
  const ephemeral = (body: ButtonAction, client: App['client'], text: string | undefined) =>
    text && body.channel?.id
      ? client.chat.postEphemeral({ channel: body.channel.id, user: body.user.id, text }).catch((err: unknown) => log.warn({ err }, 'ephemeral failed'))
      : text && body.view?.type === 'home'
        ? home.publish(body.user.id, text)
        : undefined;

  app.command('/jump', slashCommandListener(o, log, attempt, runAfter));
  // Buttons and forms: one Bolt listener each for all actions and all views, dispatching by id.
  const listeners = new SlackListeners(app);
  const buttons = { service: o.service, log, attempt, runAfter, ephemeral };
  registerGrantButtons(listeners, buttons);
  registerExtendForm(listeners, buttons);
  registerReviewButton(listeners, buttons);
  registerHomeTab(listeners, { service: o.service, home, log });

  registerApprove(listeners, buttons);

  registerApproveForMenu(listeners);

  listeners.action<ButtonAction>(ACTION_DENY, async ({ ack, body, action, client }) => {
    await ack();
    await ephemeral(body, client, await openDenyForm(o, log, attempt, action.value ?? '', body, client));
  });

  listeners.view(VIEW_DENY_REASON, async ({ ack, body, view }) => {
    const reason = view.state.values[DENY_REASON_BLOCK]?.[DENY_REASON_INPUT]?.value ?? '';
    if (reason.trim() === '') {
      await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK]: SLACK_REPLIES.denyReasonNeeded } });
      return;
    }
    const outcome = await attempt('deny', () => o.service.deny(view.private_metadata, body.user.id, reason));
    if (outcome.text) await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK]: outcome.text } });
    else await ack();
    runAfter(outcome, 'deny');
  });
  listeners.attach();
}

/** Approve: the approval's first read goes out before the ack is written, so the two overlap (the ack is not
 * held up: the use case runs only up to that read before it). */
function registerApprove(app: SlackListeners, b: ButtonDeps): void {
  app.action<ButtonAction>(ACTION_APPROVE, async ({ ack, body, action, client }) => {
    const approvedFor = chosenApproveFor(body.state as ActionsState | undefined, action.block_id); // the menu next to Approve
    const approving = b.attempt('approve', () => b.service.approve(action.value ?? '', body.user.id, approvedFor));
    await ack();
    const outcome = await approving;
    await b.ephemeral(body, client, outcome.text);
    b.runAfter(outcome, 'approve');
  });
}

/** A reply in words (`text`), and as the message a slash command answers with (`message`: blocks and metadata too). */
type Attempt = (what: string, run: () => Promise<Outcome>) => Promise<Outcome & { text?: string; message?: ReturnType<typeof replyMessage> }>;

/** `/jump`: the reply is the ack when it is ready within the ack deadline; otherwise a "working" ack, then the reply. */
function slashCommandListener(o: BoltAppOptions, log: Logger, attempt: Attempt, runAfter: (outcome: Outcome, what: string) => void) {
  const ackDeadlineMs = o.ackDeadlineMs ?? 2000;
  return async ({ command, ack, respond, client }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    // `/jump request` alone opens the request form (with this command's trigger); its words only if Slack did not.
    const formOr = async (outcome: Awaited<ReturnType<Attempt>>) =>
      outcome.reply?.kind === 'request-form' && (await openRequestForm(client, command.trigger_id, outcome.reply.form, log)) ? { ...outcome, text: undefined } : outcome;
    const pending = attempt('/jump', () => o.service.command(command.user_id, command.text ?? '')).then(formOr);
    // Slack forgets a command not acked within 3 s (the user sees operation_timeout, the request may exist or
    // not): a slow store (Redis WAITing for a replica, a failover) gets a "working" ack, the outcome follows
    // on the response_url, replacing it. Either way it is answered once.
    const early = await within(pending, ackDeadlineMs);
    if (early) {
      await ack(early.text ? { response_type: 'ephemeral', ...early.message, text: early.text } : undefined);
      runAfter(early, '/jump');
      return;
    }
    await ack({ response_type: 'ephemeral', text: SLACK_REPLIES.working });
    const outcome = await pending;
    log.warn({ user: command.user_id, ackDeadlineMs }, '/jump: outcome later than the ack deadline, answered on the response_url');
    if (outcome.text)
      await respond({ response_type: 'ephemeral', replace_original: true, ...outcome.message, text: outcome.text }).catch((err: unknown) => log.warn({ err }, '/jump: late answer on the response_url failed'));
    runAfter(outcome, '/jump');
  };
}

/** Deny asks for a reason first: a modal opened with the trigger of this click. Returns the reply to show, if any. */
async function openDenyForm(
  o: BoltAppOptions,
  log: Logger,
  attempt: (what: string, run: () => Promise<Outcome>) => Promise<{ text?: string }>,
  requestId: string,
  body: ButtonAction,
  client: App['client'],
): Promise<string | undefined> {
  let formNotOpened = false;
  const outcome = await attempt('deny', async () => {
    const check = await o.service.prepareDeny(requestId, body.user.id);
    if (!check.ok) return { reply: check.reply };
    formNotOpened = !(await openForm(client, body.trigger_id, denyReasonModal(requestId, check.host), log, 'deny form', { requestId }));
    return {};
  });
  return formNotOpened ? FORM_NOT_OPENED : outcome.text;
}

/**
 * The HTTP receiver: Bolt's, behind our own check of every POST (signed-request.ts: body limit, timestamp both
 * ways, Slack's signature; Bolt's own signature check is off, as it costs more than the rest of its request path).
 */
function httpReceiver(o: BoltAppOptions, log: Logger): HTTPReceiver {
  const limit = o.maxBodyBytes ?? 128 * 1024;
  const receiver = new HTTPReceiver({
    signingSecret: o.signingSecret,
    // Checked below, before Bolt sees the request: nothing reaches Bolt unsigned.
    signatureVerification: false,
    endpoints: '/slack/events',
    logger: slackLogger(o.logger, 'bolt'),
    bodyLimit: limit,
    customRoutes: HEALTH_PATHS.map((path) => ({
      path,
      method: ['GET', 'HEAD'],
      handler: (_req, res) => void answerHealth(o.health ?? { readiness: {} }, path, res),
    })),
  });
  const bolt = receiver.requestListener;
  const now = o.now ?? Date.now;
  receiver.requestListener = (req, res) => {
    // GET and HEAD are the health routes (and Bolt's 404s): only a POST can carry a Slack request.
    if (req.method !== 'POST') return bolt(req, res);
    readSignedBody(req, { signingSecret: o.signingSecret, limit, nowMs: now() }).then(
      (signed) => {
        if (signed.ok) {
          // Bolt reads a body it is given as rawBody instead of the stream (bufferIncomingMessage).
          Object.assign(req, { rawBody: signed.body });
          return bolt(req, res);
        }
        if (signed.problem) log.warn({ problem: signed.problem, path: req.url }, 'Slack request refused');
        res.writeHead(signed.status).end();
      },
      (err: unknown) => {
        log.warn({ err, path: req.url }, 'Slack request could not be read');
        res.writeHead(400).end();
      },
    );
  };
  return receiver;
}
