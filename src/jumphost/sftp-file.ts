// Whole-file SFTP reads and writes in as few round trips as the protocol allows. ssh2's readFile waits for
// open, fstat, read and close one after another (four round trips) and writeFile for open, write and close; the
// SFTP server answers requests in the order they came, so what does not depend on an answer is sent at once:
// a read is open, then fstat + read together (close is sent and not waited for); a write is open, then write +
// close together. On a warm loopback connection each saved round trip is ≈ 0.3–1 ms of the Approve → line time.
import type { SFTPWrapper } from 'ssh2';

export type SftpError = Error & { code?: number | string };

export const SFTP_NO_SUCH_FILE = 2;

/** One answer of `op` as a promise (ssh2's callbacks; a synchronous throw on a dead channel rejects too). */
function ask<T>(op: (cb: (err: SftpError | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      op((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err as Error);
    }
  });
}

/** The first read's buffer: twice what the last read of the same file on the same connection got, at least
 *  FIRST_READ_MIN_BYTES, at most FIRST_READ_MAX_BYTES (ssh2 splits a long read at the server's maximum). The
 *  buffer is allocated before the answer comes: a fixed 1 MiB, times 100 jump servers read at once by a
 *  reconcile, was 100 MB of short-lived buffers that malloc kept as broker RSS (≈ 35 MB after every pass). A
 *  file grown past the buffer costs one more round trip, once: the next read is sized from it. */
const FIRST_READ_MIN_BYTES = 64 * 1024;
const FIRST_READ_MAX_BYTES = 1024 * 1024;
const lastRead = new WeakMap<SFTPWrapper, Map<string, number>>();

function firstReadBytes(sftp: SFTPWrapper, path: string, maxBytes: number): number {
  const last = lastRead.get(sftp)?.get(path) ?? 0;
  return Math.min(maxBytes, Math.max(FIRST_READ_MIN_BYTES, Math.min(FIRST_READ_MAX_BYTES, 2 * last)));
}

function rememberRead(sftp: SFTPWrapper, path: string, bytes: number): void {
  let paths = lastRead.get(sftp);
  if (!paths) lastRead.set(sftp, (paths = new Map()));
  paths.set(path, bytes);
}

/**
 * Up to `maxBytes` of the file from byte `offset`, with its size then (fstat), or undefined if it does not exist.
 * fstat and the first read go out together. A finite `maxBytes` reads no further than the size (the log reader's
 * incremental read); Infinity reads the whole file, on past the size while it keeps answering (/proc files say 0).
 */
export async function readFileRange(sftp: SFTPWrapper, path: string, offset: number, maxBytes: number): Promise<{ size: number; data: Buffer } | undefined> {
  let handle: Buffer;
  try {
    handle = await ask<Buffer>((cb) => sftp.open(path, 'r', cb));
  } catch (err) {
    if ((err as SftpError).code === SFTP_NO_SUCH_FILE) return undefined;
    throw err;
  }
  try {
    let buf = Buffer.allocUnsafe(firstReadBytes(sftp, path, maxBytes));
    const readAt = (at: number) => ask<number>((cb) => sftp.read(handle, buf, at, buf.length - at, offset + at, (err, n) => cb(err, n)));
    const [stats, first] = await Promise.all([ask<{ size?: number }>((cb) => sftp.fstat(handle, cb)), buf.length ? readAt(0) : Promise.resolve(0)]);
    const size = stats.size ?? 0;
    const limit = Number.isFinite(maxBytes) ? Math.max(0, Math.min(maxBytes, size - offset)) : undefined;
    // A short answer need not be the end (a server may cap one reply below what ssh2 asked): read on.
    let got = first ?? 0;
    while (limit !== undefined ? got < limit : got === buf.length || got < size) {
      // Grown past what fstat said is left, so that a short answer then marks the end (at least doubled: /proc
      // files say 0).
      if (got === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(limit !== undefined ? limit - got : Math.max(buf.length, size - got + FIRST_READ_MIN_BYTES))]);
      const n = await readAt(got);
      if (!n) break;
      got += n;
    }
    const data = buf.subarray(0, limit === undefined ? got : Math.min(got, limit));
    rememberRead(sftp, path, data.length);
    return { size, data };
  } finally {
    // Not waited for: nothing depends on its answer, and the server handles it before anything sent later.
    try {
      sftp.close(handle, () => undefined);
    } catch {
      /* channel gone */
    }
  }
}

/** The whole file, or undefined if it does not exist. */
export async function readWholeFile(sftp: SFTPWrapper, path: string): Promise<Buffer | undefined> {
  return (await readFileRange(sftp, path, 0, Number.POSITIVE_INFINITY))?.data;
}

/** What one write request may carry: ssh2 splits a longer one and sends the rest only after the first answer. */
const WRITE_CHUNK_BYTES = 30_000;

/** Creates (or truncates) `path` with `mode` and writes `data`; resolves once the server has closed it. */
export async function writeWholeFile(sftp: SFTPWrapper, path: string, data: Buffer, mode: number): Promise<void> {
  const handle = await ask<Buffer>((cb) => sftp.open(path, 'w', { mode }, cb));
  // Every chunk and the close sent at once, each small enough to be one request: the server writes them, then
  // closes, in that order. Every answer is needed (a failed write must fail the whole).
  const writes: Promise<void>[] = [];
  for (let at = 0; at < data.length; at += WRITE_CHUNK_BYTES) {
    const len = Math.min(WRITE_CHUNK_BYTES, data.length - at);
    writes.push(ask<void>((cb) => sftp.write(handle, data, at, len, at, (err) => cb(err))));
  }
  await Promise.all([...writes, ask<void>((cb) => sftp.close(handle, (err) => cb(err)))]);
}
