// The core loop end to end, against real redis-server, real OpenSSH and signed Slack requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BLOCK_BEGIN } from '../../src/domain/managed-block.ts';
import { approvalMessage, auditTypes, blockLines, posts, postsAbout, requestAccess, runJobNow, until } from '../support/flow.ts';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { describeSsh, sshHop, sshJumpShell, sshTunnel } from '../support/ssh-client.ts';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { AUDIT_CHANNEL, BOT_TOKEN, ENGINEER, OUTSIDER, OWNER, OWNER2, SIGNING_SECRET, startWorld, type World } from '../support/world.ts';

describe('core access flow', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
    // Shared setup, so that each test below stands on its own: the engineer has a key.
    assert.match((await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`)).json.text, /Key registered/);
  });
  after(async () => {
    await world?.stop();
  });

  it('registers a key and shows its SHA256 fingerprint', async () => {
    const newcomer = generateUserKey(world.dir, 'newcomer_ed25519');
    const res = await world.sender.command('U0NEWCOMER', `key add ${newcomer.publicKey}`);
    assert.equal(res.status, 200);
    assert.match(res.json.text, /Key registered: ssh-ed25519 `SHA256:[A-Za-z0-9+/]{43}`/);
    const show = await world.sender.command('U0NEWCOMER', 'key');
    assert.match(show.json.text, /Your registered key: ssh-ed25519 `SHA256:/);
    const help = await world.sender.command(ENGINEER, 'help');
    assert.match(help.json.text, /\/jump request &lt;host&gt;/);
    assert.equal(help.problem, undefined, 'Slack accepts the help text');
  });

  it('refuses bad requests with a specific message and creates nothing', async () => {
    // The key registered just before is audited in the channel a moment later: that post is not this test's.
    await until('the key registration in the audit channel', () => posts(world, AUDIT_CHANNEL).find((c) => JSON.stringify(c.args).includes('U0NEWCOMER')));
    const before = world.slack.calls.length;
    const cases: [string, string, RegExp][] = [
      [ENGINEER, 'request nope 5s because', /Unknown host "nope"\. Hosts you can request: `internal-1`, `internal-2`/],
      [ENGINEER, 'request internal-1 2h because', /allows at most 1h\. Try `\/jump request internal-1 1h …`/],
      [ENGINEER, 'request internal-1 5x because', /"5x" is not a duration/],
      [OUTSIDER, 'request internal-1 5s because', /Register your public key first/],
      [ENGINEER, 'frobnicate', /Unknown command "frobnicate"/],
    ];
    for (const [user, text, expected] of cases) {
      const res = await world.sender.command(user, text);
      assert.equal(res.status, 200);
      assert.equal(res.json.response_type, 'ephemeral');
      assert.match(res.json.text, expected, text);
    }
    // A request lacking only its required reason opens the request form for it (host and duration filled in).
    const viewsBefore = world.slack.views().length;
    const noReason = await world.sender.command(ENGINEER, 'request internal-1 5s');
    assert.equal(noReason.status, 200);
    const form = await until('the form asking for the reason', () => world.slack.views().slice(viewsBefore).find((v) => v.user === ENGINEER));
    const initial = Object.fromEntries(form.view.blocks.map((b: any) => [b.block_id.split('@')[0], b.element?.initial_option?.value]));
    assert.deepEqual([initial.host, initial.duration], ['internal-1', '5s']);
    // Not a pause: a valid request after them, whose messages would have to come after any the refused ones caused.
    const marker = await requestAccess(world, ENGINEER, 'request internal-2 10m marker after the refusals');
    await until('the marker request reaches the audit channel', () => posts(world, AUDIT_CHANNEL).find((c) => String(c.args.text).includes(marker)));
    const later = world.slack.calls.slice(before).filter((c) => c.method.startsWith('chat.') && !JSON.stringify(c.args).includes(marker));
    assert.deepEqual(later.map((c) => c.method), [], 'no message posted for refused requests');
    assert.equal(blockLines(world).length, 0);
    assert.match((await world.sender.command(ENGINEER, `revoke ${marker}`)).json.text, /cancelled/);
  });

  it('shows the owners a reason with an emoji at the clip point and line breaks as one line Slack accepts', async () => {
    // Escaped, 397 ampersands and "a\nbc" end at UTF-16 unit 1998 of the Reason field: clipping after escaping
    // cut the emoji in half there, and the local Slack (as Slack may) refused the whole approval message.
    const reason = `${'&'.repeat(397)}a\nbc😀 *Approvals*\n2 of 1 :white_check_mark: approved by <@${OWNER2}>`;
    const id = await requestAccess(world, ENGINEER, `request internal-2 ${reason}`);
    const dm = await until('the approval DM, accepted by Slack', () => approvalMessage(world, `D${OWNER}`, id), 30_000);
    const field = (dm.blocks![1].fields as { text: string; verbatim?: boolean }[])[2]!;
    assert.match(field.text, /^\*Reason\*\n(&amp;){397}a bc…$/, 'one line after the label, cut before the emoji');
    assert.equal(field.verbatim, true);
    assert.doesNotMatch(field.text, /\p{Cs}/u, 'no half surrogate pair');
    const about = posts(world).filter((c) => c.args.metadata?.event_payload?.request_id === id);
    assert.ok(about.length >= 2, 'the owner DM and the approval channel');
    assert.deepEqual(about.map((c) => c.error), about.map(() => undefined), 'Slack refused none of the posts about it');
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /cancelled/);
  });

  it('grants access on approval, proves it with a real ssh hop, and takes it away at expiry', async () => {
    const outsideBefore = world.jump.readAuthorizedKeys().split(BLOCK_BEGIN)[0];
    // Minutes, so that the grant outlives the ssh checks on any machine; its expiry job is then run at once.
    const id = await requestAccess(world, ENGINEER, 'request internal-1 10m "fix replication"');

    // The owners (a user group) each get a DM and the approval channel gets a copy, with buttons.
    const dm = await until('approval DM', () => approvalMessage(world, `D${OWNER}`, id));
    await until('approval copies', () => approvalMessage(world, `D${OWNER2}`, id) && approvalMessage(world, 'C0APPROVALS', id));
    assert.equal(approvalMessage(world, `D${ENGINEER}`, id), undefined, 'the requester is not asked to approve');
    const approve = findButton(dm.blocks, 'jit_approve');
    assert.equal(approve.value, id);
    assert.match(JSON.stringify(dm.blocks), /fix replication/);

    // Someone who is not an owner, and the requester, are refused; nothing changes.
    for (const who of [OUTSIDER, ENGINEER]) {
      await world.sender.blockAction(who, { actionId: approve.actionId, value: id, blockId: approve.blockId, message: { channel: dm.channel, ts: dm.ts } });
      const eph = await until('refusal', () =>
        world.slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === who && (who === ENGINEER ? /You cannot approve your own request/ : /Only the owners of internal-1/).test(c.args.text)),
      );
      assert.ok(eph);
    }
    assert.equal(blockLines(world).length, 0);
    assert.ok(findButton(approvalMessage(world, `D${OWNER}`, id)!.blocks, 'jit_approve'), 'buttons still there');

    // The owner approves: measure click → key line present on the jump server.
    const clicked = performance.now();
    await world.sender.blockAction(OWNER, { actionId: approve.actionId, value: id, blockId: approve.blockId, message: { channel: dm.channel, ts: dm.ts } });
    const line = await until('key line', () => blockLines(world).find((l) => l.endsWith(`jit:${id}`)), 10_000, 1);
    const approvalToLineMs = performance.now() - clicked;
    console.log(`approval → key line present: ${approvalToLineMs.toFixed(1)} ms`);

    const engineerKeyData = world.engineerKey.publicKey.split(' ').slice(0, 2).join(' ');
    assert.match(
      line,
      new RegExp(
        `^restrict,port-forwarding,permitopen="127\\.0\\.0\\.1:${world.internal.port}",command="/bin/false",expiry-time="\\d{14}Z" ${engineerKeyData.replace(/[+/]/g, '\\$&')} jit:${id}$`,
      ),
    );
    assert.equal(world.jump.readAuthorizedKeys().split(BLOCK_BEGIN)[0], outsideBefore, 'lines outside the block untouched');

    // Connect instructions by DM.
    const dmToEngineer = await until('connect instructions', () => postsAbout(world, 'jit_grant_active', id, `D${ENGINEER}`)[0]);
    assert.ok(
      dmToEngineer.args.text.includes(`ssh -J ${world.jump.user}@127.0.0.1:${world.jump.port} -p ${world.internal.port} ${world.internal.user}@127.0.0.1`),
      dmToEngineer.args.text,
    );
    assert.match(JSON.stringify(dmToEngineer.args.blocks), /ProxyJump/);

    // The approval message updated in place, everywhere, without buttons.
    await until('message updated', () => {
      const m = approvalMessage(world, `D${OWNER2}`, id);
      return m && /Approved by <@U0OWNER1>/.test(JSON.stringify(m.blocks)) && !JSON.stringify(m.blocks).includes('jit_approve');
    });

    // Real access: the hop works, a shell on the jump server and a tunnel elsewhere do not.
    const hop = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    assert.match(hop.stdout, /hop-ok/);
    const shell = await sshJumpShell({ jump: world.jump, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(shell.outcome, 'refused-command', describeSsh(shell));
    assert.doesNotMatch(shell.stdout, /shell-ok/);
    const granted = await sshTunnel({ jump: world.jump, identityFile: world.engineerKey.privateKeyPath, toHost: '127.0.0.1', toPort: world.internal.port });
    assert.equal(granted.outcome, 'ok', `the same kind of tunnel to the granted host works: ${describeSsh(granted)}`);
    const tunnel = await sshTunnel({ jump: world.jump, identityFile: world.engineerKey.privateKeyPath, toHost: '127.0.0.1', toPort: world.internal2.port });
    assert.equal(tunnel.outcome, 'refused-forward', `no tunnel to a host that was not granted: ${describeSsh(tunnel)}`);
    assert.doesNotMatch(tunnel.stdout, /SSH-2\.0/);

    // Expiry (its job run now): the line goes, the hop fails, everyone is told.
    assert.ok(blockLines(world).some((l) => l.endsWith(`jit:${id}`)), 'the grant was still active during the checks above');
    await runJobNow(world, 'revoke', id);
    await until('line removed', () => blockLines(world).length === 0 || undefined, 60_000, 50);
    const late = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(late.outcome, 'refused-auth', describeSsh(late));
    const expiryDm = await until('expiry DM', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`)[0]);
    assert.equal(expiryDm.args.metadata.event_payload.state, 'expired');
    await until('message shows expiry', () => /Expired <!date/.test(JSON.stringify(approvalMessage(world, `D${OWNER}`, id)?.blocks)));
    assert.equal(world.jump.readAuthorizedKeys().split(BLOCK_BEGIN)[0], outsideBefore);
    await until('audit trail', () => {
      const types = auditTypes(world);
      return ['requested', 'approved', 'activated', 'expired'].every((t) => types.includes(t)) || undefined;
    });
    assert.deepEqual(auditTypes(world, id), ['requested', 'refused', 'refused', 'approved', 'activated', 'expired']);
    const refusals = posts(world, AUDIT_CHANNEL).filter((c) => c.args.metadata?.event_payload.request_id === id && c.args.metadata.event_payload.audit_type === 'refused');
    assert.ok(refusals.every((c) => c.args.metadata.event_type === 'jit_audit' && c.args.metadata.event_payload.host === 'internal-1'));
    assert.deepEqual(refusals.map((c) => c.args.metadata.event_payload.code), ['not-owner', 'self-approval'], 'the refusal code is audited');
  });

  it('an owner cannot approve their own request', async () => {
    const ownerKey = generateUserKey(world.dir, 'owner_ed25519');
    await world.sender.command(OWNER, `key add ${ownerKey.publicKey}`);
    const id = await requestAccess(world, OWNER, 'request internal-2 10m checking');
    const msg = await until('approval message', () => approvalMessage(world, 'C0APPROVALS', id));
    const approve = findButton(msg.blocks, 'jit_approve');
    await world.sender.blockAction(OWNER, { actionId: approve.actionId, value: id, blockId: approve.blockId, message: { channel: msg.channel, ts: msg.ts } });
    await until('refusal', () => world.slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === OWNER && /cannot approve your own request/.test(c.args.text)));
    assert.equal((await world.broker.requests.get(id))?.state, 'pending');
    assert.equal(blockLines(world).length, 0);
    assert.match((await world.sender.command(OWNER, `revoke ${id}`)).json.text, /cancelled/);
  });

  it('two clicks at once activate exactly once', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-1 10m race');
    const msg = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    const approve = findButton(msg.blocks, 'jit_approve');
    const click = (who: string) =>
      world.sender.blockAction(who, { actionId: approve.actionId, value: id, blockId: approve.blockId, message: { channel: msg.channel, ts: msg.ts } });
    const ephemeralsBefore = world.slack.calls.filter((c) => c.method === 'chat.postEphemeral').length;
    await Promise.all([click(OWNER), click(OWNER2), click(OWNER), click(OWNER2)]);
    // Every click is answered: one activates, the other three are told why not.
    await until('the three losing clicks answered', () =>
      world.slack.calls.filter((c) => c.method === 'chat.postEphemeral').slice(ephemeralsBefore).filter((c) => [OWNER, OWNER2].includes(c.args.user) && /already/.test(c.args.text)).length >= 3 || undefined,
    );
    await until('connect DM', () => postsAbout(world, 'jit_grant_active', id, `D${ENGINEER}`)[0]);
    await until('audit', () => auditTypes(world, id).includes('activated'));
    // Not a pause: the grant's end comes after any second activation would have, in the audit stream and the DMs.
    await runJobNow(world, 'revoke', id);
    await until('expired in the audit channel', () => auditTypes(world, id).includes('expired'));
    await until('expiry DM', () => postsAbout(world, 'jit_grant_ended', id, `D${ENGINEER}`)[0]);
    assert.equal(postsAbout(world, 'jit_grant_active', id, `D${ENGINEER}`).length, 1);
    assert.equal(auditTypes(world, id).filter((t) => t === 'activated').length, 1);
    const req = await world.broker.requests.get(id);
    assert.equal(req?.approvers.length, 1);
    assert.equal(req?.state, 'expired');
  });

  it('one person with grants to two hosts reaches both, and each grant ends on its own time', async () => {
    const approveVia = async (id: string, owner: string) => {
      const msg = await until('approval message', () => approvalMessage(world, `D${owner}`, id));
      const b = findButton(msg.blocks, 'jit_approve');
      await world.sender.blockAction(owner, { actionId: b.actionId, value: id, blockId: b.blockId, message: { channel: msg.channel, ts: msg.ts } });
    };
    // Minutes: both must outlive the ssh checks; each one's expiry job is run when the test says so.
    const short = await requestAccess(world, ENGINEER, 'request internal-1 10m short one');
    const long = await requestAccess(world, ENGINEER, 'request internal-2 20m long one');
    await approveVia(short, OWNER);
    await approveVia(long, OWNER);
    const merged = await until('merged line', () => blockLines(world).find((l) => l.includes(short) && l.includes(long)));
    assert.equal(blockLines(world).length, 1, 'one line per key');
    assert.ok(merged.includes(`permitopen="127.0.0.1:${world.internal.port}"`) && merged.includes(`permitopen="127.0.0.1:${world.internal2.port}"`));
    const key = world.engineerKey.privateKeyPath;
    const hop = async (target: World['internal'], expected: string) => {
      const r = await sshHop({ jump: world.jump, target, identityFile: key });
      assert.equal(r.outcome, expected, `${target.name}: ${describeSsh(r)}`);
    };
    await hop(world.internal, 'ok');
    await hop(world.internal2, 'ok');
    // The short grant ends: the line is re-rendered with only the long grant's host.
    await runJobNow(world, 'revoke', short);
    await until('short grant gone', () => {
      const lines = blockLines(world);
      return lines.length === 1 && !lines[0]!.includes(short) && lines[0]!.includes(long) ? true : undefined;
    });
    await hop(world.internal, 'refused-forward');
    await hop(world.internal2, 'ok');
    await runJobNow(world, 'revoke', long);
    await until('long grant gone', () => blockLines(world).length === 0 || undefined, 60_000, 100);
    await hop(world.internal2, 'refused-auth');
  });

  it('deny asks for a reason, tells the requester and closes the request', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-1 10m please');
    const msg = await until('approval message', () => approvalMessage(world, `D${OWNER}`, id));
    const deny = findButton(msg.blocks, 'jit_deny');
    await world.sender.blockAction(OWNER, { actionId: deny.actionId, value: id, blockId: deny.blockId, message: { channel: msg.channel, ts: msg.ts } });
    const opened = await until('modal', () => world.slack.calls.find((c) => c.method === 'views.open' && !c.error && c.args.view?.private_metadata === id));
    assert.equal(opened.args.view.callback_id, 'jit_deny_reason');
    // An empty reason is refused inside the modal.
    const empty = await world.sender.viewSubmission(OWNER, { callbackId: 'jit_deny_reason', privateMetadata: id, values: { reason: { reason_input: { type: 'plain_text_input', value: '  ' } } } });
    assert.equal(empty.json?.response_action, 'errors');
    const res = await world.sender.viewSubmission(OWNER, {
      callbackId: 'jit_deny_reason',
      privateMetadata: id,
      values: { reason: { reason_input: { type: 'plain_text_input', value: 'use the replica <!channel>' } } },
    });
    assert.equal(res.status, 200);
    const deniedDm = await until('denied DM', () => postsAbout(world, 'jit_request_closed', id, `D${ENGINEER}`)[0]);
    assert.equal(deniedDm.args.metadata.event_payload.state, 'denied');
    assert.match(deniedDm.args.text, /denied by <@U0OWNER1>/);
    await until('message shows denial', () => /Denied by <@U0OWNER1>: use the replica &lt;!channel&gt;/.test(JSON.stringify(approvalMessage(world, 'C0APPROVALS', id)?.blocks)));
    assert.equal((await world.broker.requests.get(id))?.state, 'denied');
    // A late approval after the denial changes nothing.
    const approve = findButton(msg.blocks, 'jit_approve');
    await world.sender.blockAction(OWNER2, { actionId: approve.actionId, value: id, blockId: approve.blockId, message: { channel: msg.channel, ts: msg.ts } });
    await until('already denied', () => world.slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === OWNER2 && /already denied/.test(c.args.text)));
    assert.equal(blockLines(world).length, 0);
  });

  it('every message the broker posted or updated carries metadata: a jit_ event type, request id, host and state', () => {
    const sent = world.slack.calls.filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update');
    assert.ok(sent.length > 20);
    for (const c of sent) {
      const m = c.args.metadata;
      assert.match(String(m?.event_type), /^jit_[a-z_]+$/, JSON.stringify(c.args).slice(0, 300));
      for (const field of ['request_id', 'host', 'state']) assert.equal(typeof m.event_payload[field], 'string', `${m.event_type} ${field}`);
    }
    const types = new Set(sent.map((c) => c.args.metadata.event_type));
    for (const t of ['jit_request_pending', 'jit_request_decided', 'jit_request_closed', 'jit_grant_active', 'jit_grant_ended', 'jit_audit', 'jit_key_changed'])
      assert.ok(types.has(t), t);
  });

  it('Slack refused nothing the broker sent in this flow: posts, updates, ephemerals, modals, slash command answers', () => {
    // The local Slack checks each as Slack does (Block Kit limits, lone surrogates, raw <word> in mrkdwn).
    const sent = world.slack.calls.filter((c) => /^(chat\.|views\.)/.test(c.method) || c.method === 'command_response');
    assert.ok(sent.some((c) => c.method === 'command_response'), 'slash command answers are checked too');
    const refused = sent.filter((c) => c.error);
    assert.deepEqual(refused.map((c) => `${c.method} ${c.error}: ${JSON.stringify(c.args).slice(0, 200)}`), []);
  });

  it('keeps tokens and the signing secret out of logs and Slack messages', () => {
    const everything = world.logs.join('\n') + JSON.stringify(world.slack.calls.map((c) => c.args));
    assert.ok(world.logs.length > 10);
    assert.ok(!everything.includes(BOT_TOKEN));
    assert.ok(!everything.includes(SIGNING_SECRET));
  });
});
