// The buttons on the requester's DMs, end to end: signed clicks and form submissions against real Redis and
// sshd. I'm done ends the grant as `/jump revoke` does; Request again makes a new request from an old one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findButton } from '../../src/sandbox/slack-sender.ts';
import { approvalMessage, auditTypes, blockLines, click, metadata, posts, requestAccess, runJobNow, until } from '../support/flow.ts';
import { parseDuration } from '../../src/domain/duration.ts';
import { describeSsh, sshHop } from '../support/ssh-client.ts';
import { ENGINEER, OUTSIDER, OWNER, startWorld, type World } from '../support/world.ts';

const IM_DONE = 'jit_im_done';
const REQUEST_AGAIN = 'jit_request_again';
const APPROVE = 'jit_approve';
const EXTEND = 'jit_extend';
const OPEN_FORM = 'jit_open_request_form';

describe('grant buttons', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
    assert.match((await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`)).json.text, /Key registered/);
  });
  after(async () => {
    await world?.stop();
  });

  /** The requester's DM about a request, as it looks now, found by its metadata (never its wording). */
  const dmAbout = (eventType: string, id: string) =>
    world.slack.messages(`D${ENGINEER}`).find((m) => m.metadata?.event_type === eventType && m.metadata.event_payload.request_id === id);
  const ephemeralTo = (user: string, since: number, pattern: RegExp) =>
    world.slack.calls.slice(since).find((c) => c.method === 'chat.postEphemeral' && c.args.user === user && pattern.test(c.args.text));
  const clickIn = (user: string, m: { channel: string; ts: string; blocks?: any[] }, actionId: string, triggerId?: string) => {
    const b = findButton(m.blocks, actionId);
    return world.sender.blockAction(user, { actionId, value: b.value, blockId: b.blockId, message: { channel: m.channel, ts: m.ts }, triggerId });
  };

  async function activeGrant(text: string): Promise<string> {
    const id = await requestAccess(world, ENGINEER, text);
    await click(world, id, OWNER);
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)));
    return id;
  }

  it("I'm done by someone other than the requester or an owner changes nothing and is answered as /jump revoke; the expiry warning's I'm done works", async () => {
    // Longer than twice the 10m warning, so that the expiry warning (with its own I'm done) is scheduled.
    const id = await activeGrant('request internal-2 30m not done yet');
    const dm = await until('connect instructions', () => dmAbout('jit_grant_active', id));
    const since = world.slack.calls.length;
    assert.equal((await clickIn(OUTSIDER, dm, IM_DONE)).status, 200);
    const answer = await until('refusal', () => ephemeralTo(OUTSIDER, since, /./));
    assert.equal(answer.args.text, (await world.sender.command(OUTSIDER, `revoke ${id}`)).json.text, 'the same answer /jump revoke gives');
    assert.match(answer.args.text, new RegExp(`No request \`${id}\` of yours`));
    assert.equal((await world.broker.requests.get(id))?.state, 'active');
    assert.ok(blockLines(world).some((l) => l.endsWith(`jit:${id}`)), 'the line stays');
    assert.ok(findButton(dmAbout('jit_grant_active', id)!.blocks, IM_DONE), 'the button stays');
    await until('refusals audited', () => auditTypes(world, id).filter((t) => t === 'refused').length === 2 || undefined);

    // The expiry warning carries I'm done too; the requester's click there ends the grant.
    await runJobNow(world, 'expiry-warning', id);
    const warning = await until('expiry warning', () => dmAbout('jit_grant_warning', id), 60_000);
    const mine = world.slack.calls.length;
    assert.equal((await clickIn(ENGINEER, warning, IM_DONE)).status, 200);
    await until('answered', () => ephemeralTo(ENGINEER, mine, /revoked/));
    await until('line removed', () => !blockLines(world).some((l) => l.endsWith(`jit:${id}`)) || undefined);
    await until('warning updated in place', () => world.slack.messages(`D${ENGINEER}`).find((m) => m.ts === warning.ts && m.metadata?.event_type === 'jit_grant_ended'));
  });

  it("I'm done in the activation DM ends the grant: line gone, ssh refused, DM updated in place, a second click changes nothing", async () => {
    const id = await activeGrant('request internal-1 10m quick look');
    const hop = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(hop.outcome, 'ok', describeSsh(hop));
    const dm = await until('connect instructions', () => dmAbout('jit_grant_active', id));
    const button = (dm.blocks ?? []).flatMap((b: any) => b.elements ?? []).find((e: any) => e.action_id === IM_DONE);
    assert.match(button.text.text, /^I'm done/);
    assert.equal(button.value, id, 'the value is the request id only');

    const since = world.slack.calls.length;
    assert.equal((await clickIn(ENGINEER, dm, IM_DONE)).status, 200);
    await until('answered', () => ephemeralTo(ENGINEER, since, new RegExp(`Access \`${id}\` to \\*internal-1\\* revoked`)));
    await until('line removed', () => !blockLines(world).some((l) => l.endsWith(`jit:${id}`)) || undefined);
    const late = await sshHop({ jump: world.jump, target: world.internal, identityFile: world.engineerKey.privateKeyPath });
    assert.equal(late.outcome, 'refused-auth', describeSsh(late));

    // The clicked DM, in place: no I'm done any more, says it ended, and its metadata says so.
    const updated = await until('DM updated in place', () => {
      const m = world.slack.messages(`D${ENGINEER}`).find((x) => x.ts === dm.ts);
      return m?.metadata?.event_type === 'jit_grant_ended' && m;
    });
    assert.equal(updated.metadata!.event_payload.state, 'revoked');
    assert.doesNotMatch(JSON.stringify(updated.blocks), /jit_im_done/);
    assert.match(updated.text ?? '', /You ended your access to \*internal-1\*/);
    assert.ok(findButton(updated.blocks, REQUEST_AGAIN));

    // Exactly as `/jump revoke` by the requester: audited `revoked`, approval message updated, no DM to them.
    await until('audited', () => auditTypes(world, id).includes('revoked') || undefined);
    await until('approval message shows it', () => /Revoked by <@U0ENGINEER>/.test(JSON.stringify(approvalMessage(world, `D${OWNER}`, id)?.blocks)));
    assert.equal((await world.broker.requests.get(id))?.decidedBy, ENGINEER);
    assert.deepEqual(posts(world, `D${ENGINEER}`).filter((c) => metadata(c)?.event_type === 'jit_grant_ended' && metadata(c)?.event_payload.request_id === id), []);

    const again = world.slack.calls.length;
    assert.equal((await clickIn(ENGINEER, dm, IM_DONE)).status, 200);
    await until('second click answered', () => ephemeralTo(ENGINEER, again, new RegExp(`\`${id}\` is revoked; nothing to revoke`)));
    assert.deepEqual(auditTypes(world, id).filter((t) => t === 'revoked'), ['revoked'], 'one revocation');
  });

  it('Request again from an expired grant opens the form prefilled, refuses as /jump request does, and makes a new pending request', async () => {
    const old = await activeGrant('request internal-2 20m check replica lag');
    await runJobNow(world, 'revoke', old);
    const ended = await until('expiry DM', () => dmAbout('jit_grant_ended', old));
    assert.equal(ended.metadata!.event_payload.state, 'expired');

    // Someone else's click opens nothing.
    const viewsBefore = world.slack.views().length;
    const since = world.slack.calls.length;
    await clickIn(OUTSIDER, ended, REQUEST_AGAIN);
    await until('refusal', () => ephemeralTo(OUTSIDER, since, new RegExp(`No request \`${old}\` of yours`)));
    assert.equal(world.slack.views().length, viewsBefore);

    const trigger = world.slack.issueTriggerId(ENGINEER);
    await clickIn(ENGINEER, ended, REQUEST_AGAIN, trigger);
    const form = await until('the form', () => world.slack.views().find((v) => v.triggerId === trigger));
    assert.equal(form.user, ENGINEER);
    const initial = Object.fromEntries(form.view.blocks.map((b: any) => [b.block_id, b.element.initial_option?.value ?? b.element.initial_value]));
    assert.deepEqual(initial, { host: 'internal-2', duration: '20m', reason: 'check replica lag' });

    const submit = (fields: Record<string, string>) =>
      world.sender.viewSubmission(ENGINEER, {
        callbackId: form.view.callback_id,
        privateMetadata: form.view.private_metadata,
        values: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { [k]: { type: 'plain_text_input', value: v } }])),
      });
    const refused = await submit({ ...initial, duration: '5h' });
    assert.equal(refused.json.response_action, 'errors');
    assert.match(refused.json.errors.duration, /internal-2 allows at most/);
    assert.equal(refused.json.errors.duration, (await world.sender.command(ENGINEER, 'request internal-2 5h check replica lag')).json.text, 'the words of /jump request');

    const pendingBefore = new Set(posts(world).filter((c) => metadata(c)?.event_type === 'jit_request_pending').map((c) => metadata(c)!.event_payload.request_id));
    const sent = await submit(initial);
    assert.equal(sent.json.response_action, 'update');
    assert.match(JSON.stringify(sent.json.view), /sent to its owners/);
    const fresh = await until('a new approval message', () =>
      posts(world).map((c) => metadata(c)).find((m) => m?.event_type === 'jit_request_pending' && m.event_payload.requester === ENGINEER && !pendingBefore.has(m.event_payload.request_id)),
    );
    const id = String(fresh.event_payload.request_id);
    assert.notEqual(id, old);
    const req = await world.broker.requests.get(id);
    assert.deepEqual([req?.state, req?.host, req?.durationMs, req?.reason], ['pending', 'internal-2', 20 * 60_000, 'check replica lag']);
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /cancelled/);
  });

  /** The buttons of the Home tab last published for `user`, by block id. */
  const homeButtons = (user: string): Map<string, { actionId: string; value: string; blockId: string }[]> => {
    const out = new Map<string, { actionId: string; value: string; blockId: string }[]>();
    for (const b of world.slack.home(user)?.view.blocks ?? [])
      if (b.type === 'actions') out.set(b.block_id, b.elements.map((e: any) => ({ actionId: e.action_id, value: e.value, blockId: b.block_id })));
    return out;
  };
  const homeText = (user: string) => JSON.stringify(world.slack.home(user)?.view.blocks ?? []);
  const pendingIds = () => new Set(posts(world).filter((c) => metadata(c)?.event_type === 'jit_request_pending').map((c) => String(metadata(c)!.event_payload.request_id)));
  /** The form's state as Slack sends it: under the block ids of the view as it stands (the duration's may name a host). */
  const formValues = (view: any, fields: { host?: string; duration?: string; reason?: string }) => {
    const [host, duration, reason] = view.blocks.map((b: any) => b.block_id);
    return {
      [host]: { host: { type: 'static_select', selected_option: fields.host ? { value: fields.host } : null } },
      [duration]: { duration: { type: 'static_select', selected_option: fields.duration ? { value: fields.duration } : null } },
      [reason]: { reason: { type: 'plain_text_input', value: fields.reason ?? null } },
    };
  };
  const formSubmit = (user: string, view: any, fields: { host?: string; duration?: string; reason?: string }) =>
    world.sender.viewSubmission(user, { callbackId: view.callback_id, privateMetadata: view.private_metadata, values: formValues(view, fields) });

  it('/jump request alone opens the request form; a refused submission shows /jump request’s words under the field and creates nothing; a good one sends the request', async () => {
    const viewsBefore = world.slack.views().length;
    const res = await world.sender.command(ENGINEER, 'request');
    assert.equal(res.status, 200);
    assert.equal(res.json?.text, undefined, 'no reply: the form is the answer');
    const form = await until('the form', () => world.slack.views().slice(viewsBefore).find((v) => v.user === ENGINEER));
    assert.equal(form.view.callback_id, 'jit_request_form');
    assert.equal(form.view.private_metadata, '');
    const [host, duration, reason] = form.view.blocks;
    assert.deepEqual(host.element.options.map((o: any) => o.value), ['internal-1', 'internal-2']);
    assert.equal(duration.element.type, 'static_select');
    assert.equal(duration.element.initial_option.value, '5s', 'the policy default duration');
    assert.ok(duration.element.options.every((o: any) => (parseDuration(o.value) ?? Infinity) <= 3_600_000), 'nothing over the hosts’ maxDuration');
    assert.equal(reason.element.multiline, true);

    assert.equal(host.dispatch_action, true, 'picking a host redraws the durations');

    // The person picks internal-2, having chosen 30m: the form is redrawn for that host, the choice kept.
    await world.sender.modalSelect(ENGINEER, { viewId: form.id, blockId: 'host', actionId: 'host', value: 'internal-2', values: formValues(form.view, { host: 'internal-2', duration: '30m' }) });
    const redrawn = (await until('the form redrawn for internal-2', () => world.slack.views().find((v) => v.id === form.id && v.updates === 1))).view;
    assert.equal(redrawn.private_metadata, '');
    assert.equal(redrawn.blocks[0].element.initial_option.value, 'internal-2');
    assert.equal(redrawn.blocks[1].block_id, 'duration@internal-2', 'a fresh field: Slack starts it at its initial choice');
    assert.equal(redrawn.blocks[1].element.initial_option.value, '30m');
    assert.match(redrawn.blocks[1].hint.text, /internal-2 allows at most 1h/);
    assert.equal(redrawn.blocks[2].optional, undefined, 'internal-2 requires a reason');

    const before = pendingIds();
    // Over maxDuration (a value the picker does not offer, sent anyway) and no reason: refused as the command refuses.
    const long = await formSubmit(ENGINEER, redrawn, { host: 'internal-2', duration: '2h', reason: 'late fix' });
    assert.equal(long.json.response_action, 'errors');
    assert.deepEqual(Object.keys(long.json.errors), ['duration@internal-2'], 'under the duration field as it stands');
    assert.equal(long.json.errors['duration@internal-2'], (await world.sender.command(ENGINEER, 'request internal-2 2h late fix')).json.text);
    assert.match(long.json.errors['duration@internal-2'], /internal-2 allows at most 1h/);
    const bare = await formSubmit(ENGINEER, redrawn, { host: 'internal-2', duration: '30m' });
    // (A typed request without its reason opens this form instead; the words are the command's refusal.)
    assert.match(bare.json.errors.reason, /^A reason is required for internal-2: `\/jump request internal-2 30m /);
    const noHost = await formSubmit(ENGINEER, form.view, { duration: '30m', reason: 'x' });
    assert.match(noHost.json.errors.host, /Unknown host/);
    assert.deepEqual([...pendingIds()].filter((id) => !before.has(id)), [], 'nothing was created');

    const sent = await formSubmit(ENGINEER, form.view, { host: 'internal-1', duration: '30m', reason: 'from the form' });
    assert.equal(sent.json.response_action, 'update');
    const id = await until('the approval message', () => [...pendingIds()].find((x) => !before.has(x)));
    const req = await world.broker.requests.get(id);
    assert.deepEqual([req?.state, req?.host, req?.durationMs, req?.reason, req?.requester], ['pending', 'internal-1', 30 * 60_000, 'from the form', ENGINEER]);
    assert.match((await world.sender.command(ENGINEER, `revoke ${id}`)).json.text, /cancelled/);
  });

  it('App Home: published on app_home_opened with the pending request; an owner approves there; the requester’s Home then shows the grant active with I’m done and Extend', async () => {
    // Someone with nothing going on: their Home tab is drawn when they open it (the Messages tab draws nothing).
    assert.equal((await world.sender.appHomeOpened(OUTSIDER, 'messages')).status, 200);
    assert.equal((await world.sender.appHomeOpened(OUTSIDER)).status, 200);
    await until('Home published on app_home_opened', () => world.slack.home(OUTSIDER));
    assert.equal(world.slack.home(OUTSIDER)?.count, 1);
    assert.match(homeText(OUTSIDER), /No active grants.*No pending requests/);

    const id = await requestAccess(world, ENGINEER, 'request internal-1 30m via home');
    // The new request is drawn on the requester's Home tab; opening it draws it again, with the request.
    await until('the new request on the Home tab', () => homeText(ENGINEER).includes(id) || undefined);
    const count = world.slack.home(ENGINEER)!.count;
    assert.equal((await world.sender.appHomeOpened(ENGINEER)).status, 200);
    await until('Home published on app_home_opened', () => world.slack.home(ENGINEER)!.count > count || undefined);
    assert.match(homeText(ENGINEER), new RegExp(`Your pending requests.*${id}`));
    assert.ok(homeButtons(ENGINEER).get('home:request')?.some((b) => b.actionId === OPEN_FORM), 'Request access');

    // Request access on the Home tab opens the same form.
    const trigger = world.slack.issueTriggerId(ENGINEER);
    await world.sender.homeAction(ENGINEER, { ...homeButtons(ENGINEER).get('home:request')![0]!, triggerId: trigger });
    assert.equal((await until('the form from Home', () => world.slack.views().find((v) => v.triggerId === trigger))).view.callback_id, 'jit_request_form');

    // The owner (through the user group) sees it waiting for their decision; someone else's click there is refused on their Home.
    await world.sender.appHomeOpened(OWNER);
    const decision = await until('owner’s Home shows the request', () => homeButtons(OWNER).get(`decision:${id}`));
    assert.deepEqual(decision.map((b) => b.actionId), [APPROVE, 'jit_deny']);
    await world.sender.homeAction(OUTSIDER, decision[0]!);
    await until('refusal on the outsider’s Home', () => /Only the owners of internal-1 can approve this request/.test(homeText(OUTSIDER)) || undefined);
    assert.equal((await world.broker.requests.get(id))?.state, 'pending');

    assert.equal((await world.sender.homeAction(OWNER, decision[0]!)).status, 200);
    await until('key line', () => blockLines(world).some((l) => l.endsWith(`jit:${id}`)) || undefined);
    const grant = await until('requester’s Home shows the grant active', () => homeButtons(ENGINEER).get(`grant:${id}`));
    assert.deepEqual(grant.map((b) => [b.actionId, b.value]), [[IM_DONE, id], [EXTEND, id]]);
    assert.match(homeText(ENGINEER), /Your active grants.*active until <!date\^\d+\^/);
    await until('owner’s Home no longer asks', () => !homeButtons(OWNER).has(`decision:${id}`) || undefined);

    // Extend there opens the Extend form, as on the expiry warning.
    const extendTrigger = world.slack.issueTriggerId(ENGINEER);
    await world.sender.homeAction(ENGINEER, { ...grant[1]!, triggerId: extendTrigger });
    const extendForm = await until('the Extend form from Home', () => world.slack.views().find((v) => v.triggerId === extendTrigger));
    assert.deepEqual([extendForm.view.callback_id, extendForm.view.private_metadata], [EXTEND, id]);

    // I'm done from the Home tab ends it; the Home tab then lists it as ended.
    await world.sender.homeAction(ENGINEER, grant[0]!);
    await until('line removed', () => !blockLines(world).some((l) => l.endsWith(`jit:${id}`)) || undefined);
    await until('Home shows it ended', () => (!homeButtons(ENGINEER).has(`grant:${id}`) && new RegExp(`Recently ended.*${id}.*revoked`).test(homeText(ENGINEER))) || undefined);
  });
});
