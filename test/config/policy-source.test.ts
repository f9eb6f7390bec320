// The running policy and reading it again: an invalid file leaves the old policy, a valid one replaces it, every
// part that holds the live view sees the change, a change of the file is noticed, and each reload is told.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { announceReloads, PolicySource, type ReloadOutcome } from '../../src/config/policy-source.ts';
import { loadPolicy } from '../../src/config/policy.ts';
import type { AuditEvent } from '../../src/domain/audit-event.ts';
import { FINGERPRINT } from '../domain/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-policy-source-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A policy file's text: one jump server, hosts as given. */
function policyYaml(o: { maxDuration?: string; hosts?: string[]; owners?: string; extra?: string } = {}): string {
  const hosts = (o.hosts ?? ['db-1']).map((h, i) => `  - { name: ${h}, address: 10.0.0.${i + 5}, jumpHost: bastion, owners: ${o.owners ?? '[U0ALICE]'} }`);
  return [
    'auditChannel: C0AUDIT',
    `defaults: { maxDuration: ${o.maxDuration ?? '8h'} }`,
    'jumpHosts:',
    `  - { name: bastion, address: jump.internal, user: jump, hostKey: "${FINGERPRINT}", privateKeyPath: /k }`,
    'hosts:',
    ...hosts,
    o.extra ?? '',
  ].join('\n');
}

let files = 0;
/** A policy file in its own directory, and a source started from it. */
function sourceFor(text: string): { path: string; source: PolicySource } {
  const path = join(mkdtempSync(join(dir, `p${files++}-`)), 'jit.config.yaml');
  writeFileSync(path, text);
  return { path, source: new PolicySource(loadPolicy(path), { path }) };
}

