// Reads the audit stream (written only by lua/include/audit-append.lua): events in order with their chain
// fields, the chain head, and retention by age. Stream entry ids are Redis's clock at append time, so a time
// range selects entries by when Redis stored them.
import type { Redis } from 'ioredis';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { ChainedAuditEvent, Checkpoint } from '../domain/audit-chain.ts';
import { redisKeys } from './redis-keys.ts';

/** One stored event: the canonical JSON exactly as hashed, and the event with its chain fields. */
export interface StoredAuditEvent {
  streamId: string;
  /** the canonical encoding the hash covers (what an export writes, with the chain fields added) */
  canonical: string;
  event: ChainedAuditEvent;
}

const PAGE = 1000;

export class AuditLog {
  private readonly stream: string;

  get streamKey(): string {
    return this.stream;
  }

  constructor(
    private readonly redis: Redis,
    prefix?: string,
  ) {
    this.stream = redisKeys(prefix).auditStream;
  }

  /**
   * Events stored from `sinceMs` up to and including `untilMs`, oldest first, in pages (an export of years
   * never holds the whole stream in memory). Entries from before the chain existed carry seq 0.
   */
  async *range(sinceMs: number, untilMs?: number): AsyncGenerator<StoredAuditEvent> {
    let start = `${Math.max(0, Math.floor(sinceMs))}-0`;
    const end = untilMs === undefined ? '+' : `${Math.floor(untilMs)}-18446744073709551615`;
    for (;;) {
      const page = (await this.redis.xrange(this.stream, start, end, 'COUNT', PAGE)) as [string, string[]][];
      for (const [streamId, fields] of page) {
        const stored = parseEntry(streamId, fields);
        if (stored) yield stored;
      }
      if (page.length < PAGE) return;
      start = `(${page[page.length - 1]![0]}`;
    }
  }

  /** The events alone, oldest first (`/jump audit` folds them as they come). */
  async *events(sinceMs: number, untilMs?: number): AsyncGenerator<AuditEvent> {
    for await (const stored of this.range(sinceMs, untilMs)) yield stored.event;
  }

  /** Every event stored in the window, oldest first (summaries and the digest: bounded windows). */
  async list(sinceMs: number, untilMs?: number): Promise<StoredAuditEvent[]> {
    const out: StoredAuditEvent[] = [];
    for await (const e of this.range(sinceMs, untilMs)) out.push(e);
    return out;
  }

  /** The newest event's seq and hash (what a checkpoint posts), and when it was stored; undefined when empty. */
  async head(): Promise<(Checkpoint & { at: number }) | undefined> {
    const [last] = (await this.redis.xrevrange(this.stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
    const stored = last && parseEntry(last[0], last[1]);
    return stored && stored.event.seq > 0 ? { seq: stored.event.seq, hash: stored.event.hash, at: stored.event.at } : undefined;
  }

  /**
   * Drops events stored before `now - retentionMs`, but never the newest (the chain continues from its hash).
   * Returns how many went.
   */
  async trim(retentionMs: number, now: number): Promise<number> {
    const [last] = (await this.redis.xrevrange(this.stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
    if (!last) return 0;
    const lastMs = Number(last[0].split('-')[0]);
    const cutoff = Math.min(Math.floor(now - retentionMs), lastMs);
    // Exact trim (no ~): an event inside the retention window is never dropped, an expired one is never kept
    // by accident of stream node boundaries.
    return this.redis.xtrim(this.stream, 'MINID', `${cutoff}-0`);
  }
}

function parseEntry(streamId: string, fields: string[]): StoredAuditEvent | undefined {
  const get = (name: string) => {
    for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const canonical = get('e');
  if (canonical === undefined) return undefined;
  let event: AuditEvent;
  try {
    event = JSON.parse(canonical) as AuditEvent;
  } catch {
    return undefined;
  }
  const seq = Number(get('seq') ?? 0);
  return { streamId, canonical, event: { ...event, seq, prev: get('prev') ?? '', hash: get('hash') ?? '' } };
}
