// Extending a grant, end to end: signed commands, clicks and form submissions against real Redis and sshd.
// An approved extension moves the line's expiry-time in place and a real ssh hop works after the original end;
// within selfExtend it is granted at once; a denied one and one decided after the end leave the grant to end on
// time; the Extend button on the expiry warning opens the form.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { blockLines, click, delayedJobData, metadata, posts, requestAccess, runJobNow, sleep, until } from '../support/flow.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { ENGINEER, OUTSIDER, OWNER, startWorld, type World } from '../support/world.ts';

const EXTEND = 'jit_extend';

describe('extending a grant', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ selfExtend: '30s', maxDuration: '1h', maxTotalDuration: '1h' });
    assert.match((await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`)).json.text, /Key registered/);
  });
  after(async () => {
    await world?.stop();
  });

  /** The grant's line on the jump server (exactly one), and its expiry-time as epoch seconds. */
  const lineOf = (id: string) => {
    const lines = blockLines(world).filter((l) => l.split(' ').at(-1)!.slice(4).split(',').includes(id));
    if (lines.length !== 1) return undefined;
    const m = /expiry-time="(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z"/.exec(lines[0]!)!;
    return { line: lines[0]!, expirySeconds: Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000 };
  };
  const grantOf = async (id: string) => (await world.broker.requests.get(id))!;
  const hop = () => sshHop({ jump: world.jump, target: world.internal2, identityFile: world.engineerKey.privateKeyPath });
  const ephemeralTo = (user: string, since: number, pattern: RegExp) =>
    world.slack.calls.slice(since).find((c) => c.method === 'chat.postEphemeral' && c.args.user === user && pattern.test(c.args.text));
  const dmAbout = (eventType: string, id: string) =>
    world.slack.messages(`D${ENGINEER}`).find((m) => m.metadata?.event_type === eventType && m.metadata.event_payload.request_id === id);

  async function activeGrant(text: string): Promise<string> {
    const id = await requestAccess(world, ENGINEER, text);
    await click(world, id, OWNER);
    await until('key line', () => lineOf(id));
    return id;
  }
  /** `/jump extend …` that goes to the owners: the extension's id, from its approval message's metadata. */
  async function askExtension(grantId: string, text: string): Promise<string> {
    const extId = await requestAccess(world, ENGINEER, `extend ${grantId} ${text}`);
    const pending = await until('approval message to the owner', () => posts(world, `D${OWNER}`).find((c) => metadata(c)?.event_payload.request_id === extId));
    assert.equal(metadata(pending)?.event_payload.extends, grantId, 'the approval message names the grant it extends');
    return extId;
  }

  it('approved before the end: the line is rewritten with the later expiry-time and a real ssh hop works after the original end', async () => {
    const id = await activeGrant('request internal-2 12s fix replication');
    const oldEnd = (await grantOf(id)).expiresAt!;
    assert.equal(lineOf(id)!.expirySeconds, Math.floor(oldEnd / 1000));
    const extId = await askExtension(id, '2m still migrating');
    assert.equal((await grantOf(id)).expiresAt, oldEnd, 'the grant runs on unchanged while the owners decide');

    await click(world, extId, OWNER);
    const newEnd = oldEnd + 120_000;
    await until('line rewritten with the new expiry-time', () => lineOf(id)?.expirySeconds === Math.floor(newEnd / 1000) || undefined);
    assert.deepEqual([(await grantOf(id)).expiresAt, (await grantOf(extId)).state], [newEnd, 'extended']);
    const told = await until('requester told', () => dmAbout('jit_grant_extended', id));
    assert.equal(told.metadata!.event_payload.expires_at, newEnd);
    await until('the owners’ message shows it', () => {
      const m = world.slack.messages(`D${OWNER}`).find((x) => x.metadata?.event_payload.request_id === extId);
      return m?.metadata?.event_type === 'jit_request_decided' && /extended by 2m/.test(JSON.stringify(m.blocks));
    });

    // The revoke job scheduled for the original end finds the end moved, and waits for the new one.
    await runJobNow(world, 'revoke', id);
    await delayedJobData(world, 'revoke', id, (data) => data.grantEnd === newEnd);
    assert.equal((await grantOf(id)).state, 'active');

    // Past the original end (sshd's expiry-time has whole seconds): sshd still lets the key in.
    await sleep(Math.max(0, oldEnd + 1500 - Date.now()));
    const late = await hop();
    assert.equal(late.outcome, 'ok', describeSsh(late));
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /revoked/);
  });

  it('within selfExtend at once, no approval message; past maxTotalDuration refused naming the limit; denied, the grant ends at its end', async () => {
    const id = await activeGrant('request internal-2 10m check lag');
    const end = (await grantOf(id)).expiresAt!;
    const pendingBefore = posts(world).filter((c) => metadata(c)?.event_type === 'jit_request_pending').length;
    const self = await world.sender.command(ENGINEER, `extend ${id} 20s one more query`);
    assert.match(self.json.text, new RegExp(`Access \`${id}\` to \\*internal-2\\* extended by 20s`));
    await until('line rewritten', () => lineOf(id)?.expirySeconds === Math.floor((end + 20_000) / 1000) || undefined);
    assert.equal(posts(world).filter((c) => metadata(c)?.event_type === 'jit_request_pending').length, pendingBefore, 'no owner asked');

    const tooLong = await world.sender.command(ENGINEER, `extend ${id} 55m`);
    assert.match(tooLong.json.text, /lasts at most 1h in all \(maxTotalDuration\): this one can be extended by at most 49m40s more/);
    assert.equal((await grantOf(id)).expiresAt, end + 20_000, 'nothing moved');

    // Past the 30s budget (20s used): to the owners; denied, with a reason the requester reads.
    const extId = await askExtension(id, '30m need the whole afternoon');
    const trigger = world.slack.issueTriggerId(OWNER);
    const msg = world.slack.messages(`D${OWNER}`).find((m) => m.metadata?.event_payload.request_id === extId)!;
    const deny = findButton(msg.blocks, 'jit_deny');
    await world.sender.blockAction(OWNER, { actionId: deny.actionId, value: deny.value, blockId: deny.blockId, message: { channel: msg.channel, ts: msg.ts }, triggerId: trigger });
    const form = await until('deny form', () => world.slack.views().find((v) => v.triggerId === trigger));
    const submitted = await world.sender.viewSubmission(OWNER, {
      callbackId: form.view.callback_id,
      privateMetadata: form.view.private_metadata,
      values: { reason: { reason_input: { type: 'plain_text_input', value: 'wrap up today' } } },
    });
    assert.equal(submitted.status, 200);
    const denied = await until('requester told', () => world.slack.messages(`D${ENGINEER}`).find((m) => m.metadata?.event_payload.request_id === extId));
    assert.match(denied.text ?? '', /was denied by <@U0OWNER1>: wrap up today Your access ends as planned/);

    // The revoke job scheduled for the original end waits for the (self-)extended end, then ends the grant there.
    await runJobNow(world, 'revoke', id);
    await delayedJobData(world, 'revoke', id, (data) => data.grantEnd === end + 20_000);
    await runJobNow(world, 'revoke', id);
    await until('expired, line gone', async () => (await grantOf(id)).state === 'expired' && !lineOf(id));
    const gone = await hop();
    assert.equal(gone.outcome, 'refused-auth', describeSsh(gone));
  });

  it('the Extend button on the expiry warning opens the form: a refusal stands under its field, a valid one goes to the owners', async () => {
    // Longer than twice the 10m warning, so that the warning (with Extend) is scheduled.
    const id = await activeGrant('request internal-2 25m long query');
    await runJobNow(world, 'expiry-warning', id);
    const warning = await until('expiry warning', () => dmAbout('jit_grant_warning', id), 60_000);
    const button = findButton(warning.blocks, EXTEND);
    assert.equal(button.value, id);
    const clickExtend = (user: string, triggerId: string) =>
      world.sender.blockAction(user, { actionId: EXTEND, value: button.value, blockId: button.blockId, message: { channel: warning.channel, ts: warning.ts }, triggerId });

    const since = world.slack.calls.length;
    await clickExtend(OUTSIDER, world.slack.issueTriggerId(OUTSIDER));
    await until('outsider answered', () => ephemeralTo(OUTSIDER, since, new RegExp(`No request \`${id}\` of yours`)));
    assert.equal(world.slack.views().filter((v) => v.user === OUTSIDER).length, 0, 'no form for anyone else');

    const trigger = world.slack.issueTriggerId(ENGINEER);
    await clickExtend(ENGINEER, trigger);
    const form = await until('the form', () => world.slack.views().find((v) => v.triggerId === trigger));
    assert.equal(form.view.private_metadata, id);
    const submit = (duration: string) =>
      world.sender.viewSubmission(ENGINEER, {
        callbackId: form.view.callback_id,
        privateMetadata: form.view.private_metadata,
        values: { duration: { duration: { type: 'plain_text_input', value: duration } }, reason: { reason: { type: 'plain_text_input', value: 'index build' } } },
      });
    const refused = await submit('2h');
    assert.equal(refused.json.response_action, 'errors');
    assert.match(refused.json.errors.duration, /One extension of a grant on internal-2 is at most 1h/);
    const sent = await submit('20m');
    assert.equal(sent.json.response_action, 'update');
    assert.match(JSON.stringify(sent.json.view), /sent to its owners/);
    const ext = await until('an extension for the owners', () =>
      posts(world, `D${OWNER}`).map((c) => metadata(c)).find((m) => m?.event_type === 'jit_request_pending' && m.event_payload.extends === id),
    );
    const extId = String(ext.event_payload.request_id);
    const asked = await grantOf(extId);
    assert.deepEqual([asked.durationMs, asked.reason, asked.state], [20 * 60_000, 'index build', 'pending']);
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /revoked/);
    await until('the waiting extension ends with its grant', async () => (await grantOf(extId)).state === 'cancelled');
  });

  it('decided after the end: the grant ends on time, the extension is cancelled with it, and a late Approve extends nothing', async () => {
    const id = await activeGrant('request internal-2 10s short fix');
    const extId = await askExtension(id, '5m almost there');
    // Its real end: the revoke job at expiry, nobody promoting it.
    await until('expired on time', async () => (await grantOf(id)).state === 'expired' || undefined, 60_000);
    await until('line gone', () => !lineOf(id) || undefined);
    const ext = await until('extension cancelled with it', async () => {
      const r = await grantOf(extId);
      return r.state === 'cancelled' && r;
    });
    assert.equal(ext.endReason, 'grant-ended');
    await until('the owners’ message says so', () =>
      /Not decided before the grant ended/.test(JSON.stringify(world.slack.messages(`D${OWNER}`).find((m) => m.metadata?.event_payload.request_id === extId)?.blocks)),
    );
    assert.ok(await until('requester told the grant ended', () => dmAbout('jit_grant_ended', id)));
    const since = world.slack.calls.length;
    const msg = world.slack.messages(`D${OWNER}`).find((m) => m.metadata?.event_payload.request_id === extId)!;
    assert.equal(JSON.stringify(msg.blocks).includes('jit_approve'), false, 'no Approve button left');
    // A click that raced the update (the button still on an owner's screen) is answered, and changes nothing.
    await world.sender.blockAction(OWNER, { actionId: 'jit_approve', value: extId, blockId: `decision:${extId}`, message: { channel: msg.channel, ts: msg.ts } });
    await until('late approval answered', () => ephemeralTo(OWNER, since, /already cancelled/));
    assert.equal((await grantOf(id)).state, 'expired');
    const gone = await hop();
    assert.equal(gone.outcome, 'refused-auth', describeSsh(gone));
  });
  it('the race of an extension approved while the grant expires: exactly one outcome each time, no line left behind', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const id = await activeGrant(`request internal-2 10m race ${round}`);
      const extId = await askExtension(id, '5m racing the end');
      const end = (await grantOf(id)).expiresAt!;
      // The approval click and the revoke job for the grant's end, at once.
      await Promise.all([click(world, extId, OWNER), runJobNow(world, 'revoke', id)]);
      const settled = await until('one outcome', async () => {
        const [g, e] = [await grantOf(id), await grantOf(extId)];
        if (g.state === 'active' && e.state === 'extended' && g.expiresAt === end + 300_000) return 'extended';
        if (g.state === 'expired' && e.state === 'cancelled') return 'expired';
        return undefined;
      });
      outcomes.push(settled);
      if (settled === 'extended') {
        // The job for the old end waits for the new one; the line carries the new end.
        await delayedJobData(world, 'revoke', id, (data) => data.grantEnd === end + 300_000);
        await until('line with the new end', () => lineOf(id)?.expirySeconds === Math.floor((end + 300_000) / 1000) || undefined);
        assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /revoked/);
      }
      await until('no line left behind once it ended', async () => ((await grantOf(id)).state !== 'active' && !lineOf(id)) || undefined);
      assert.equal((await grantOf(extId)).state === 'extended', settled === 'extended', 'the extension’s outcome matches the grant’s');
    }
    // Which side wins is the machine's to decide; each round must have had exactly one.
    assert.equal(outcomes.length, 4, outcomes.join(', '));
    console.log(`extension approved while the grant expires, 4 rounds: ${outcomes.join(', ')}`);
  });
});
