// Keys and callers through the real broker: private key pastes, weak and duplicate keys, key removal, the
// authorization table on every decision, escaping of user text, and the abuse limits.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateUserKey } from '../../src/sandbox/sshd-process.ts';
import { BLOCK_BEGIN, BLOCK_END, isBlockMarker } from '../../src/domain/managed-block.ts';
import { checkUserPublicKey } from '../../src/domain/public-key.ts';
import { PRIVATE_KEY_MESSAGE } from '../../src/slack/messages.ts';
import { blockLines, click, posts, requestAccess, until } from '../support/flow.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { AUDIT_CHANNEL, ENGINEER, OUTSIDER, OWNER, OWNER2, startWorld, type World } from '../support/world.ts';

describe('keys and authorization (end to end)', () => {
  let world: World;
  const say = async (user: string, text: string): Promise<string> => {
    const res = await world.sender.command(user, text);
    assert.equal(res.status, 200);
    return String(res.json?.text ?? '');
  };
  const audited = (pattern: RegExp) => until(`audit ${pattern}`, () => posts(world, AUDIT_CHANNEL).find((c) => pattern.test(c.args.text)));
  const keygen = (name: string, args: string[]) => {
    const path = join(world.dir, name);
    execFileSync('ssh-keygen', ['-q', '-N', '', '-C', `${name}@test`, '-f', path, ...args]);
    return readFileSync(`${path}.pub`, 'utf8').trim();
  };
  /** Clicks a button of the approval message (found in the owner's DM) as `who`. */
  const clickAs = async (who: string, id: string, actionId: string, value = id, dm = `D${OWNER}`) => {
    const msg = await until('approval message', () => world.slack.messages(dm).find((m) => JSON.stringify(m.blocks).includes(id)));
    const res = await world.sender.blockAction(who, { actionId, value, blockId: `decision:${id}`, message: { channel: msg.channel, ts: msg.ts } });
    assert.equal(res.status, 200);
  };
  const ephemeralTo = (who: string, pattern: RegExp) =>
    until(`ephemeral to ${who}`, () => world.slack.calls.find((c) => c.method === 'chat.postEphemeral' && c.args.user === who && pattern.test(c.args.text)));

  before(async () => {
    world = await startWorld({ limits: { maxPendingRequests: 2, requestsPerWindow: 4, keyChangesPerWindow: 4, window: '1h' } });
    await say(ENGINEER, `key add ${world.engineerKey.publicKey}`);
  });
  after(async () => {
    await world?.stop();
  });

  it('refuses a pasted private key anywhere in a command, says to rotate it, and keeps no trace of it', async () => {
    const priv = readFileSync(world.engineerKey.privateKeyPath, 'utf8');
    const body = priv.split('\n')[2]!; // a line from inside the key
    assert.ok(body.length > 40);
    for (const text of [`key add ${priv}`, `key add ${priv.replace(/\n/g, ' ')}`, `request internal-1 1h ${priv}`, `key add ${priv.split('\n').slice(1, -2).join('')}`])
      assert.equal(await say('U0PASTE', text), PRIVATE_KEY_MESSAGE);
    assert.match(PRIVATE_KEY_MESSAGE, /treat it as leaked/);
    assert.equal(await world.broker.keys.get('U0PASTE'), undefined);
    assert.deepEqual(await world.broker.requests.recentForUser('U0PASTE'), []);
    await audited(/\*refused\*.*U0PASTE.*private key was pasted/);
    assert.ok(!world.logs.some((l) => l.includes(body)), 'not in the logs');
    assert.ok(!JSON.stringify(world.slack.calls).includes(body), 'not in any Slack call');
  });

  it('refuses DSA, short RSA, option prefixes and two keys, each with its own message', async () => {
    assert.match(await say('U0WEAK', `key add ${keygen('dsa', ['-t', 'dsa'])}`), /DSA keys are too weak and are refused/);
    assert.match(await say('U0WEAK', `key add ${keygen('rsa2048', ['-t', 'rsa', '-b', '2048'])}`), /RSA keys must have at least 3072 bits \(this one has 2048\)/);
    assert.match(await say('U0WEAK', `key add command="/bin/sh" ${world.engineerKey.publicKey}`), /nothing may stand before it/);
    assert.match(await say('U0WEAK', `key add permitopen="*:*",restrict ${world.engineerKey.publicKey}`), /nothing may stand before it/);
    const other = generateUserKey(world.dir, 'two_keys');
    assert.match(await say('U0WEAK', `key add ${other.publicKey} ${world.engineerKey.publicKey}`), /Give exactly one key on one line/);
    assert.equal(await world.broker.keys.get('U0WEAK'), undefined);
    assert.match(await say('U0WEAK', `key add ${keygen('rsa3072', ['-t', 'rsa', '-b', '3072'])}`), /^Key registered: ssh-rsa `SHA256:/);
  });

  it('refuses a key already registered to someone else', async () => {
    assert.match(await say('U0COPY', `key add ${world.engineerKey.publicKey}`), /already registered to someone else/);
    assert.equal(await world.broker.keys.get('U0COPY'), undefined);
  });

  it('`key remove` takes the key off the jump server at once, active grants included', async () => {
    // Minutes: the grant must still be active at the second ssh check, whatever the machine's load.
    const id = await requestAccess(world, ENGINEER, 'request internal-2 10m key removal');
    await click(world, id, OWNER);
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    const before = await sshHop({ jump: world.jump, target: world.internal2, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(before.outcome, 'ok', describeSsh(before));
    assert.match(await say(ENGINEER, 'key remove'), /^Key `SHA256:[^`]+` removed\. Your 1 active grant\(s\) ended/);
    await until('line gone', () => blockLines(world).length === 0 || undefined);
    const after = await sshHop({ jump: world.jump, target: world.internal2, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(after.outcome, 'refused-auth', describeSsh(after));
    assert.match(await say(ENGINEER, 'key'), /no key registered/);
    assert.match(await say(ENGINEER, 'key remove'), /nothing to remove/);
    await audited(/\*key-removed\*.*U0ENGINEER/);
    // The grant ended with the key (bound to the key that was approved): registering a key does not bring it back.
    assert.equal((await world.broker.requests.get(id))?.state, 'revoked');
    assert.match(await say(ENGINEER, `key add ${world.engineerKey.publicKey}`), /Key registered/);
    assert.match(await say(ENGINEER, `revoke ${id}`), /is revoked; nothing to revoke/);
  });

  it('refuses every decision by someone not allowed to make it: ephemeral refusal and a refused audit event', async () => {
    // Minutes: it must still be active at the end, however long the refusals take.
    const id = await requestAccess(world, ENGINEER, 'request internal-1 10m authz');
    await clickAs(OUTSIDER, id, 'jit_approve');
    await ephemeralTo(OUTSIDER, /Only the owners of internal-1 can approve/);
    await clickAs(ENGINEER, id, 'jit_approve');
    await ephemeralTo(ENGINEER, /You cannot approve your own request/);
    await clickAs(OUTSIDER, id, 'jit_deny');
    await ephemeralTo(OUTSIDER, /Only the owners of internal-1 can deny/);
    const view = await world.sender.viewSubmission(OUTSIDER, { callbackId: 'jit_deny_reason', privateMetadata: id, values: { reason: { reason_input: { type: 'plain_text_input', value: 'mine now' } } } });
    assert.match(JSON.stringify(view.json), /Only the owners of internal-1 can deny/);
    assert.match(await say(OUTSIDER, `revoke ${id}`), new RegExp(`No request \`${id}\` of yours`));
    for (const detail of ['approve: not an owner of internal-1', 'deny: not an owner of internal-1', 'cancel: neither the requester nor an owner']) await audited(new RegExp(`\\*refused\\*.*U0OUTSIDER.*${id}.*${detail}`));
    const req = await world.broker.requests.get(id);
    assert.equal(req?.state, 'pending');
    assert.deepEqual(req?.approvers, []);

    // crafted button values never reach Redis as keys
    for (const value of ['{jit}:req:x', `${id}:msgs`, '../r1', '']) {
      await clickAs(OWNER, id, 'jit_approve', value);
      await ephemeralTo(OWNER, /That request no longer exists/);
    }
    assert.equal((await world.broker.requests.get(id))?.state, 'pending');

    await click(world, id, OWNER);
    await until('active', async () => (await world.broker.requests.get(id))?.state === 'active');
    assert.match(await say(OUTSIDER, `revoke ${id}`), /No request .* of yours/);
    await audited(new RegExp(`\\*refused\\*.*U0OUTSIDER.*${id}.*revoke: neither the requester nor an owner`));
    assert.equal((await world.broker.requests.get(id))?.state, 'active');
    await say(ENGINEER, `revoke ${id}`);
    await until('line gone', () => blockLines(world).length === 0 || undefined);
  });

  it('an owner cannot approve their own request', async () => {
    const ownerKey = generateUserKey(world.dir, 'owner_key');
    await say(OWNER, `key add ${ownerKey.publicKey}`);
    const id = await requestAccess(world, OWNER, 'request internal-1 5s my own');
    // the requester is not sent their own approval request; the other owner's copy has the same buttons
    await clickAs(OWNER, id, 'jit_approve', id, `D${OWNER2}`);
    await ephemeralTo(OWNER, /You cannot approve your own request/);
    await audited(new RegExp(`\\*refused\\*.*${id}.*approve: own request`));
    assert.equal((await world.broker.requests.get(id))?.state, 'pending');
    await say(OWNER, `revoke ${id}`);
  });

  it('escapes user text wherever it is shown: no pings, mentions or fake links', async () => {
    const hostile = '<!channel> see <http://evil.example|the runbook> & ask <@U0BOSS>';
    const id = await requestAccess(world, ENGINEER, `request internal-2 5s ${hostile}`);
    const msg = await until('approval message', () => world.slack.messages(`D${OWNER}`).find((m) => JSON.stringify(m.blocks).includes(id)));
    const shown = JSON.stringify(msg.blocks);
    assert.ok(shown.includes('&lt;!channel&gt; see &lt;http://evil.example|the runbook&gt; &amp; ask &lt;@U0BOSS&gt;'), shown);
    assert.ok(!shown.includes('<!channel>') && !shown.includes('<http://evil') && !shown.includes('<@U0BOSS>'));
    await clickAs(OWNER, id, 'jit_deny');
    await world.sender.viewSubmission(OWNER, { callbackId: 'jit_deny_reason', privateMetadata: id, values: { reason: { reason_input: { type: 'plain_text_input', value: '<!here> use <http://x.example|this>' } } } });
    const dm = await until('denial DM', () => posts(world, `D${ENGINEER}`).find((c) => c.args.text.includes(id) && /denied/.test(c.args.text)));
    assert.match(dm.args.text, /: &lt;!here&gt; use &lt;http:\/\/x\.example\|this&gt;$/);
    const audit = await audited(new RegExp(`\\*requested\\*.*${id}`));
    assert.ok(!/<!channel>|<http:\/\/evil/.test(audit.args.text), audit.args.text);
    assert.match(await say(ENGINEER, 'request <!channel|x> 1h'), /^Unknown host "&lt;!channel\|x&gt;"/);
    assert.match(await say(ENGINEER, '<!everyone>'), /^Unknown command "&lt;!everyone&gt;"/);
  });

  it('caps pending requests per person and rate-limits requests and key changes', async () => {
    const k = generateUserKey(world.dir, 'rate_key');
    await say('U0RATE', `key add ${k.publicKey}`);
    const a = await requestAccess(world, 'U0RATE', 'request internal-2 5s one');
    await requestAccess(world, 'U0RATE', 'request internal-2 5s two');
    assert.match(await say('U0RATE', 'request internal-2 5s three'), /You already have 2 request\(s\) waiting for approval \(at most 2\)/);
    assert.equal((await world.broker.requests.recentForUser('U0RATE')).length, 2, 'the capped one was not stored');
    await say('U0RATE', `revoke ${a}`);
    // the refused attempt counted against the rate limit too: this is the 4th of 4
    const c = await requestAccess(world, 'U0RATE', 'request internal-2 5s three');
    await say('U0RATE', `revoke ${c}`);
    assert.match(await say('U0RATE', 'request internal-2 5s five'), /^Too many requests: at most 4 per 1h\. Try again in \d+[hms]/);
    assert.match(await say('U0RATE', 'request internal-2 5s six'), /^Too many requests/);
    await audited(/\*refused\*.*U0RATE.*rate limit: more than 4 requests per 1h/);

    const k2 = generateUserKey(world.dir, 'rate_key2');
    for (const key of [k2, k, k2]) assert.match(await say('U0RATE', `key add ${key.publicKey}`), /Key replaced/);
    assert.match(await say('U0RATE', `key add ${k.publicKey}`), /^Too many key changes: at most 4 per 1h/);
    assert.match(await say('U0RATE', 'key remove'), /^Too many key changes/);
    assert.equal((await world.broker.keys.get('U0RATE'))?.line, k2.publicKey.split(' ').slice(0, 2).join(' '));
    // Counted only now: a second audit of the request limit would have come before this later one.
    await audited(/\*refused\*.*U0RATE.*rate limit: more than 4 key changes per 1h/);
    assert.equal(posts(world, AUDIT_CHANNEL).filter((p) => /U0RATE.*rate limit: more than 4 requests/.test(p.args.text)).length, 1, 'audited once per window');
  });
  it('refuses the broker’s own public key at `key add`, naming the jump server, and audits it', async () => {
    const brokerPub = readFileSync(`${world.policy.jumpHosts[0]!.privateKeyPath}.pub`, 'utf8').trim();
    assert.match(await say('U0THIEF', `key add ${brokerPub}`), /^That is the public key jit-jump itself uses to log in to the jump server bastion/);
    assert.equal(await world.broker.keys.get('U0THIEF'), undefined);
    await audited(/\*refused\*.*U0THIEF.*key-add: SHA256:\S+ is the broker key of bastion/);
  });

  it('never renders a key standing outside the block (the broker’s own included): alert once, and the broker keeps writing', async () => {
    const jhPriv = world.policy.jumpHosts[0]!.privateKeyPath;
    const brokerPub = readFileSync(`${jhPriv}.pub`, 'utf8').trim();
    const broker = checkUserPublicKey(brokerPub, { minRsaBits: 3072 });
    assert.ok(broker.ok);
    // The block before the broker's line: where a grant line for the broker's key would win (sshd takes the
    // first line of a key) and give the broker's SFTP login command="/bin/false" for good.
    const file = world.jump.readAuthorizedKeys();
    assert.deepEqual(blockLines(world), [], 'no grant active');
    const outside = file.split('\n').filter((l) => l !== '' && !isBlockMarker(l));
    // And a key an operator placed by hand, after the block.
    const hand = generateUserKey(world.dir, 'hand_placed');
    world.jump.writeAuthorizedKeys([BLOCK_BEGIN, BLOCK_END, ...outside, `${hand.publicKey}`, ''].join('\n'));
    // A registration made before this check existed (stored straight into Redis): the lock-out of issue #11.
    assert.ok((await world.broker.keys.set('U0LEGACY', broker.value, Date.now())).ok);
    const id = await requestAccess(world, 'U0LEGACY', 'request internal-2 10m legacy');
    await click(world, id, OWNER);
    await until('activation failed', async () => (await world.broker.requests.get(id))?.state === 'failed');
    assert.ok(!world.jump.readAuthorizedKeys().includes(`${broker.value.line} jit:`), 'no grant line for the broker key');
    await audited(new RegExp(`\\*failed\\*.*${id}.*stands in authorized_keys outside the managed block \\(access outside jit-jump\\)`));
    const alert = await audited(new RegExp(`\\*jump-host-alert\\*.*key ${broker.value.fingerprint.replace(/[+/]/g, '\\$&')} stands in authorized_keys outside the jit-jump block: this key has standing access outside jit-jump.*${id}`));
    assert.ok(alert);

    // The broker still writes: another person's grant lands and works.
    const ok = await requestAccess(world, ENGINEER, 'request internal-2 10m still writing');
    await click(world, ok, OWNER);
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${ok}`)));
    const hop = await sshHop({ jump: world.jump, target: world.internal2, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    // That sync saw the hand-placed key: registering it is refused.
    assert.match(await say('U0HAND', `key add ${hand.publicKey}`), /^That key already has standing access to the jump server bastion outside jit-jump/);
    await say(ENGINEER, `revoke ${ok}`);
    await until('line gone', () => blockLines(world).length === 0 || undefined);
    // Alerted once per key and jump server, not at every sync.
    await world.broker.sync.sync('bastion');
    const alerts = posts(world, AUDIT_CHANNEL).filter((c) => c.args.metadata?.event_type === 'jit_jump_host_alert' && c.args.text.includes(`key ${broker.value.fingerprint} stands`));
    assert.equal(alerts.length, 1);
    await world.broker.keys.remove('U0LEGACY', Date.now());
  });
});
