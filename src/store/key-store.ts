// One registered public key per person. A key may belong to only one person.
import type { Redis } from 'ioredis';
import { canonicalJson } from '../domain/audit-chain.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { RegisteredKey, UserPublicKey } from '../domain/public-key.ts';
import { ok, refuse } from '../domain/result.ts';
import type { RemoveKeyResult, SetKeyResult } from '../domain/store-results.ts';
import { redisKeys, type RedisKeys } from './redis-keys.ts';
import { runScript } from './scripts.ts';

export type StoredKey = RegisteredKey;

export class KeyStore {
  readonly keys: RedisKeys;

  constructor(private readonly redis: Redis, prefix?: string) {
    this.keys = redisKeys(prefix);
  }

  async get(user: string): Promise<StoredKey | undefined> {
    const h = await this.redis.hgetall(this.keys.userKey(user));
    if (!h.line || !h.fingerprint || !h.type) return undefined;
    return { line: h.line, fingerprint: h.fingerprint, type: h.type, bits: 0, addedAt: Number(h.addedAt) };
  }

  /** Key lines of many people at once, for rendering. */
  async linesFor(users: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(users)];
    const out = new Map<string, string>();
    if (unique.length === 0) return out;
    const pipe = this.redis.pipeline();
    for (const u of unique) pipe.hget(this.keys.userKey(u), 'line');
    const results = (await pipe.exec()) ?? [];
    unique.forEach((u, i) => {
      const line = results[i]?.[1];
      if (typeof line === 'string') out.set(u, line);
    });
    return out;
  }

  /** Stores the key; `key-taken` when another person registered the same key. */
  async set(user: string, key: UserPublicKey, now: number): Promise<SetKeyResult> {
    const event: AuditEvent = { type: 'key-added', at: now, actor: user, detail: `${key.type} ${key.fingerprint}` };
    const r = await runScript(
      this.redis,
      'set-key',
      { userKey: this.keys.userKey(user), keyOwner: this.keys.keyOwner(key.fingerprint), auditStream: this.keys.auditStream },
      { user, line: key.line, fingerprint: key.fingerprint, type: key.type, now, event: canonicalJson(event), keyOwnerPrefix: this.keys.keyOwner('') },
    );
    if (r.status === 'taken') return refuse('key-taken', `${key.fingerprint} belongs to someone else`);
    return ok({ replaced: r.previousFingerprint !== '' });
  }

  /** Deletes the person's key and frees its fingerprint; `no-key` when there was none. */
  async remove(user: string, now: number): Promise<RemoveKeyResult> {
    const event: AuditEvent = { type: 'key-removed', at: now, actor: user };
    const r = await runScript(
      this.redis,
      'remove-key',
      { userKey: this.keys.userKey(user), auditStream: this.keys.auditStream },
      { event: canonicalJson(event), keyOwnerPrefix: this.keys.keyOwner('') },
    );
    return r.status === 'ok' ? ok({ fingerprint: r.fingerprint }) : refuse('no-key', `${user} has no key`);
  }
}
