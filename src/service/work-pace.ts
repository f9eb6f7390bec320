// Follow-up work that does not gate access (scheduling jobs, posting messages) runs a few at a time: in a burst
// of approvals the key lines, which each follow-up installs first, do not wait behind a thousand Slack posts.
// Idle most of the time: with fewer than `limit` follow-ups at once nothing waits.
export class WorkPace {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  readonly run = async <T>(work: () => Promise<T>): Promise<T> => {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  };
}
