// Bolt wiring: HTTP receiver at POST /slack/events (signature verified by Bolt), or Socket Mode when an app
// token is given. Listeners ack at once with the reply, then do the slow work (SSH, messages) after the ack.
import { App, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';
import type { AccessService, Outcome } from '../service/access-service.ts';
import { slackClientOptions } from './web-client.ts';
import { ACTION_APPROVE, ACTION_DENY, DENY_REASON_BLOCK, DENY_REASON_INPUT, denyReasonModal, VIEW_DENY_REASON } from './messages.ts';

export interface BoltAppOptions {
  botToken: string;
  signingSecret: string;
  appToken?: string;
  apiUrl?: string;
  /** only this workspace may use the broker (policy teamId) */
  teamId?: string;
  service: AccessService;
  logger: Logger;
  /** checked by GET /healthz */
  health?: () => Promise<boolean>;
  /** told about work that runs after an ack, so shutdown can wait for it */
  onAfterWork?: (work: Promise<void>) => void;
}

const TRY_AGAIN = 'jit-jump could not reach its database just now; nothing was changed. Please try again in a minute.';

function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level = LogLevel.INFO;
  return {
    debug: (...m: unknown[]) => child.debug(m.map(String).join(' ')),
    info: (...m: unknown[]) => child.info(m.map(String).join(' ')),
    warn: (...m: unknown[]) => child.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => child.error(m.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export function createBoltApp(o: BoltAppOptions): App {
  const clientOptions = slackClientOptions(o.apiUrl);
  const log = o.logger.child({ component: 'slack' });
  const app = new App({
    token: o.botToken,
    signingSecret: o.signingSecret,
    logger: boltLogger(o.logger),
    clientOptions,
    ...(o.appToken
      ? { socketMode: true, appToken: o.appToken, installerOptions: { clientOptions } }
      : {
          endpoints: '/slack/events',
          customRoutes: [
            {
              path: '/healthz',
              method: 'GET',
              handler: (_req, res) => {
                void (o.health?.() ?? Promise.resolve(true)).then(
                  (ok) => {
                    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
                  },
                  () => res.writeHead(503).end('{"ok":false}'),
                );
              },
            },
          ],
        }),
  });

  const runAfter = (outcome: Outcome, what: string) => {
    if (!outcome.after) return;
    o.onAfterWork?.(outcome.after().catch((err: unknown) => log.error({ err }, `${what}: follow-up work failed`)));
  };

  if (o.teamId) {
    app.use(async ({ body, next }) => {
      const b = body as { team_id?: string; team?: { id?: string }; user?: { team_id?: string } };
      const team = b.team_id ?? b.team?.id ?? b.user?.team_id;
      if (team !== o.teamId) {
        log.warn({ team }, 'request from another workspace refused');
        return;
      }
      await next();
    });
  }

  app.command('/jump', async ({ command, ack }) => {
    let outcome: Outcome;
    try {
      outcome = await o.service.command(command.user_id, command.text ?? '');
    } catch (err) {
      log.error({ err }, '/jump failed');
      await ack({ response_type: 'ephemeral', text: TRY_AGAIN });
      return;
    }
    await ack(outcome.reply ? { response_type: 'ephemeral', text: outcome.reply } : undefined);
    runAfter(outcome, '/jump');
  });

  app.action<import('@slack/bolt').BlockAction<import('@slack/bolt').ButtonAction>>(ACTION_APPROVE, async ({ ack, body, action, client }) => {
    await ack();
    let outcome: Outcome;
    try {
      outcome = await o.service.approve(action.value ?? '', body.user.id);
    } catch (err) {
      log.error({ err }, 'approve failed');
      outcome = { reply: TRY_AGAIN };
    }
    if (outcome.reply && body.channel?.id)
      await client.chat.postEphemeral({ channel: body.channel.id, user: body.user.id, text: outcome.reply }).catch((err: unknown) => log.warn({ err }, 'ephemeral failed'));
    runAfter(outcome, 'approve');
  });

  app.action<import('@slack/bolt').BlockAction<import('@slack/bolt').ButtonAction>>(ACTION_DENY, async ({ ack, body, action, client }) => {
    await ack();
    const requestId = action.value ?? '';
    let reply: string | undefined;
    try {
      const check = await o.service.prepareDeny(requestId, body.user.id);
      if (check.ok) await client.views.open({ trigger_id: body.trigger_id, view: denyReasonModal(requestId, check.host) as never });
      else reply = check.reply;
    } catch (err) {
      log.error({ err }, 'deny failed');
      reply = TRY_AGAIN;
    }
    if (reply && body.channel?.id)
      await client.chat.postEphemeral({ channel: body.channel.id, user: body.user.id, text: reply }).catch((err: unknown) => log.warn({ err }, 'ephemeral failed'));
  });

  app.view(VIEW_DENY_REASON, async ({ ack, body, view }) => {
    const reason = view.state.values[DENY_REASON_BLOCK]?.[DENY_REASON_INPUT]?.value ?? '';
    if (reason.trim() === '') {
      await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK]: 'Say why, so the requester knows what to do instead.' } });
      return;
    }
    let outcome: Outcome;
    try {
      outcome = await o.service.deny(view.private_metadata, body.user.id, reason);
    } catch (err) {
      log.error({ err }, 'deny failed');
      outcome = { reply: TRY_AGAIN };
    }
    if (outcome.reply) await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK]: outcome.reply } });
    else await ack();
    runAfter(outcome, 'deny');
  });

  app.error(async (err) => {
    log.error({ err }, 'unhandled Slack error');
  });
  return app;
}
