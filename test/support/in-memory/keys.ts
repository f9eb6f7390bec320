// An in-memory KeyRepository: one key per person, no key shared by two people, audited like KeyStore.
import type { AuditEvent } from '../../../src/domain/audit-event.ts';
import type { RegisteredKey, UserPublicKey } from '../../../src/domain/public-key.ts';
import { ok, refuse } from '../../../src/domain/result.ts';
import type { RemoveKeyResult, SetKeyResult } from '../../../src/domain/store-results.ts';
import type { KeyRepository, StandingKeys } from '../../../src/service/ports.ts';

export class InMemoryKeys implements KeyRepository {
  readonly keys = new Map<string, RegisteredKey>();

  constructor(private readonly audit: AuditEvent[]) {}

  async get(user: string): Promise<RegisteredKey | undefined> {
    return this.keys.get(user);
  }

  async set(user: string, key: UserPublicKey, now: number): Promise<SetKeyResult> {
    const owner = [...this.keys].find(([, k]) => k.fingerprint === key.fingerprint)?.[0];
    if (owner !== undefined && owner !== user) return refuse('key-taken', 'taken');
    const replaced = this.keys.has(user);
    this.keys.set(user, { ...key, addedAt: now });
    this.audit.push({ type: replaced ? 'key-replaced' : 'key-added', at: now, actor: user, detail: `${key.type} ${key.fingerprint}` });
    return ok({ replaced });
  }

  async remove(user: string, now: number): Promise<RemoveKeyResult> {
    const key = this.keys.get(user);
    if (!key) return refuse('no-key', 'none');
    this.keys.delete(user);
    this.audit.push({ type: 'key-removed', at: now, actor: user, detail: `${key.type} ${key.fingerprint}` });
    return ok({ fingerprint: key.fingerprint });
  }
}

/** Keys with access outside jit-jump, as a test sets them: fingerprint → where and how. */
export class InMemoryStandingKeys implements StandingKeys {
  readonly byFingerprint = new Map<string, { kind: 'broker-key' | 'outside-block'; jumpHost: string }>();
  async find(fingerprint: string) {
    return this.byFingerprint.get(fingerprint);
  }
}
