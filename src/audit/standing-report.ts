// The standing-access report: per jump server, the keys that log in to the jump account outside the managed
// block (the broker's own excepted). Reading the files is a port (src/audit imports only the domain); the
// command wires it to the jump servers (src/audit-standing.ts).
import type { JumpHostPolicy, Policy } from '../domain/policy.ts';
import { standingKeys, type StandingAccessEntry } from '../domain/standing-access.ts';

export interface StandingSource {
  /** the jump servers of the policy, by name */
  jumpHosts: readonly string[];
  /** the fingerprints of the broker's own keys (privateKeyPath of every jump server) */
  brokerFingerprints: ReadonlySet<string>;
  /** the jump account's authorized_keys (undefined: no such file); rejects when the server cannot be read */
  readAuthorizedKeys(jumpHost: string): Promise<string | undefined>;
}

/** Reads every jump server (side by side); one that cannot be read gives an entry with `error`, never a throw. */
export function standingAccessReport(source: StandingSource): Promise<StandingAccessEntry[]> {
  return Promise.all(
    source.jumpHosts.map(async (jumpHost): Promise<StandingAccessEntry> => {
      try {
        const content = await source.readAuthorizedKeys(jumpHost);
        return { jumpHost, keys: standingKeys(content ?? '', source.brokerFingerprints) };
      } catch (err) {
        return { jumpHost, keys: [], error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
}

/** Every jump server of the policy, read with `read` (a jump server's file over SFTP), the broker's keys excepted. */
export function policyStandingAccess(
  policy: Policy,
  brokerFingerprints: ReadonlySet<string>,
  read: (jumpHost: JumpHostPolicy, path: string) => Promise<string | undefined>,
): Promise<StandingAccessEntry[]> {
  const byName = new Map(policy.jumpHosts.map((jh) => [jh.name, jh]));
  return standingAccessReport({
    jumpHosts: policy.jumpHosts.map((jh) => jh.name),
    brokerFingerprints,
    readAuthorizedKeys: (name) => {
      const jh = byName.get(name)!;
      return read(jh, jh.authorizedKeysPath);
    },
  });
}

/** 0 only when every jump server was read and none has a standing key: an unread server proves nothing. */
export function standingExitCode(entries: readonly StandingAccessEntry[]): 0 | 1 {
  return entries.every((e) => e.error === undefined && e.keys.length === 0) ? 0 : 1;
}

/** One line per jump server, or per standing key on it. */
export function formatStandingReport(entries: readonly StandingAccessEntry[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    if (e.error !== undefined) lines.push(`${e.jumpHost}: could not be read, standing access unknown: ${e.error}`);
    else if (e.keys.length === 0) lines.push(`${e.jumpHost}: no standing keys besides the broker's`);
    else
      for (const k of e.keys)
        lines.push(
          `${e.jumpHost}: standing key ${k.fingerprint} ${k.type} line ${k.line}` +
            ` comment ${JSON.stringify(k.comment)} options ${k.options === '' ? '(none)' : JSON.stringify(k.options)}`,
        );
  }
  const standing = entries.reduce((n, e) => n + e.keys.length, 0);
  const unread = entries.filter((e) => e.error !== undefined).length;
  lines.push(`${standing} standing key(s) on ${entries.length} jump server(s)${unread ? `; ${unread} could not be read` : ''}`);
  return lines.join('\n');
}
