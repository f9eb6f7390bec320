// ssh2 connections to the jump servers: one reused connection per jump server (a cold connect costs ~100x a
// warm write), the pinned host key checked on every connect, and a timeout on every operation (ssh2 has none).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import { Client, type SFTPWrapper } from 'ssh2';
import type { JumpHostConfig } from '../config/policy.ts';
import { HostKeyMismatchError, JumpHostUnavailableError } from './errors.ts';
import { sha256Fingerprint } from './host-key-fingerprint.ts';
import { parseServerVersion, type ServerVersion } from './server-version.ts';

interface Connection {
  client: Client;
  server?: ServerVersion;
  /** one SFTP channel kept open on the connection: opening one costs several round trips per sync */
  sftp?: Promise<SFTPWrapper>;
}

const NO_SUCH_FILE = 2;

export class JumpHostConnections {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly connectTimeoutMs: number;
  private readonly operationTimeoutMs: number;
  /** connects made so far, per jump host (tests and metrics read it) */
  readonly connectCount = new Map<string, number>();

  constructor(private readonly o: { logger: Logger; connectTimeoutMs?: number; operationTimeoutMs?: number }) {
    this.connectTimeoutMs = o.connectTimeoutMs ?? 5000;
    this.operationTimeoutMs = o.operationTimeoutMs ?? 5000;
  }

  private connection(jh: JumpHostConfig): Promise<Connection> {
    let pending = this.connections.get(jh.name);
    if (!pending) {
      pending = this.connect(jh);
      this.connections.set(jh.name, pending);
      pending.catch(() => {
        if (this.connections.get(jh.name) === pending) this.connections.delete(jh.name);
      });
    }
    return pending;
  }

  private async connect(jh: JumpHostConfig): Promise<Connection> {
    const privateKey = await readFile(jh.privateKeyPath);
    this.connectCount.set(jh.name, (this.connectCount.get(jh.name) ?? 0) + 1);
    const log = this.o.logger.child({ jumpHost: jh.name });
    return new Promise<Connection>((resolve, reject) => {
      const client = new Client();
      const conn: Connection = { client };
      let mismatch: HostKeyMismatchError | undefined;
      let settled = false;
      const forget = () => {
        const current = this.connections.get(jh.name);
        void current?.then((c) => {
          if (c.client === client) this.connections.delete(jh.name);
        }, () => undefined);
      };
      client.on('handshake', () => {
        // ssh2 keeps the server's identification line internally (a Buffer on the protocol object).
        const protocol = (client as unknown as { _protocol?: { _remoteIdentRaw?: Buffer | string } })._protocol;
        const software = (client as unknown as { _remoteVer?: string })._remoteVer;
        const ident = protocol?._remoteIdentRaw;
        const raw = ident !== undefined ? String(Buffer.isBuffer(ident) ? ident.toString('latin1') : ident) : software ? `SSH-2.0-${software}` : undefined;
        if (raw) conn.server = parseServerVersion(raw);
      });
      client.on('ready', () => {
        settled = true;
        log.debug({ server: conn.server?.raw }, 'connected to jump host');
        resolve(conn);
      });
      client.on('error', (err) => {
        forget();
        if (!settled) {
          settled = true;
          reject(mismatch ?? new JumpHostUnavailableError(jh.name, err.message, { cause: err }));
        } else log.warn({ err: err.message }, 'jump host connection error');
      });
      client.on('close', () => {
        forget();
        if (!settled) {
          settled = true;
          reject(mismatch ?? new JumpHostUnavailableError(jh.name, 'connection closed during setup'));
        }
      });
      client.connect({
        host: jh.address,
        port: jh.port,
        username: jh.user,
        privateKey,
        readyTimeout: this.connectTimeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 3,
        // Pinned: no trust on first use. ssh2 hands us the raw key blob.
        hostVerifier: (key: Buffer) => {
          const actual = sha256Fingerprint(key);
          if (actual === jh.hostKey) return true;
          mismatch = new HostKeyMismatchError(jh.name, jh.hostKey, actual);
          log.error({ expected: jh.hostKey, actual }, 'jump host presented an unexpected host key');
          return false;
        },
      });
    });
  }

