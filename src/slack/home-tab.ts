// The Home tab: published (views.publish) when the person opens it (app_home_opened) and whenever one of its
// items changes (the notifier's homeChanged, for the requester and the host's owners); its "Request access"
// button opens the request form, which `/jump request` alone and Request again open too.
import type { SlackListeners } from './slack-listeners.ts';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { RequestForm } from '../domain/requestable-hosts.ts';
import type { AccessService, HomeContents } from '../service/access-service.ts';
import { homeView } from './home-view.ts';
import { SLACK_REPLIES } from './messages.ts';
import { ACTION_OPEN_REQUEST_FORM, requestFormModal } from './request-form.ts';
import { explainSlackError, openForm } from './web-client.ts';

export class HomeTab {
  /** per person, the publish in flight: the next one waits for it, so the last one shows the latest state */
  private readonly inFlight = new Map<string, Promise<void>>();
  /**
   * per person, a publish without a notice that waits for the one in flight: later changes share it, since it
   * reads the state when it starts (an owner approving 1,000 requests gets a handful of publishes, not 1,000
   * of which each reads the whole queue)
   */
  private readonly waiting = new Map<string, Promise<void>>();

  constructor(private readonly deps: { client: WebClient; home: (user: string) => Promise<HomeContents>; logger: Logger }) {}

  /** Shows `user` their Home tab as it stands now, with `notice` (the answer to their last click there) on top. Never throws. */
  publish(user: string, notice?: string): Promise<void> {
    const shared = notice === undefined ? this.waiting.get(user) : undefined;
    if (shared) return shared;
    const previous = this.inFlight.get(user) ?? Promise.resolve();
    const next: Promise<void> = previous.then(() => {
      if (this.waiting.get(user) === next) this.waiting.delete(user);
      return this.publishNow(user, notice);
    });
    if (notice === undefined) this.waiting.set(user, next);
    this.inFlight.set(user, next);
    void next.finally(() => {
      if (this.inFlight.get(user) === next) this.inFlight.delete(user);
    });
    return next;
  }

  /** The notifier's homeChanged: every one of these people sees their Home tab afresh. */
  async changed(userIds: readonly string[]): Promise<void> {
    await Promise.all(userIds.map((u) => this.publish(u)));
  }

  private async publishNow(user: string, notice?: string): Promise<void> {
    try {
      const view = homeView(await this.deps.home(user), notice);
      await this.deps.client.views.publish({ user_id: user, view: view as never });
    } catch (err) {
      explainSlackError(err, 'views.publish', { user_id: user });
      this.deps.logger.warn({ err, user }, 'could not publish the Home tab');
    }
  }
}

/** Opens the request form with the trigger of the interaction it answers: false if Slack did not open it. */
export function openRequestForm(client: WebClient, triggerId: string, form: RequestForm, log: Logger): Promise<boolean> {
  return openForm(client, triggerId, requestFormModal(form), log, 'request form');
}

type ButtonAction = import('@slack/bolt').BlockAction<import('@slack/bolt').ButtonAction>;

export function registerHomeTab(app: SlackListeners, d: { service: AccessService; home: HomeTab; log: Logger }): void {
  app.event('app_home_opened', async ({ event }) => {
    // The Messages tab opens too: only the Home tab is ours to draw.
    if (event.tab !== 'home') return;
    await d.home.publish(event.user);
  });

  app.action<ButtonAction>(ACTION_OPEN_REQUEST_FORM, async ({ ack, body, client }) => {
    await ack();
    const opened = await openRequestForm(client, body.trigger_id, await d.service.requestForm(body.user.id), d.log);
    if (!opened) await d.home.publish(body.user.id, SLACK_REPLIES.requestFormNotOpened);
  });
}
