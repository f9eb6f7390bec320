// An approval's sync, asked for in the same turn as the approval is sent: the sync's lock and render reads go to
// Redis on the same connection right behind the approve script, so Redis answers them with the approval already
// applied, and the block is rendered and written while the approval's own answer (and WAIT, with replicas) is
// still on its way. One Redis round trip and the follow-up's start-up leave the Approve → key line path.
// The rename still waits: until the approval's outcome is known and, for an activation, its revoke job is
// scheduled (installLine opens it with that); anything else opens it at once (nothing of this approval to guard).
import type { BlockSync } from './ports.ts';

export type SyncOutcome = Awaited<ReturnType<BlockSync['sync']>>;

export interface SyncAhead {
  readonly jumpHost: string;
  /** the sync asked for with the approval: it ran after the approval reached Redis (same connection) */
  readonly synced: Promise<SyncOutcome>;
  /** lets the write's rename go ahead once `before` is done; the first call counts, later ones do nothing */
  proceed(before?: Promise<unknown>): void;
}

/**
 * `synced` (a sync asked for ahead) if it shows the change (`shows`), else one sync asked for now: Redis ran the
 * ahead sync's reads after the change only if they reached it in that order (a reconnect between the two can
 * swap them).
 */
export async function confirmed(sync: BlockSync, jumpHost: string, synced: Promise<SyncOutcome>, shows: (r: SyncOutcome) => boolean): Promise<SyncOutcome> {
  const r = await synced;
  return shows(r) ? r : sync.sync(jumpHost);
}

/** Asks for `jumpHost`'s sync now, its rename held until `proceed`. Call right after sending the approval. */
export function syncAhead(sync: BlockSync, jumpHost: string): SyncAhead {
  let open!: (before: Promise<unknown>) => void;
  let opened = false;
  const gate = new Promise<unknown>((resolve) => (open = resolve));
  const synced = sync.sync(jumpHost, gate);
  synced.catch(() => undefined); // its caller awaits it; one that never does must not leave a rejection unhandled
  return {
    jumpHost,
    synced,
    proceed(before = Promise.resolve()) {
      if (opened) return;
      opened = true;
      open(before.catch(() => undefined));
    },
  };
}
