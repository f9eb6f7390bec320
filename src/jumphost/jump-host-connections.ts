// ssh2 connections to the jump servers: one reused connection per jump server (a cold connect costs ~100x a
// warm write), the pinned host key checked on every connect, and a deadline on every operation (ssh2 has none).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import { Client, type SFTPWrapper } from 'ssh2';
import type { JumpHostConfig } from '../config/policy.ts';
import { HostKeyMismatchError, JumpHostUnavailableError } from './errors.ts';
import { sha256Fingerprint } from './host-key-fingerprint.ts';
import { parseServerVersion, type ServerVersion } from './server-version.ts';
import { readFileRange, readWholeFile, writeWholeFile, type SftpError } from './sftp-file.ts';

interface Connection {
  client: Client;
  log: Logger;
  server?: ServerVersion;
  /** one SFTP channel kept open on the connection: opening one costs several round trips per sync */
  sftp?: Promise<SFTPWrapper>;
  /** what this connection last read or wrote per path: an update starts from it instead of reading first */
  known: Map<string, string>;
  /** when it became ready: a failure on a connection older than the call may just mean it died quietly since */
  readyAt: number;
  /** set synchronously on close, error or timeout, so that the very next call connects afresh */
  dead: boolean;
}

interface Slot {
  current?: Connection;
  /** a connect in progress; concurrent callers share it */
  pending?: Promise<Connection>;
  /** updates of one jump server run one after another: they share one SFTP channel and one file */
  queue: Promise<unknown>;
}

/** Checks the file as it stands right before the rename (re-read); throws to refuse replacing it. */
export interface UpdateGuard {
  beforeRename?: (current: string) => void;
  /** work that must be done before the file is replaced (it runs beside the write; a rejection refuses it) */
  ready?: Promise<unknown>;
  /** true when the rendering has gone stale before its rename (a grant it holds has ended meanwhile): rendered
   *  again, once, from the same file, so a line that has just ended is not put back for the next sync to take out */
  stale?: () => boolean;
}

export interface AuthorizedKeysUpdate {
  changed: boolean;
  before: string;
  after: string;
  server?: ServerVersion;
}


export interface ExecResult {
  /** the exit status; null if the command was ended by a signal or its channel closed first */
  code: number | null;
  stdout: Buffer;
  /** the last 2,000 characters */
  stderr: string;
  truncated: boolean;
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,.\/;-]+$/;

/** ssh2 keeps the server's identification line only on internal fields; read them defensively. */
function identificationOf(client: Client): string | undefined {
  const internals = client as unknown as { _protocol?: { _remoteIdentRaw?: unknown }; _remoteVer?: unknown };
  const ident = internals._protocol?._remoteIdentRaw; // full line without CRLF, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6"
  if (Buffer.isBuffer(ident)) return ident.toString('latin1');
  if (typeof ident === 'string') return ident;
  // software part only ("OpenSSH_9.2p1"): enough for the version checks
  return typeof internals._remoteVer === 'string' ? `SSH-2.0-${internals._remoteVer}` : undefined;
}

export class JumpHostConnections {
  private readonly slots = new Map<string, Slot>();
  private readonly connectTimeoutMs: number;
  private readonly operationTimeoutMs: number;
  private closed = false;
  /** connects made so far, per jump host (tests and metrics read it) */
  readonly connectCount = new Map<string, number>();

  constructor(
    private readonly o: {
      logger: Logger;
      connectTimeoutMs?: number;
      operationTimeoutMs?: number;
      /** fault injection for tests: runs after the new content is rendered, before the temp file is written beside the re-read, and the rename */
      beforeRename?: (jh: JumpHostConfig) => Promise<void>;
    },
  ) {
    this.connectTimeoutMs = o.connectTimeoutMs ?? 5000;
    this.operationTimeoutMs = o.operationTimeoutMs ?? 5000;
  }

