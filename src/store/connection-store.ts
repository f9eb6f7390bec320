// The connections the broker has seen in each jump server's sshd log, with the position the last read stopped
// at. One read's changes and its new position are stored in one atomic step (lua/record-connections.lua).
import type { Redis } from 'ioredis';
import { canonicalJson } from '../domain/audit-chain.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { ConnectionRecord, PendingTunnel } from '../domain/sshd-log.ts';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { runScript } from './scripts.ts';

/** How long an ended connection is kept (it is in the audit trail for good). */
export const ENDED_CONNECTION_TTL_MS = 35 * 86_400_000;

export class ConnectionStore {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  async position(jumpHost: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.logPosition(jumpHost))) ?? undefined;
  }

  /** Tunnel lines the last read kept for a process nobody held yet (domain/pending-tunnels.ts). */
  async pendingTunnels(jumpHost: string): Promise<PendingTunnel[]> {
    const json = await this.redis.get(this.keys.pendingTunnels(jumpHost));
    return json ? (JSON.parse(json) as PendingTunnel[]) : [];
  }

  /** Connections not ended yet. */
  async live(jumpHost: string): Promise<ConnectionRecord[]> {
    const ids = await this.redis.smembers(this.keys.liveConnections(jumpHost));
    return this.load(jumpHost, ids);
  }

  /** A key's connections that started within [from, to]. */
  async forKey(jumpHost: string, fingerprint: string, from: number, to: number): Promise<ConnectionRecord[]> {
    const ids = await this.redis.zrangebyscore(this.keys.keyConnections(jumpHost, fingerprint), from, to);
    return this.load(jumpHost, ids);
  }

  /**
   * Stores new and changed connections (an ended one is never made live again), the audit events they raise and the
   * new log position with the tunnel lines carried past it, at once.
   */
  async record(
    jumpHost: string,
    o: {
      /** with `pending`: what the read left unattributed (a position without it keeps none) */
      position?: string;
      pending?: readonly PendingTunnel[];
      records: readonly ConnectionRecord[];
      /** `connection`: appended only if that connection was not stored before (a login seen twice is audited once) */
      events: readonly { event: AuditEvent; connection?: string }[];
      targetsSeen: boolean;
    },
  ): Promise<void> {
    const records = o.records.map((r) => ({ id: r.id, json: JSON.stringify(r), fingerprint: r.fingerprint, startedAt: r.startedAt, ended: r.endedAt !== undefined }));
    await runScript(
      this.redis,
      'record-connections',
      {
        logPosition: this.keys.logPosition(jumpHost),
        liveConnections: this.keys.liveConnections(jumpHost),
        auditStream: this.keys.auditStream,
        targetsLogged: this.keys.targetsLogged(jumpHost),
        pendingTunnels: this.keys.pendingTunnels(jumpHost),
      },
      {
        position: o.position ?? '',
        pending: o.pending?.length ? JSON.stringify(o.pending) : '',
        // cjson encodes an empty Lua table as {}: never decode one back into an array here
        records: records.length ? JSON.stringify(records) : '[]',
        events: o.events.length ? JSON.stringify(o.events.map((e) => ({ connection: e.connection ?? '', event: canonicalJson(e.event) }))) : '[]',
        connectionPrefix: this.keys.connection(jumpHost, ''),
        keyConnectionsPrefix: this.keys.keyConnections(jumpHost, ''),
        endedTtlSeconds: Math.round(ENDED_CONNECTION_TTL_MS / 1000),
        targetsSeen: o.targetsSeen ? '1' : '',
      },
    );
  }

  async targetsLogged(jumpHost: string): Promise<boolean> {
    return (await this.redis.get(this.keys.targetsLogged(jumpHost))) === '1';
  }

  /**
   * The sync rendered these grants into the block: their keys' connections are the broker's to report and end,
   * and a login by one of those keys is explained only by one of its grants.
   */
  async noteRendered(jumpHost: string, grants: readonly { id: string; fingerprint: string; activatedAt: number }[]): Promise<void> {
    if (grants.length === 0) return;
    const ttl = Math.round(ENDED_CONNECTION_TTL_MS / 1000);
    const tx = this.redis.multi().sadd(this.keys.blockKeys(jumpHost), ...new Set(grants.map((g) => g.fingerprint)));
    for (const g of grants) tx.zadd(this.keys.keyGrants(jumpHost, g.fingerprint), g.activatedAt, g.id).expire(this.keys.keyGrants(jumpHost, g.fingerprint), ttl);
    await tx.exec();
  }

  /** Ids of the grants ever rendered with this key (kept as long as ended connections). */
  async grantIdsForKey(jumpHost: string, fingerprint: string): Promise<string[]> {
    return this.redis.zrange(this.keys.keyGrants(jumpHost, fingerprint), '0', '-1');
  }

  async blockKeys(jumpHost: string): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.keys.blockKeys(jumpHost)));
  }

  private async load(jumpHost: string, ids: readonly string[]): Promise<ConnectionRecord[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.connection(jumpHost, id)));
    return values.flatMap((v) => (v ? [JSON.parse(v) as ConnectionRecord] : [])).sort((a, b) => a.startedAt - b.startedAt);
  }
}
