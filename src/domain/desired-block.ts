// Which lines a jump server should hold, from grants, keys and the policy. Pure.
import type { Policy } from './policy.ts';
import type { RenderableGrant } from './managed-block.ts';
import type { AccessRequest } from './request-state.ts';
import { isRetired } from './retirement.ts';
import { fingerprintOfLine } from './standing-keys.ts';

/**
 * Joins active grants with their owners' current keys and the policy's host addresses.
 * A grant whose host left the policy, whose owner has no key or whose jump server is retired is not rendered:
 * no line is safer than a wrong one. Nor is a grant whose owner's key is no longer the one it was approved for
 * (its recorded fingerprint).
 */
export function renderableGrants(policy: Policy, grants: readonly AccessRequest[], keyLines: ReadonlyMap<string, string>): RenderableGrant[] {
  const out: RenderableGrant[] = [];
  // By name, once: a policy with hundreds of hosts would otherwise be searched once per grant.
  const hosts = new Map<string, (typeof policy.hosts)[number]>();
  for (const h of policy.hosts) if (!hosts.has(h.name)) hosts.set(h.name, h);
  for (const g of grants) {
    const found = hosts.get(g.host);
    const host = found?.jumpHost === g.jumpHost ? found : undefined;
    const key = keyLines.get(g.requester);
    if (!host || !key || g.state !== 'active' || g.expiresAt === undefined || isRetired(policy, g.jumpHost)) continue;
    if (g.keyFingerprint !== undefined && fingerprintOfLine(key) !== g.keyFingerprint) continue;
    out.push({ id: g.id, publicKey: key, address: host.address, port: host.port, expiresAt: g.expiresAt });
  }
  return out;
}