  private slot(name: string): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      slot = { queue: Promise.resolve() };
      this.slots.set(name, slot);
    }
    return slot;
  }

  private connection(jh: JumpHostConfig): Promise<Connection> {
    if (this.closed) return Promise.reject(new JumpHostUnavailableError(jh.name, 'connections are closed'));
    const slot = this.slot(jh.name);
    if (slot.current?.dead) slot.current = undefined;
    if (slot.current) return Promise.resolve(slot.current);
    if (!slot.pending) {
      const pending = this.connect(jh);
      slot.pending = pending;
      pending.then(
        (conn) => {
          if (slot.pending === pending) slot.pending = undefined;
          slot.current = conn;
        },
        () => {
          if (slot.pending === pending) slot.pending = undefined;
        },
      );
    }
    return slot.pending;
  }

  private async connect(jh: JumpHostConfig): Promise<Connection> {
    const privateKey = await readPrivateKey(jh);
    this.connectCount.set(jh.name, (this.connectCount.get(jh.name) ?? 0) + 1);
    const log = this.o.logger.child({ jumpHost: jh.name, address: `${jh.address}:${jh.port}` });
    const started = performance.now();
    return new Promise<Connection>((resolve, reject) => {
      const client = new Client();
      const conn: Connection = { client, log, known: new Map(), readyAt: Infinity, dead: false };
      let mismatch: HostKeyMismatchError | undefined;
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        client.destroy();
        reject(err);
      };
      client.on('ready', () => {
        if (settled) return;
        settled = true;
        // Requests are pipelined (sftp-file.ts): Nagle would hold the second small packet until the first is
        // acknowledged, and a delayed ACK can make that tens of ms.
        client.setNoDelay(true);
        conn.readyAt = performance.now();
        const ident = identificationOf(client);
        conn.server = ident !== undefined ? parseServerVersion(ident) : undefined;
        log.info({ server: conn.server?.raw, ms: Math.round(performance.now() - started) }, 'connected to jump host');
        resolve(conn);
      });
      client.on('error', (err) => {
        conn.dead = true;
        if (!settled) fail(mismatch ?? new JumpHostUnavailableError(jh.name, err.message, { cause: err }));
        else log.warn({ err: err.message }, 'jump host connection error');
      });
      client.on('close', () => {
        conn.dead = true;
        if (!settled) fail(mismatch ?? new JumpHostUnavailableError(jh.name, 'connection closed during setup'));
        else log.debug('jump host connection closed');
      });
      try {
        client.connect({
          host: jh.address,
          port: jh.port,
          username: jh.user,
          privateKey,
          // covers TCP connect, key exchange and authentication (cleared by ssh2 on USERAUTH_SUCCESS)
          readyTimeout: this.connectTimeoutMs,
          // notices a silently dead peer between syncs; a dead one is also caught by the operation deadlines
          keepaliveInterval: 15_000,
          keepaliveCountMax: 3,
          // Pinned: no trust on first use. ssh2 hands over the raw key blob when hostHash is not set.
          hostVerifier: pinnedHostKey(jh, log, (e) => (mismatch = e)),
        });
      } catch (err) {
        // ssh2 throws synchronously for a key it cannot parse (e.g. PKCS#8, encrypted).
        fail(new Error(`jump host ${jh.name}: cannot use privateKeyPath ${jh.privateKeyPath}: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  /** Destroys a connection whose state is unknown; the next call connects afresh. */
  private discard(conn: Connection): void {
    conn.dead = true;
    conn.client.destroy();
  }

  /** Races `op` against a deadline; on timeout the connection (if any) is destroyed, since its state is unknown. */
  private async deadline<T>(jh: JumpHostConfig, what: string, ms: number, op: Promise<T>, conn?: Connection): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (conn) this.discard(conn);
        reject(new JumpHostUnavailableError(jh.name, `${what} timed out after ${ms} ms`));
      }, ms);
    });
    try {
      return await Promise.race([op, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private connected(jh: JumpHostConfig): Promise<Connection> {
    // ssh2's readyTimeout bounds the connect; this outer deadline only guards against it never firing.
    return this.deadline(jh, 'connect', this.connectTimeoutMs + 1000, this.connection(jh));
  }

  /** One SFTP request with a deadline; ssh2 errors (and its synchronous throws on a dead channel) become JumpHostUnavailableError. */
  private sftpCall<T>(jh: JumpHostConfig, conn: Connection, what: string, start: (done: (err: SftpError | null | undefined, value?: T) => void) => void): Promise<T> {
    const op = new Promise<T>((resolve, reject) => {
      const done = (err: SftpError | null | undefined, value?: T) =>
        err ? reject(new JumpHostUnavailableError(jh.name, `${what}: ${err.message}`, { cause: err })) : resolve(value as T);
      try {
        start(done);
      } catch (err) {
        done(err as SftpError);
      }
    });
    return this.deadline(jh, what, this.operationTimeoutMs, op, conn);
  }

  /** Several SFTP requests as one operation, with one deadline; their errors become JumpHostUnavailableError. */
  private sftpOp<T>(jh: JumpHostConfig, conn: Connection, what: string, op: Promise<T>): Promise<T> {
    const named = op.catch((err: SftpError) => {
      throw err instanceof JumpHostUnavailableError ? err : new JumpHostUnavailableError(jh.name, `${what}: ${err?.message ?? String(err)}`, { cause: err });
    });
    return this.deadline(jh, what, this.operationTimeoutMs, named, conn);
  }

  private async sftp(jh: JumpHostConfig, conn: Connection): Promise<SFTPWrapper> {
    if (!conn.sftp) {
      const opening = this.sftpCall<SFTPWrapper>(jh, conn, 'opening SFTP', (done) =>
        conn.client.sftp((err, s) => {
          if (err) return done(err);
          // sshd allows 10 sessions per connection: if this channel goes, forget it so the next call opens one.
          s.on('close', () => {
            if (conn.sftp === opening) conn.sftp = undefined;
          });
          done(undefined, s);
        }),
      );
      conn.sftp = opening;
      opening.catch(() => {
        if (conn.sftp === opening) conn.sftp = undefined;
      });
    }
    return conn.sftp;
  }

  private resetSftp(conn: Connection): void {
    const channel = conn.sftp;
    conn.sftp = undefined;
    void channel?.then((s) => s.end(), () => undefined);
  }

  /** The jump server's identification (from its SSH banner); connects if needed. */
  async serverVersion(jh: JumpHostConfig): Promise<ServerVersion | undefined> {
    return (await this.connected(jh)).server;
  }

  /**
   * Reads the authorized_keys file ('' if absent; decoded as latin1, one char per byte), lets `update` compute the new content and writes it only if
   * it differs (`update` may run again with the file as it really stands, when it changed under the first run): temp file in the same directory (mode 0600), then posix-rename over the target, so sshd never
   * reads a half-written file. Relative paths are relative to the login's home (SFTP resolves them so).
   * Updates of one jump server run one at a time. A failure on a reused connection is retried once on a fresh
   * one (it may have died quietly since the last call); a failure on a fresh connection is reported at once.
   */
  updateAuthorizedKeys(jh: JumpHostConfig, update: (current: string, server: ServerVersion | undefined) => string, guard: UpdateGuard = {}): Promise<AuthorizedKeysUpdate> {
    const slot = this.slot(jh.name);
    const run = slot.queue.then(() => this.updateWithRetry(jh, update, guard));
    slot.queue = run.catch(() => undefined);
    return run;
  }

  private async updateWithRetry(jh: JumpHostConfig, update: (current: string, server: ServerVersion | undefined) => string, guard: UpdateGuard): Promise<AuthorizedKeysUpdate> {
    for (let attempt = 1; ; attempt++) {
      const called = performance.now();
      let conn: Connection | undefined;
      try {
        conn = await this.connected(jh);
        return await this.updateOnce(jh, conn, update, guard);
      } catch (err) {
        const reused = conn !== undefined && conn.readyAt < called;
        if (attempt >= 2 || !conn || !reused || !(err instanceof JumpHostUnavailableError)) throw err;
        conn.log.warn({ err: err.message }, 'jump host connection failed; retrying on a fresh connection');
        this.discard(conn);
      }
    }
  }

  /** The file ('' if absent), decoded as latin1: one char per byte, so lines outside the block come back byte for byte. */
  private async readText(jh: JumpHostConfig, conn: Connection, sftp: SFTPWrapper, path: string): Promise<string> {
    return (await this.sftpOp(jh, conn, `reading ${path}`, readWholeFile(sftp, path)))?.toString('latin1') ?? '';
  }

  /**
   * Starts from what this connection last read or wrote at `path` (no read before the write), and checks it in the
   * re-read that runs beside the temp file's write: a file changed meanwhile (another replica, a hand edit) is
   * rendered again from what is really there. Replacing it takes three round trips on a warm connection: opening
   * the temp file and the target, writing + closing the one while reading the other, the rename.
   */
  private async updateOnce(jh: JumpHostConfig, conn: Connection, update: (current: string, server: ServerVersion | undefined) => string, guard: UpdateGuard): Promise<AuthorizedKeysUpdate> {
    const path = jh.authorizedKeysPath;
    let sftp: SFTPWrapper;
    try {
      sftp = await this.sftp(jh, conn);
    } catch (err) {
      this.resetSftp(conn);
      throw err;
    }
    const remembered = conn.known.get(path);
    // Whatever fails below leaves the file in a state not known here: the next update reads it first.
    conn.known.delete(path);
    const read = async () => {
      try {
        return await this.readText(jh, conn, sftp, path);
      } catch (err) {
        this.resetSftp(conn);
        throw err;
      }
    };
    let before = remembered ?? (await read());
    let confirmed = remembered === undefined;
    let stale = guard.stale;
    for (let round = 1; ; ) {
      // The caller's function runs outside the SFTP error handling: its own errors are not the server's fault.
      const after = update(before, conn.server);
      if (after === before) {
        // Nothing to change from what was remembered: the server may still differ (a hand edit), so look.
        if (!confirmed) {
          const current = await read();
          confirmed = true;
          if (current !== before) {
            before = current;
            continue;
          }
        }
        conn.known.set(path, before);
        return { changed: false, before, after, server: conn.server };
      }
      // Everything the broker adds is ASCII; a char above one byte would be silently mangled by the latin1 encoding.
      if (/[^\x00-\xff]/.test(after)) throw new Error(`refusing to write ${path} on ${jh.name}: the new content is not one byte per char`);
      const current = await this.writeBeside(jh, conn, sftp, path, after, { ...guard, stale }, before);
      if (current === undefined) {
        conn.known.set(path, after);
        conn.log.debug({ path, bytesBefore: before.length, bytesAfter: after.length, round }, 'authorized_keys written');
        return { changed: true, before, after, server: conn.server };
      }
      confirmed = true;
      // The file as expected (just re-read), the rendering stale: once more from it (once; not a change on the server).
      if (current === before) {
        stale = undefined;
        continue;
      }
      // The file was not what this rendering started from: render again from what is there (bounded: a file
      // rewritten faster than three round trips is not a state worth chasing).
      if (round++ >= 3) throw new JumpHostUnavailableError(jh.name, `${path} changed during each of ${round - 1} writes`);
      before = current;
    }
  }

  /**
   * Writes `after` to a temp file while re-reading the target; the guard sees the target as it stands right
   * before the rename (and throws to refuse). Renamed only if the target is still `expected` and the rendering
   * is not stale; otherwise the temp file goes and the target's content is returned, to render again from.
   */
  private async writeBeside(jh: JumpHostConfig, conn: Connection, sftp: SFTPWrapper, path: string, after: string, guard: UpdateGuard, expected: string): Promise<string | undefined> {
    const tmp = posix.join(posix.dirname(path), `.${posix.basename(path)}.jit-${randomBytes(6).toString('hex')}.tmp`);
    try {
      await this.o.beforeRename?.(jh);
      const [, current] = await Promise.all([
        this.sftpOp(jh, conn, `writing ${tmp}`, writeWholeFile(sftp, tmp, Buffer.from(after, 'latin1'), 0o600)),
        this.readText(jh, conn, sftp, path),
      ]);
      // A newer block written meanwhile by another replica is never replaced by this one (the guard throws).
      guard.beforeRename?.(current);
      await guard.ready;
      if (current !== expected || guard.stale?.()) {
        removeQuietly(sftp, tmp);
        return current;
      }
      // Plain SFTP rename fails when the target exists on OpenSSH; posix-rename replaces it atomically.
      await this.sftpCall<void>(jh, conn, `renaming ${tmp} to ${path}`, (done) => sftp.ext_openssh_rename(tmp, path, (err) => done(err)));
      return undefined;
    } catch (err) {
      // Best effort: on a dead channel this goes nowhere, and the file is hidden and harmless to sshd.
      removeQuietly(sftp, tmp);
      // A refusal by the guard says nothing about the channel: keep it.
      if (err instanceof JumpHostUnavailableError) this.resetSftp(conn);
      throw err;
    }
  }

  /** A file as the jump account reads it over SFTP (latin1), or undefined if it does not exist (check-config). */
  async readRemoteFile(jh: JumpHostConfig, path: string): Promise<string | undefined> {
    const conn = await this.connected(jh);
    const sftp = await this.sftp(jh, conn);
    return (await this.sftpOp(jh, conn, `reading ${path}`, readWholeFile(sftp, path)))?.toString('latin1');
  }

  /** The names in a directory as the jump account lists it over SFTP (check-config: sshd_config Include globs). */
  async listRemoteDir(jh: JumpHostConfig, path: string): Promise<string[]> {
    const conn = await this.connected(jh);
    const sftp = await this.sftp(jh, conn);
    return this.sftpCall<string[]>(jh, conn, `listing ${path}`, (done) => sftp.readdir(path, (err, list) => (err ? done(err) : done(undefined, list.map((e) => e.filename)))));
  }

  /**
   * Runs a fixed command as the jump account (SSH exec) and collects its output, up to `maxBytes` of stdout
   * (then the channel is closed and `truncated` set). Every word is single-quoted and may hold only letters,
   * digits and `_@%+=:,./;-`: nothing a person typed can reach this, and nothing here can reach a shell.
   */
  async exec(jh: JumpHostConfig, argv: readonly string[], o: { maxBytes?: number; timeoutMs?: number } = {}): Promise<ExecResult> {
    const bad = argv.find((w) => !SAFE_WORD.test(w));
    if (argv.length === 0 || bad !== undefined) throw new Error(`refusing to run ${JSON.stringify(bad ?? '')} on ${jh.name}: not a fixed command word`);
    const command = argv.map((w) => `'${w}'`).join(' ');
    const maxBytes = o.maxBytes ?? 4 * 1024 * 1024;
    const conn = await this.connected(jh);
    const run = new Promise<ExecResult>((resolve, reject) => {
      conn.client.exec(command, (err, channel) => {
        if (err) return reject(new JumpHostUnavailableError(jh.name, `exec ${argv[0]}: ${err.message}`, { cause: err }));
        const out: Buffer[] = [];
        let outBytes = 0;
        let stderr = '';
        let truncated = false;
        let code: number | null = null;
        channel.on('data', (d: Buffer) => {
          if (truncated) return;
          out.push(d);
          outBytes += d.length;
          if (outBytes > maxBytes) {
            truncated = true;
            channel.close();
          }
        });
        channel.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
        channel.on('exit', (c: number | null) => (code = c));
        channel.on('close', () => resolve({ code, stdout: Buffer.concat(out), stderr, truncated }));
      });
    });
    return this.deadline(jh, `exec ${argv[0]}`, o.timeoutMs ?? this.operationTimeoutMs, run);
  }

  /**
   * Up to `maxBytes` of a file from byte `offset` (SFTP), with the file's size then: the log reader's
   * incremental read. `undefined` if the file does not exist.
   */
  async readRange(jh: JumpHostConfig, path: string, offset: number, maxBytes: number): Promise<{ size: number; data: Buffer } | undefined> {
    const conn = await this.connected(jh);
    const sftp = await this.sftp(jh, conn);
    return this.sftpOp(jh, conn, `reading ${path}`, readFileRange(sftp, path, offset, maxBytes));
  }

  /** Ends every connection; later calls fail with JumpHostUnavailableError. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = [...this.slots.values()];
    this.slots.clear();
    for (const s of slots) s.current?.client.end();
    await Promise.all(slots.map((s) => s.pending?.then((c) => c.client.end(), () => undefined)));
  }
}

async function readPrivateKey(jh: JumpHostConfig): Promise<Buffer> {
  try {
    return await readFile(jh.privateKeyPath);
  } catch (err) {
    throw new Error(`jump host ${jh.name}: cannot read privateKeyPath ${jh.privateKeyPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/** ssh2's host verifier for the pinned key: any other key is refused and reported through `onMismatch`. */
function pinnedHostKey(jh: JumpHostConfig, log: Logger, onMismatch: (e: HostKeyMismatchError) => void): (key: Buffer) => boolean {
  return (key) => {
    const actual = sha256Fingerprint(key);
    if (actual === jh.hostKey) return true;
    onMismatch(new HostKeyMismatchError(jh.name, jh.hostKey, actual));
    log.error({ expected: jh.hostKey, actual }, 'jump host presented an unexpected host key');
    return false;
  };
}

/** Removes a temp file without waiting (best effort: on a dead channel this goes nowhere). */
function removeQuietly(sftp: SFTPWrapper, path: string): void {
  try {
    sftp.unlink(path, () => undefined);
  } catch {
    /* channel gone */
  }
}