describe('PolicySource', () => {
  it('keeps the old policy when the new file is invalid, naming the field', () => {
    const { path, source } = sourceFor(policyYaml());
    const before = source.current();
    writeFileSync(path, policyYaml({ maxDuration: '10m', owners: '[]' }));
    const r = source.reload('SIGHUP');
    assert.ok(!r.ok);
    assert.match(r.message, /hosts\[0\]\.owners: /);
    assert.equal(source.current(), before);
    assert.equal(source.view.defaults.maxDuration, 8 * 3_600_000);
  });

  it('keeps the old policy when the file is not YAML or is gone', () => {
    const { path, source } = sourceFor(policyYaml());
    writeFileSync(path, 'hosts: [unclosed');
    const notYaml = source.reload('SIGHUP');
    assert.ok(!notYaml.ok && /not valid YAML/.test(notYaml.message), JSON.stringify(notYaml));
    rmSync(path);
    const gone = source.reload('SIGHUP');
    assert.ok(!gone.ok && /cannot read policy file/.test(gone.message), JSON.stringify(gone));
    assert.equal(source.view.hosts[0]!.name, 'db-1');
  });

  it('applies a valid file: the live view answers from it, the summary says what changed', () => {
    const { path, source } = sourceFor(policyYaml());
    const view = source.view;
    const hostsBefore = view.hosts;
    writeFileSync(path, policyYaml({ maxDuration: '10m', hosts: ['db-1', 'db-2'], owners: '[U0BOB]' }));
    const r = source.reload('SIGHUP');
    assert.ok(r.ok && r.changed);
    assert.equal(r.summary, 'hosts added: db-2; owners changed: db-1; changed: defaults.maxDuration');
    assert.equal(view.defaults.maxDuration, 600_000);
    assert.deepEqual(view.hosts.map((h) => h.name), ['db-1', 'db-2']);
    assert.notEqual(view.hosts, hostsBefore);
    // a view reads like a policy: spread, keys, `in`
    assert.equal({ ...view }.defaults.maxDuration, 600_000);
    assert.ok('hosts' in view && Object.keys(view).includes('jumpHosts'));
    assert.throws(() => {
      (view as { auditChannel: string }).auditChannel = 'C0OTHER';
    }, TypeError);
  });

  it('an unchanged file changes nothing; a refusal seen again is marked repeated', () => {
    const { path, source } = sourceFor(policyYaml());
    const same = source.reload('file change');
    assert.ok(same.ok && !same.changed && same.summary === 'nothing changed');
    writeFileSync(path, policyYaml({ maxDuration: 'banana' }));
    const first = source.reload('file change');
    const second = source.reload('file change');
    assert.ok(!first.ok && !first.repeated);
    assert.ok(!second.ok && second.repeated);
    writeFileSync(path, policyYaml());
    assert.ok(source.reload('file change').ok);
    writeFileSync(path, policyYaml({ maxDuration: 'banana' }));
    const again = source.reload('file change');
    assert.ok(!again.ok && !again.repeated, 'a good file in between: told again');
  });

  it('reloads when the file is replaced by a rename, once for a burst of events', async () => {
    const { path, source } = sourceFor(policyYaml());
    const outcomes: ReloadOutcome[] = [];
    source.onReload((r) => outcomes.push(r));
    const stop = source.watchFile((err) => assert.fail(err), 100);
    try {
      const next = join(path, '..', '.jit.config.yaml.tmp');
      writeFileSync(next, policyYaml({ maxDuration: '2h' }));
      renameSync(next, path);
      writeFileSync(join(path, '..', 'unrelated.txt'), 'not the policy');
      const deadline = Date.now() + 10_000;
      while (outcomes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(source.view.defaults.maxDuration, 2 * 3_600_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(outcomes.length, 1, JSON.stringify(outcomes));
      assert.equal(outcomes[0]!.trigger, 'file change');
    } finally {
      stop();
    }
  });
});

describe('announceReloads', () => {
  function announced() {
    const events: AuditEvent[] = [];
    const logs: { level: string; obj: object; msg: string }[] = [];
    const log = (level: string) => (obj: object, msg: string) => logs.push({ level, obj, msg });
    const { path, source } = sourceFor(policyYaml());
    announceReloads(source, { audit: async (e) => void events.push(e), now: () => 1000, logger: { info: log('info'), warn: log('warn'), error: log('error') } as never });
    return { path, source, events, logs };
  }

  it('a refused reload: logged as an error and audited as refused with code policy-invalid and the field', () => {
    const { path, source, events, logs } = announced();
    writeFileSync(path, policyYaml({ owners: '[]' }));
    source.reload('SIGHUP');
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'refused');
    assert.equal(events[0]!.code, 'policy-invalid');
    assert.match(events[0]!.detail!, /^policy reload \(SIGHUP\) refused, the old policy stays: .*hosts\[0\]\.owners: /s);
    assert.ok(logs.some((l) => l.level === 'error' && /hosts\[0\]\.owners/.test(JSON.stringify(l.obj))));
    // The file watch seeing the same broken file again: logged, not posted again. SIGHUP always posts.
    source.reload('file change');
    assert.equal(events.length, 1);
    source.reload('SIGHUP');
    assert.equal(events.length, 2);
  });

  it('an applied reload: audited as policy-reloaded with the summary; a jump server change warns of the restart', () => {
    const { path, source, events, logs } = announced();
    writeFileSync(path, policyYaml({ maxDuration: '1h', extra: 'reconcileInterval: 5m' }));
    source.reload('file change');
    assert.deepEqual(events, [{ type: 'policy-reloaded', at: 1000, detail: 'file change: changed: defaults.maxDuration; needs a restart, the old value stays: reconcileInterval' }]);
    assert.ok(logs.some((l) => l.level === 'warn' && /reconcileInterval/.test(JSON.stringify(l.obj))));
    assert.equal(source.view.reconcileInterval, 60_000);
  });

  it('nothing changed: logged only', () => {
    const { source, events, logs } = announced();
    source.reload('SIGHUP');
    assert.deepEqual(events, []);
    assert.ok(logs.some((l) => l.msg === 'policy read again: nothing changed'));
  });
});
