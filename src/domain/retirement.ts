// Jump servers the broker wrote to and the policy now: which may be forgotten, and which stop the start.
// A server that still holds lines (or grants whose lines stand) must never fall out of the broker's sight: the
// reconciler only visits servers in the policy, so its lines would stay forever. Pure.
import type { JumpHostPolicy, Policy } from './policy.ts';

/** What identifies the file the broker wrote: a change of any of these points the broker at another file. */
export interface JumpHostIdentity {
  address: string;
  port: number;
  user: string;
  authorizedKeysPath: string;
}

export const IDENTITY_FIELDS = ['address', 'port', 'user', 'authorizedKeysPath'] as const satisfies readonly (keyof JumpHostIdentity)[];

export function identityOf(jh: JumpHostPolicy): JumpHostIdentity {
  return { address: jh.address, port: jh.port, user: jh.user, authorizedKeysPath: jh.authorizedKeysPath };
}

/** A jump server as the store remembers it, with what may still stand on it. */
export interface RecordedJumpHost {
  name: string;
  identity: JumpHostIdentity;
  /** lines the broker wrote into its block and has not taken out */
  lines: number;
  /** grants indexed as active on it */
  activeGrants: number;
  /** grants that ended but whose line no sync has taken out yet */
  endedGrants: number;
}

export interface RecordedVerdicts {
  /** why the broker must not start: one sentence per jump server, naming it and the way out */
  stop: string[];
  /** recorded servers that hold nothing and left the policy or changed: their record is dropped */
  forget: { name: string; why: string }[];
}

export function judgeRecordedJumpHosts(policy: Pick<Policy, 'jumpHosts'>, recorded: readonly RecordedJumpHost[]): RecordedVerdicts {
  const out: RecordedVerdicts = { stop: [], forget: [] };
  for (const r of recorded) {
    const current = policy.jumpHosts.find((j) => j.name === r.name);
    const changed = current ? IDENTITY_FIELDS.filter((f) => current[f] !== r.identity[f]) : [];
    if (current && changed.length === 0) continue;
    const holds = r.lines + r.activeGrants + r.endedGrants > 0;
    const was = `${r.identity.user}@${r.identity.address}:${r.identity.port} ${r.identity.authorizedKeysPath}`;
    if (!holds) {
      out.forget.push({ name: r.name, why: current ? `${changed.join(', ')} changed; nothing stood on ${was}` : `no longer in the policy; nothing stood on ${was}` });
      continue;
    }
    const holding = `it holds ${r.lines} key line(s) and ${r.activeGrants} active grant(s) (${was})`;
    out.stop.push(
      current
        ? `jump server "${r.name}" changed ${changed.map((f) => `${f} (was ${JSON.stringify(r.identity[f])})`).join(', ')} while ${holding}. ` +
            `Keep the old entry unchanged with \`retired: true\` and add the new one under a new name: the old server still holds lines`
        : `jump server "${r.name}" is missing from the policy but ${holding}. Put it back with \`retired: true\`: ` +
            'the broker then ends its grants and empties its block, after which the entry may be removed',
    );
  }
  return out;
}

/** The jump server of this name is in the policy and retired. */
export function isRetired(policy: Pick<Policy, 'jumpHosts'>, jumpHost: string): boolean {
  return policy.jumpHosts.some((j) => j.name === jumpHost && j.retired);
}
