// The one code path that changes a jump server: render the desired block from the store, write it if different.
// At most one sync per jump host runs at a time in this process; calls made while one runs share the next run.
import type { Logger } from 'pino';
import type { JumpHostConfig, Policy } from '../config/policy.ts';
import type { Clock } from '../domain/clock.ts';
import { renderableGrants } from '../domain/desired-block.ts';
import { parseAuthorizedKeys, renderKeyLines, spliceManagedBlock, type ExpiryFormat } from '../domain/managed-block.ts';
import type { KeyStore } from '../store/key-store.ts';
import type { RequestStore } from '../store/request-store.ts';

export interface OpenSshVersionInfo {
  raw?: string;
  openssh?: { major: number; minor: number };
}

export interface AuthorizedKeysUpdater {
  updateAuthorizedKeys(
    jh: JumpHostConfig,
    update: (current: string, server: OpenSshVersionInfo | undefined) => string,
  ): Promise<{ changed: boolean; before: string; after: string }>;
}

export interface SyncResult {
  jumpHost: string;
  changed: boolean;
  lines: number;
  grantIds: string[];
  /** key lines that stood in the block but that the broker would not render now */
  removedLines: string[];
  expiryFormat: ExpiryFormat;
}

export function expiryFormatFor(server: OpenSshVersionInfo | undefined, jh: JumpHostConfig): ExpiryFormat {
  const v = server?.openssh;
  if (!v) return 'utc'; // not OpenSSH or unknown banner: assume a current sshd, check-config warns
  const at = (major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor);
  if (at(9, 1)) return 'utc';
  if (at(7, 7) && jh.utcExpiryOnOldServers) return 'local';
  return 'none';
}

interface Slot {
  running?: Promise<SyncResult>;
  next?: Promise<SyncResult>;
  timer?: NodeJS.Timeout;
}

export class JumpHostSync {
  private readonly slots = new Map<string, Slot>();
  private stopped = false;

  constructor(
    private readonly deps: {
      policy: Policy;
      requests: RequestStore;
      keys: KeyStore;
      updater: AuthorizedKeysUpdater;
      clock: Clock;
      logger: Logger;
      /** attempts per sync before the error is returned to the caller */
      attempts?: number;
      retryBaseMs?: number;
    },
  ) {}

  jumpHost(name: string): JumpHostConfig {
    const jh = this.deps.policy.jumpHosts.find((j) => j.name === name);
    if (!jh) throw new Error(`no jump host named ${name}`);
    return jh;
  }

  /** Resolves once a sync that started after this call has finished. */
  sync(jumpHostName: string): Promise<SyncResult> {
    const slot = this.slots.get(jumpHostName) ?? {};
    this.slots.set(jumpHostName, slot);
    if (!slot.running) {
      slot.running = this.runWithRetry(jumpHostName).finally(() => {
        slot.running = undefined;
      });
      return slot.running;
    }
    // A sync is running and may have read the store before our change: queue exactly one more.
    slot.next ??= slot.running
      .catch(() => undefined)
      .then(() => {
        slot.next = undefined;
        return this.sync(jumpHostName);
      });
    return slot.next;
  }

  async syncAll(): Promise<SyncResult[]> {
    return Promise.all(this.deps.policy.jumpHosts.map((j) => this.sync(j.name)));
  }

  private async runWithRetry(name: string): Promise<SyncResult> {
    const attempts = this.deps.attempts ?? 4;
    const base = this.deps.retryBaseMs ?? 250;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.runOnce(name);
        this.armExpiryTimer(name).catch((err: unknown) => this.deps.logger.warn({ err, jumpHost: name }, 'could not arm the expiry timer'));
        return result;
      } catch (err) {
        if (attempt >= attempts || this.stopped) {
          this.deps.logger.error({ err, jumpHost: name, attempt }, 'jump host sync failed');
          throw err;
        }
        // Exponential backoff with full jitter, so replicas and retries do not hammer a struggling server together.
        const delay = Math.random() * base * 2 ** (attempt - 1);
        this.deps.logger.warn({ err, jumpHost: name, attempt, delayMs: Math.round(delay) }, 'jump host sync failed, retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Renders what the block should hold at this instant and writes it if the server differs. */
  private async runOnce(name: string): Promise<SyncResult> {
    const jh = this.jumpHost(name);
    const { requests, keys, policy, clock, updater } = this.deps;
    const now = clock.now();
    const grants = await requests.getMany(await requests.activeGrantIds(name, now));
    const keyLines = await keys.linesFor(grants.map((g) => g.requester));
    const renderable = renderableGrants(policy, grants, keyLines);
    let lines: string[] = [];
    let removed: string[] = [];
    let format: ExpiryFormat = 'utc';
    const started = Date.now();
    const { changed } = await updater.updateAuthorizedKeys(jh, (current, server) => {
      format = expiryFormatFor(server, jh);
      // Rendered at write time with a fresh clock so a grant that expired while we connected is left out.
      lines = renderKeyLines(renderable, clock.now(), format);
      const existing = parseAuthorizedKeys(current).block ?? [];
      removed = existing.filter((l) => !lines.includes(l));
      return spliceManagedBlock(current, lines);
    });
    this.deps.logger.debug({ jumpHost: name, changed, lines: lines.length, ms: Date.now() - started }, 'jump host synced');
    return { jumpHost: name, changed, lines: lines.length, grantIds: renderable.map((g) => g.id), removedLines: removed, expiryFormat: format };
  }

  /** Safety net besides the revoke jobs: re-sync when the earliest rendered grant ends. */
  private async armExpiryTimer(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot || this.stopped) return;
    clearTimeout(slot.timer);
    const next = await this.deps.requests.nextExpiry(name, this.deps.clock.now());
    if (next === undefined) return;
    const delay = Math.max(0, Math.min(next - this.deps.clock.now() + 50, 2 ** 31 - 1));
    slot.timer = setTimeout(() => {
      this.sync(name).catch(() => undefined);
    }, delay);
    slot.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const pending: Promise<unknown>[] = [];
    for (const slot of this.slots.values()) {
      clearTimeout(slot.timer);
      if (slot.running) pending.push(slot.running.catch(() => undefined));
      if (slot.next) pending.push(slot.next.catch(() => undefined));
    }
    await Promise.all(pending);
  }
}
