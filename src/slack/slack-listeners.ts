// Every button and form of the app behind one Bolt action listener and one view listener, each dispatching by
// id through a map. Bolt runs each registered listener's middleware chain (its filters and matchers, each with
// a fresh copy of the arguments) for every request: with a listener per button that was ≈ 25 middleware calls
// per click, most of them to find out that the click was not theirs. Unknown ids match neither listener, as
// before (Bolt leaves them unanswered).
import type { AllMiddlewareArgs, App, SlackAction, SlackActionMiddlewareArgs, SlackViewAction, SlackViewMiddlewareArgs } from '@slack/bolt';

type ActionHandler<A extends SlackAction> = (args: SlackActionMiddlewareArgs<A> & AllMiddlewareArgs) => Promise<void>;
type ViewHandler = (args: SlackViewMiddlewareArgs<SlackViewAction> & AllMiddlewareArgs) => Promise<void>;

/** A regular expression matching exactly one of `ids`. */
function exactly(ids: readonly string[]): RegExp {
  return new RegExp(`^(?:${ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
}

export class SlackListeners {
  private readonly actions = new Map<string, { blockId?: string; handler: ActionHandler<SlackAction> }>();
  private readonly views = new Map<string, ViewHandler>();
  /** events go to Bolt as they are (one listener) */
  readonly event: App['event'];

  constructor(private readonly app: App) {
    this.event = app.event.bind(app);
  }

  /** The handler of the block action `action_id` (and, if given, only in the block `block_id`). */
  action<A extends SlackAction = SlackAction>(on: string | { action_id: string; block_id?: string }, handler: ActionHandler<A>): void {
    const { action_id, block_id } = typeof on === 'string' ? { action_id: on, block_id: undefined } : on;
    if (this.actions.has(action_id)) throw new Error(`two listeners for the action ${action_id}`);
    this.actions.set(action_id, { blockId: block_id, handler: handler as unknown as ActionHandler<SlackAction> });
  }

  /** The handler of the submission of views whose callback_id is one of `callbackIds`. */
  view(callbackIds: string | readonly string[], handler: ViewHandler): void {
    for (const id of typeof callbackIds === 'string' ? [callbackIds] : callbackIds) {
      if (this.views.has(id)) throw new Error(`two listeners for the view ${id}`);
      this.views.set(id, handler);
    }
  }

  /** Registers the two dispatching listeners with Bolt: after every `action` and `view` above. */
  attach(): void {
    if (this.actions.size > 0)
      this.app.action({ action_id: exactly([...this.actions.keys()]) }, async (args) => {
        const { action_id, block_id } = args.payload as { action_id: string; block_id?: string };
        const listener = this.actions.get(action_id)!;
        // Bolt's own block_id constraint: another block's action with this id is no one's.
        if (listener.blockId !== undefined && block_id !== listener.blockId) return;
        await listener.handler(args);
      });
    if (this.views.size > 0)
      this.app.view({ callback_id: exactly([...this.views.keys()]) }, async (args) => {
        await this.views.get(args.view.callback_id)!(args);
      });
  }
}
