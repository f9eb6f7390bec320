// Shared fixtures for the domain unit tests (not a test file itself: the runner picks *.test.ts only).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validatePolicy, type Policy } from '../../src/config/policy.ts';
import type { AccessRequest } from '../../src/domain/request-state.ts';

const run = promisify(execFile);

/** Bounded by default so the unit suite stays fast; FC_RUNS=100000 for a long soak. */
export const FC_RUNS = Number(process.env.FC_RUNS ?? 2000);

export const FINGERPRINT = `SHA256:${'A'.repeat(43)}`;

export interface GeneratedKey {
  name: string;
  /** the .pub file as ssh-keygen wrote it, comment and newline included */
  pub: string;
  /** "<type> <base64>" */
  line: string;
  priv: string;
  /** what `ssh-keygen -l -E sha256 -f key.pub` prints as the fingerprint */
  fingerprint: string;
  bits: number;
  path: string;
}

/** Generates keys with the real ssh-keygen (in parallel) into a fresh temp dir; call `cleanup` when done. */
export async function generateKeys(
  specs: readonly { name: string; args: readonly string[] }[],
  extraKeygenArgs: readonly string[] = [],
): Promise<{ keys: Map<string, GeneratedKey>; dir: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-unit-keys-'));
  const keys = new Map<string, GeneratedKey>();
  await Promise.all(
    specs.map(async ({ name, args }) => {
      const path = join(dir, name);
      await run('ssh-keygen', ['-q', '-N', '', '-C', `${name}@laptop`, '-f', path, ...extraKeygenArgs, ...args]);
      const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`]);
      const [bits, fingerprint] = stdout.split(' ');
      const pub = readFileSync(`${path}.pub`, 'utf8');
      keys.set(name, {
        name,
        pub,
        line: pub.trim().split(' ').slice(0, 2).join(' '),
        priv: readFileSync(path, 'utf8'),
        fingerprint: fingerprint!,
        bits: Number(bits),
        path,
      });
    }),
  );
  return { keys, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function mustGet<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const v = map.get(key);
  if (v === undefined) throw new Error(`fixture ${String(key)} missing`);
  return v;
}

/** A policy like DESIGN.md's, with per-host overrides on db-prod-1 and defaults on web-1. */
export function samplePolicy(): Policy {
  return validatePolicy({
    auditChannel: 'C0AUDIT',
    defaults: { duration: '1h', minDuration: '5m', maxDuration: '4h', requireReason: true, approvals: 1 },
    jumpHosts: [
      { name: 'bastion', address: 'jump.internal', user: 'jump', hostKey: FINGERPRINT, privateKeyPath: '/k', publicAddress: 'bastion.example.com' },
      { name: 'edge', address: '192.0.2.10', port: 2222, user: 'hop', hostKey: FINGERPRINT, privateKeyPath: '/k' },
    ],
    hosts: [
      { name: 'db-prod-1', address: '10.0.0.5', jumpHost: 'bastion', loginUser: 'postgres', owners: ['U0ALICE', 'U0BOB'], maxDuration: '2h', approvals: 2 },
      { name: 'web-1', address: '10.0.0.7', port: 2200, jumpHost: 'bastion', owners: ['U0ALICE'], requireReason: false },
      { name: 'cache-1', address: '10.0.0.9', jumpHost: 'edge', loginUser: 'redis', owners: ['S0CACHE'], maxDuration: '30m' },
    ],
  });
}

export function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'rabc123',
    requester: 'U0ENG',
    host: 'db-prod-1',
    jumpHost: 'bastion',
    durationMs: 7_200_000,
    reason: 'fix replication',
    state: 'pending',
    createdAt: Date.UTC(2026, 10, 23, 16, 0, 0),
    requiredApprovals: 1,
    approvers: [],
    ...overrides,
  };
}
