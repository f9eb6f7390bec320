// The audit trail's hash chain: the same rules as src/store/lua/include/audit-append.lua, which appends. Each
// event is hashed in its canonical encoding (JSON, keys sorted, whole numbers) with its sequence number and
// the previous event's hash, so editing, deleting, reordering or inserting an event breaks every hash after
// it; a chain head posted outside Redis (a checkpoint) catches a chain recomputed by whoever can write Redis.
import { createHash } from 'node:crypto';
import type { AuditEvent } from './audit-event.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** The chain fields an exported event carries besides its own. */
export interface ChainFields {
  seq: number;
  prev: string;
  hash: string;
}
export type ChainedAuditEvent = AuditEvent & ChainFields;

export interface Checkpoint {
  seq: number;
  hash: string;
}

/**
 * JSON with keys sorted and numbers whole (audit times and durations are milliseconds): what Lua writes and the
 * verifier recomputes. Non-finite numbers become null, as JSON.stringify writes them.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(Math.round(value) || 0) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return value.length ? `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]` : '{}';
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return 'null';
}

export function chainHash(prev: string, seq: number, canonicalEvent: string): string {
  return createHash('sha256').update(`${prev}\n${seq}\n${canonicalEvent}`, 'utf8').digest('hex');
}

/** An exported line's event without its chain fields. */
export function withoutChainFields(line: Record<string, unknown>): Record<string, unknown> {
  const { seq: _seq, prev: _prev, hash: _hash, ...event } = line;
  return event;
}

/** `<seq>:<hash>` as posted in the audit channel; undefined when malformed. */
export function parseCheckpoint(text: string): Checkpoint | undefined {
  const m = /^([1-9][0-9]*):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { seq: Number(m[1]), hash: m[2]! } : undefined;
}

export function formatCheckpoint(c: Checkpoint): string {
  return `${c.seq}:${c.hash}`;
}

export type VerifyResult =
  | { ok: true; events: number; first?: Checkpoint; last?: Checkpoint; checkpoints: number }
  | {
      ok: false;
      /** 1-based line of the export where the chain breaks (0: the export as a whole) */
      line: number;
      seq?: number;
      problem: string;
    };

/**
 * Verifies exported lines (JSONL text, one event a line) in order: each line parses, carries its chain fields,
 * follows the one before (seq + 1, prev = its hash) and hashes to its own hash; every checkpoint lies within
 * the export and matches the event of its seq. The first event's prev cannot be checked (the export may start
 * after the chain did): a checkpoint at or before it pins it.
 */
export function verifyChain(lines: readonly string[], checkpoints: readonly Checkpoint[] = []): VerifyResult {
  const bySeq = new Map(checkpoints.map((c) => [c.seq, c.hash]));
  let previous: ChainFields | undefined;
  let first: Checkpoint | undefined;
  let events = 0;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const line = i + 1;
    if (text.trim() === '') {
      if (i === lines.length - 1) break;
      return { ok: false, line, problem: 'empty line inside the export' };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, line, problem: 'not JSON (edited or truncated)' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, line, problem: 'not an event object' };
    const record = parsed as Record<string, unknown>;
    const { seq, prev, hash } = record;
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1 || typeof prev !== 'string' || typeof hash !== 'string')
      return { ok: false, line, problem: 'missing its chain fields (seq, prev, hash)' };
    if (previous && seq !== previous.seq + 1)
      return {
        ok: false,
        line,
        seq,
        problem:
          seq <= previous.seq
            ? `seq ${seq} follows seq ${previous.seq}: events reordered or repeated`
            : `seq ${seq} follows seq ${previous.seq}: ${seq - previous.seq - 1} event(s) missing`,
      };
    if (previous && prev !== previous.hash) return { ok: false, line, seq, problem: `its prev does not match the hash of seq ${previous.seq}` };
    const expected = chainHash(prev, seq, canonicalJson(withoutChainFields(record)));
    if (expected !== hash) return { ok: false, line, seq, problem: 'its content does not match its hash (edited)' };
    const pinned = bySeq.get(seq);
    if (pinned !== undefined && pinned !== hash) return { ok: false, line, seq, problem: `does not match checkpoint ${seq}:${pinned}` };
    if (!previous && seq > 1) {
      const before = checkpoints.find((c) => c.seq === seq - 1);
      if (before && before.hash !== prev) return { ok: false, line, seq, problem: `its prev does not match checkpoint ${before.seq}:${before.hash}` };
    }
    previous = { seq, prev, hash };
    first ??= { seq, hash };
    events++;
  }
  for (const c of checkpoints) {
    const covered = first && previous && (c.seq >= first.seq - 1) && c.seq <= previous.seq;
    if (!covered) {
      if (!previous || c.seq > previous.seq)
        return {
          ok: false,
          line: 0,
          problem: `checkpoint ${c.seq} is past the export's last event${previous ? ` (seq ${previous.seq})` : ''}: events were removed from the end, or export with a later --until`,
        };
      return { ok: false, line: 0, problem: `checkpoint ${c.seq} is before the export's first event (seq ${first!.seq}): export from an earlier --since to check it` };
    }
  }
  return { ok: true, events, ...(first ? { first } : {}), ...(previous ? { last: { seq: previous.seq, hash: previous.hash } } : {}), checkpoints: checkpoints.length };
}
