// `jit-jump audit standing`: connects to every jump server of the policy (pinned host key, the broker's key) and
// lists each key that can log in to the jump account outside the managed block: the proof nobody holds
// standing access. Read only.
import pino from 'pino';
import { brokerKeyFingerprints } from './broker.ts';
import { loadPolicy, type Policy } from './config/policy.ts';
import type { StandingAccessEntry } from './domain/standing-access.ts';
import { JumpHostConnections } from './jumphost/jump-host-connections.ts';
import { formatStandingReport, policyStandingAccess, standingExitCode } from './audit/standing-report.ts';

/** Each jump server's standing keys, over connections of its own (the command); never throws for one server. */
export async function readStandingAccess(policy: Policy): Promise<StandingAccessEntry[]> {
  const connections = new JumpHostConnections({ logger: pino({ level: 'silent' }) });
  try {
    // Every broker key, as the sync screens them: the broker's login line is not someone's standing access.
    const brokerFingerprints = new Set(brokerKeyFingerprints(policy).fingerprints.values());
    return await policyStandingAccess(policy, brokerFingerprints, (jh, path) => connections.readRemoteFile(jh, path));
  } finally {
    await connections.close();
  }
}

/** The command: prints the report; 0 no standing keys anywhere, 1 some (or a jump server not read), 2 usage. */
export async function auditStanding(o: { policyPath: string; args: readonly string[]; print: (text: string) => void; error: (line: string) => void }): Promise<number> {
  if (o.args.length > 0) {
    o.error(`jit-jump audit standing takes no argument (got "${o.args[0]}"); usage: jit-jump audit standing [--config PATH]`);
    return 2;
  }
  const entries = await readStandingAccess(loadPolicy(o.policyPath));
  o.print(formatStandingReport(entries));
  return standingExitCode(entries);
}
