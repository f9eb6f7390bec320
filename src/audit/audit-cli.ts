// `jit-jump audit export` and `jit-jump audit verify`: the audit trail out of Redis, and its proof. Export needs
// only REDIS_URL; verify needs nothing but the file (and the checkpoints posted in the audit channel).
import { readFileSync } from 'node:fs';
import { formatCheckpoint, parseCheckpoint, verifyChain, type Checkpoint } from '../domain/audit-chain.ts';
import { AuditLog } from '../store/audit-log.ts';
import { connectOnce } from '../store/redis-connection.ts';
import { csvHeader, csvRow, jsonlLine, type ExportFormat } from './audit-export.ts';

export interface ExportOptions {
  redisUrl: string;
  redisPrefix?: string;
  since: string | undefined;
  until: string | undefined;
  format: string | undefined;
  write: (text: string) => Promise<void> | void;
  error: (line: string) => void;
}

/** An ISO 8601 time (a date alone is midnight UTC); undefined when it is none. */
function parseTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export async function auditExport(o: ExportOptions): Promise<number> {
  if (!o.since) {
    o.error('jit-jump audit export: --since <ISO time> is required (e.g. --since 2026-01-01)');
    return 2;
  }
  const since = parseTime(o.since);
  if (since === undefined) {
    o.error(`jit-jump audit export: --since "${o.since}" is not an ISO 8601 time (e.g. 2026-01-01 or 2026-01-01T09:00:00Z)`);
    return 2;
  }
  const until = o.until === undefined ? undefined : parseTime(o.until);
  if (o.until !== undefined && until === undefined) {
    o.error(`jit-jump audit export: --until "${o.until}" is not an ISO 8601 time (e.g. 2026-02-01T00:00:00Z)`);
    return 2;
  }
  if (until !== undefined && until < since) {
    o.error('jit-jump audit export: --until is before --since');
    return 2;
  }
  const format = (o.format ?? 'jsonl') as ExportFormat;
  if (format !== 'jsonl' && format !== 'csv') {
    o.error(`jit-jump audit export: --format must be jsonl or csv, not "${o.format}"`);
    return 2;
  }
  let redis: Awaited<ReturnType<typeof connectOnce>> | undefined;
  try {
    redis = await connectOnce(o.redisUrl, 30_000);
    if (format === 'csv') await o.write(`${csvHeader()}\n`);
    for await (const stored of new AuditLog(redis, o.redisPrefix).range(since, until)) {
      await o.write(`${format === 'csv' ? csvRow(stored) : jsonlLine(stored)}\n`);
    }
    return 0;
  } catch (err) {
    o.error(`jit-jump audit export: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    redis?.disconnect();
  }
}

export interface VerifyOptions {
  file: string | undefined;
  checkpoints: readonly string[];
  print: (line: string) => void;
  error: (line: string) => void;
}

/** 0: intact (and through every checkpoint); 1: the first bad event named; 2: usage. */
export function auditVerify(o: VerifyOptions): number {
  if (!o.file) {
    o.error('jit-jump audit verify: name the exported file (jit-jump audit verify audit.jsonl [--checkpoint <seq>:<hash> …])');
    return 2;
  }
  const checkpoints: Checkpoint[] = [];
  for (const text of o.checkpoints) {
    const c = parseCheckpoint(text);
    if (!c) {
      o.error(`jit-jump audit verify: --checkpoint "${text}" is not <seq>:<sha256 hex> as posted in the audit channel`);
      return 2;
    }
    checkpoints.push(c);
  }
  let text: string;
  try {
    text = readFileSync(o.file, 'utf8');
  } catch (err) {
    o.error(`jit-jump audit verify: cannot read ${o.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return 2;
  }
  if (text.startsWith('seq,')) {
    o.error('jit-jump audit verify: this is a CSV export; verify the JSONL export (--format jsonl, the default)');
    return 2;
  }
  const result = verifyChain(text.split('\n'), checkpoints);
  if (!result.ok) {
    const where = result.line > 0 ? `line ${result.line}${result.seq !== undefined ? ` (seq ${result.seq})` : ''}: ` : '';
    o.error(`FAILED: ${where}${result.problem}`);
    return 1;
  }
  if (result.events === 0) {
    o.print('OK: the file holds no events');
    return 0;
  }
  o.print(
    `OK: ${result.events} event(s), seq ${result.first!.seq} to ${result.last!.seq}, chain intact; head ${formatCheckpoint(result.last!)}` +
      (result.checkpoints ? `; passes through ${result.checkpoints} checkpoint(s)` : '; no checkpoint given (pass those posted in the audit channel with --checkpoint)'),
  );
  return 0;
}