  /** Runs `op` with a deadline; on timeout the connection is dropped so the next call starts afresh. */
  private async withTimeout<T>(jh: JumpHostConfig, what: string, op: Promise<T>, conn?: Connection): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (conn) {
          conn.client.destroy();
          this.connections.delete(jh.name);
        }
        reject(new JumpHostUnavailableError(jh.name, `${what} timed out after ${this.operationTimeoutMs} ms`));
      }, this.operationTimeoutMs);
    });
    try {
      return await Promise.race([op, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async sftp(jh: JumpHostConfig): Promise<{ conn: Connection; sftp: SFTPWrapper }> {
    const conn = await this.withTimeout(jh, 'connect', this.connection(jh));
    if (!conn.sftp) {
      const opening = new Promise<SFTPWrapper>((resolve, reject) => {
        try {
          conn.client.sftp((err, s) => {
            if (err) return reject(new JumpHostUnavailableError(jh.name, `SFTP: ${err.message}`, { cause: err }));
            // sshd allows 10 sessions per connection: if this channel goes, forget it so the next call opens one.
            s.on('close', () => {
              if (conn.sftp === opening) conn.sftp = undefined;
            });
            resolve(s);
          });
        } catch (err) {
          // ssh2 throws synchronously on a connection that has gone away.
          reject(new JumpHostUnavailableError(jh.name, `SFTP: ${(err as Error).message}`, { cause: err }));
        }
      });
      conn.sftp = opening;
      opening.catch(() => {
        if (conn.sftp === opening) conn.sftp = undefined;
      });
    }
    const sftp = await this.withTimeout(jh, 'opening SFTP', conn.sftp, conn);
    return { conn, sftp };
  }

  private resetSftp(conn: Connection): void {
    const channel = conn.sftp;
    conn.sftp = undefined;
    void channel?.then((s) => s.end(), () => undefined);
  }

  async serverVersion(jh: JumpHostConfig): Promise<ServerVersion | undefined> {
    return (await this.withTimeout(jh, 'connect', this.connection(jh))).server;
  }

  /**
   * Reads the authorized_keys file, lets `update` compute the new content and writes it only if it differs:
   * temp file in the same directory (mode 0600), then posix-rename over the target, so sshd never reads a
   * half-written file. The connection's one SFTP channel is reused; after any error it is closed and reopened.
   */
  async updateAuthorizedKeys(
    jh: JumpHostConfig,
    update: (current: string, server: ServerVersion | undefined) => string,
  ): Promise<{ changed: boolean; before: string; after: string; server?: ServerVersion }> {
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        return await this.updateOnce(jh, update);
      } catch (err) {
        // A reused connection may have died quietly since the last call: one fresh connect, then give up.
        if (attempt >= 2 || !(err instanceof JumpHostUnavailableError) || err instanceof HostKeyMismatchError) throw err;
        this.drop(jh.name);
      }
    }
  }

  private async updateOnce(
    jh: JumpHostConfig,
    update: (current: string, server: ServerVersion | undefined) => string,
  ): Promise<{ changed: boolean; before: string; after: string; server?: ServerVersion }> {
    const { conn, sftp } = await this.sftp(jh);
    const path = jh.authorizedKeysPath;
    try {
      const before = await this.withTimeout(
        jh,
        'reading authorized_keys',
        new Promise<string>((resolve, reject) =>
          sftp.readFile(path, (err: (Error & { code?: number }) | null | undefined, data: Buffer) => {
            if (err && err.code === NO_SUCH_FILE) resolve('');
            else if (err) reject(new JumpHostUnavailableError(jh.name, `reading ${path}: ${err.message}`, { cause: err }));
            else resolve(data.toString('utf8'));
          }),
        ),
        conn,
      );
      const after = update(before, conn.server);
      if (after === before) return { changed: false, before, after, server: conn.server };
      const tmp = posix.join(posix.dirname(path), `.${posix.basename(path)}.jit-${randomBytes(6).toString('hex')}.tmp`);
      await this.withTimeout(
        jh,
        'writing authorized_keys',
        new Promise<void>((resolve, reject) =>
          sftp.writeFile(tmp, after, { mode: 0o600 }, (err) =>
            err ? reject(new JumpHostUnavailableError(jh.name, `writing ${tmp}: ${err.message}`, { cause: err })) : resolve(),
          ),
        ),
        conn,
      );
      try {
        await this.withTimeout(
          jh,
          'renaming authorized_keys',
          new Promise<void>((resolve, reject) =>
            sftp.ext_openssh_rename(tmp, path, (err) =>
              err ? reject(new JumpHostUnavailableError(jh.name, `renaming ${tmp} to ${path}: ${err.message}`, { cause: err })) : resolve(),
            ),
          ),
          conn,
        );
      } catch (err) {
        sftp.unlink(tmp, () => undefined);
        throw err;
      }
      return { changed: true, before, after, server: conn.server };
    } catch (err) {
      this.resetSftp(conn);
      throw err;
    }
  }

  private drop(name: string): void {
    const pending = this.connections.get(name);
    this.connections.delete(name);
    void pending?.then((c) => c.client.end(), () => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((p) => p.then((c) => c.client.end(), () => undefined)));
  }
}
