// The Home tab and the request form as Slack views: what they show, the buttons they carry (the approval
// message's own action ids), Slack's limits; the Home publisher (in order, never failing its caller).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { requestFormFor, type RequestForm } from '../../src/domain/requestable-hosts.ts';
import type { HomeContents } from '../../src/service/home.ts';
import { checkView } from '../../src/sandbox/slack-checks.ts';
import { HomeTab } from '../../src/slack/home-tab.ts';
import { HOME_ITEMS_SHOWN, homeView } from '../../src/slack/home-view.ts';
import { ACTION_APPROVE, ACTION_DENY, ACTION_EXTEND, ACTION_IM_DONE } from '../../src/slack/messages.ts';
import { ACTION_OPEN_REQUEST_FORM, askedInForm, blockIdIn, requestFormModal, VIEW_REQUEST_FORM } from '../../src/slack/request-form.ts';
import { SlackNotifier } from '../../src/slack/slack-notifier.ts';
import { request, samplePolicy } from '../domain/fixtures.ts';

const AT = Date.UTC(2026, 10, 23, 17, 0, 0);
type View = { type: string; blocks: any[] };
const actions = (v: View) => new Map(v.blocks.filter((b) => b.type === 'actions').map((b) => [b.block_id, b.elements.map((e: any) => [e.action_id, e.value])]));
const text = (v: View) => JSON.stringify(v.blocks);

function contents(over: Partial<HomeContents> = {}): HomeContents {
  return { now: AT, pending: [], active: [], ended: [], ...over };
}

describe('Home tab view', () => {
  const pending = request({ id: 'rpend1', host: 'web-1', durationMs: 1_800_000, createdAt: AT - 60_000 });
  const active = request({ id: 'ract1', state: 'active', approvers: ['U0ALICE'], activatedAt: AT, expiresAt: AT + 3_600_000 });
  const ended = request({ id: 'rend1', state: 'expired', endedAt: AT - 3_600_000, expiresAt: AT - 3_600_000 });
  const awaiting = request({ id: 'rwait1', requester: 'U0ENG', reason: '<!channel> *urgent*', approvers: ['U0BOB'], requiredApprovals: 2 });

  it('shows a requester their pending requests, active grants with I’m done and Extend, the ended ones, and Request access', () => {
    const v = homeView(contents({ pending: [pending], active: [active], ended: [ended] })) as View;
    assert.equal(v.type, 'home');
    assert.equal(checkView(v, 'home'), undefined, 'Slack accepts it');
    const a = actions(v);
    assert.deepEqual(a.get('home:request'), [[ACTION_OPEN_REQUEST_FORM, 'form']]);
    assert.deepEqual(a.get('grant:ract1'), [[ACTION_IM_DONE, 'ract1'], [ACTION_EXTEND, 'ract1']]);
    assert.equal(ACTION_EXTEND, 'jit_extend');
    assert.equal(a.size, 2, 'no decision buttons for a requester');
    // Time left as Slack date tokens (each reader's own time zone), the request ids, states.
    assert.match(text(v), new RegExp(`ract1\` · active until <!date\\^${(AT + 3_600_000) / 1000}\\^`));
    assert.match(text(v), /rpend1` · approvals 0 of 1, asked <!date\^/);
    assert.match(text(v), /rend1` · expired <!date\^/);
    assert.doesNotMatch(text(v), /Waiting for your decision/);
  });

  it('shows an owner what awaits their decision with the approval message’s Approve and Deny; the reason escaped', () => {
    const v = homeView(contents({ awaiting: [awaiting] })) as View;
    assert.equal(checkView(v, 'home'), undefined);
    assert.deepEqual(actions(v).get('decision:rwait1'), [[ACTION_APPROVE, 'rwait1'], [ACTION_DENY, 'rwait1']]);
    assert.match(text(v), /<@U0ENG> asks for \*db-prod-1\* for 2h · approvals 1 of 2/);
    const item = v.blocks.find((b) => b.type === 'section' && b.text.text.includes('rwait1'));
    assert.match(item.text.text, /\n“&lt;!channel&gt; \*urgent\*”$/, 'the reason, escaped: it pings nobody');
    assert.equal(item.text.verbatim, true, 'verbatim: Slack makes no links or mentions of it');
    // An extension says what it extends, to the owner and to the requester.
    const extension = request({ id: 'rext1', requester: 'U0ENG', extends: 'ract1', durationMs: 1_800_000 });
    const ext = homeView(contents({ awaiting: [extension], pending: [extension] })) as View;
    assert.equal(checkView(ext, 'home'), undefined);
    assert.match(text(ext), /<@U0ENG> asks to extend \*db-prod-1\* \(grant `ract1`\) by 30m · approvals 0 of 1 · `rext1`/);
    assert.match(text(ext), /:hourglass: \*db-prod-1\* 30m more on grant `ract1` · `rext1`/);
    const none = homeView(contents({ awaiting: [] })) as View;
    assert.match(text(none), /Nothing waits for your decision/);
    assert.match(text(homeView(contents()) as View), /No active grants.*No pending requests.*Nothing yet/);
  });

  it('puts the answer to the last click on top', () => {
    const v = homeView(contents(), 'Only the owners of db-prod-1 can approve this request.') as View;
    assert.equal(v.blocks[2].type, 'context');
    assert.match(v.blocks[2].elements[0].text, /^Only the owners/);
    assert.equal(checkView(homeView(contents(), 'x'.repeat(5000)), 'home'), undefined, 'a long notice is clipped');
  });

  it('stays within Slack’s 100 blocks however long the lists, and says how many more there are', () => {
    const many = (state: 'pending' | 'active', n: number) =>
      Array.from({ length: n }, (_, i) => request({ id: `r${state}${i}`, state, expiresAt: state === 'active' ? AT + 60_000 : undefined }));
    const v = homeView(contents({ awaiting: many('pending', 40), active: many('active', 40), pending: many('pending', 40), ended: many('active', 10).map((r) => ({ ...r, state: 'revoked' as const })) })) as View;
    assert.equal(checkView(v, 'home'), undefined);
    assert.ok(v.blocks.length <= 100);
    assert.equal([...actions(v).keys()].filter((k) => String(k).startsWith('grant:')).length, HOME_ITEMS_SHOWN);
    assert.match(text(v), new RegExp(`…and ${40 - HOME_ITEMS_SHOWN} more: see \`/jump list\``));
  });
});

describe('request form view', () => {
  const policy = samplePolicy(); // db-prod-1 (2h, reason), web-1 (4h, no reason), cache-1 (30m, reason)

  it('is a picker of the hosts with their maximum, a duration choice defaulting to the policy’s, and a reason', () => {
    const v = requestFormModal(requestFormFor(policy, 'U1')) as any;
    assert.equal(checkView(v), undefined);
    assert.equal(v.callback_id, VIEW_REQUEST_FORM);
    assert.equal(v.private_metadata, '');
    const [host, duration, reason] = v.blocks;
    assert.deepEqual(host.element.options.map((o: any) => o.text.text), ['db-prod-1 (up to 2h)', 'web-1 (up to 4h)', 'cache-1 (up to 30m)']);
    assert.equal(host.element.initial_option, undefined, 'nothing chosen for the person');
    assert.deepEqual(duration.element.options.map((o: any) => o.value), ['5m', '15m', '30m', '1h', '2h', '4h']);
    assert.equal(duration.element.initial_option.value, '1h');
    assert.equal(reason.element.type, 'plain_text_input');
    assert.equal(reason.element.multiline, true);
    assert.equal(reason.element.max_length, 500);
    // Some hosts need a reason, one does not: optional in the form, the hosts named; the submission is checked.
    assert.equal(reason.optional, true);
    assert.equal(reason.hint.text, 'Required for db-prod-1, cache-1.');
  });

  it('redrawn for a host picked in it: that host chosen, its durations in a fresh field, its reason rule', () => {
    const cache = requestFormModal(requestFormFor(policy, 'U1', undefined, { host: 'cache-1', durationMs: 7_200_000 }), 'cache-1') as any;
    assert.equal(checkView(cache), undefined);
    const [host, duration, reason] = cache.blocks;
    assert.equal(host.dispatch_action, true);
    assert.equal(host.element.initial_option.value, 'cache-1');
    assert.equal(duration.block_id, 'duration@cache-1');
    assert.deepEqual(duration.element.options.map((o: any) => o.value), ['5m', '15m', '30m']);
    assert.equal(duration.element.initial_option.value, '30m', 'the 2h chosen before is over cache-1’s maximum');
    assert.equal(duration.hint.text, 'cache-1 allows at most 30m.');
    assert.equal(reason.optional, undefined, 'cache-1 requires a reason');
    const web = requestFormModal(requestFormFor(policy, 'U1', undefined, { host: 'web-1', durationMs: 900_000 }), 'web-1') as any;
    assert.equal(web.blocks[1].element.initial_option.value, '15m', 'a choice within the host’s limits is kept');
    assert.equal(web.blocks[2].optional, true, 'web-1 takes no reason');
    assert.equal(web.blocks[2].hint, undefined);
    // The submission is read, and a refusal placed, under the block ids as they stand.
    const values = { host: { host: { selected_option: { value: 'web-1' } } }, 'duration@web-1': { duration: { selected_option: { value: '15m' } } }, reason: { reason: { value: '' } } };
    assert.deepEqual(askedInForm(values), { host: 'web-1', duration: '15m', reason: '' });
    assert.equal(blockIdIn(values, 'duration'), 'duration@web-1');
    assert.equal(blockIdIn(values, 'host'), 'host');
    assert.equal(blockIdIn({}, 'duration'), 'duration');
  });

  it('requires the reason when every host does; clips long option texts; says so when no host can be requested', () => {
    const all = (hosts: RequestForm['hosts']): RequestForm => ({ hosts, durationsMs: [60_000], defaultDurationMs: 60_000, maxReasonLength: 500 });
    const strict = requestFormModal(all([{ name: 'a', maxDurationMs: 60_000, requireReason: true }])) as any;
    assert.equal(strict.blocks[2].optional, undefined);
    assert.equal(strict.blocks[2].hint, undefined);
    // The chosen host's reasonHint stands under the field.
    const hinted = { ...all([{ name: 'a', maxDurationMs: 60_000, requireReason: true, reasonHint: 'Name the ticket: INC-123 or CHG-45' }, { name: 'b', maxDurationMs: 60_000, requireReason: false }]), selected: { host: 'a' } };
    assert.equal((requestFormModal(hinted, 'a') as any).blocks[2].hint.text, 'Name the ticket: INC-123 or CHG-45');
    assert.equal((requestFormModal({ ...hinted, selected: { host: 'b' } }, 'b') as any).blocks[2].hint, undefined);
    const long = requestFormModal(all([{ name: 'h'.repeat(63), maxDurationMs: 86_400_000 + 3_599_000, requireReason: false }])) as any;
    assert.equal(checkView(long), undefined);
    assert.equal(long.blocks[0].element.options[0].text.text.length, 75);
    const many = requestFormModal(all(Array.from({ length: 130 }, (_, i) => ({ name: `h${i}`, maxDurationMs: 60_000, requireReason: false })))) as any;
    assert.equal(checkView(many), undefined, 'at most Slack’s 100 options');
    const none = requestFormModal(all([])) as any;
    assert.equal(checkView(none), undefined);
    assert.equal(none.submit, undefined);
    assert.match(JSON.stringify(none.blocks), /no host you can request/);
  });
});

describe('Home tab publisher', () => {
  it('publishes one person’s Home tabs in order, each read afresh, and never fails its caller', async () => {
    const published: { user: string; view: any }[] = [];
    let reads = 0;
    let fail = false;
    const client = {
      views: {
        publish: async (a: { user_id: string; view: any }) => {
          if (fail) throw new Error('slack down');
          await new Promise((r) => setTimeout(r, 5));
          published.push({ user: a.user_id, view: a.view });
        },
      },
    };
    const home = new HomeTab({ client: client as never, logger: pino({ level: 'silent' }), home: async () => contents({ pending: [request({ id: `rread${++reads}` })] }) });
    // The change asked for last shares the first publish, which has not started (it reads the state when it does).
    await Promise.all([home.publish('U1'), home.publish('U1', 'done'), home.changed(['U1', 'U2'])]);
    assert.deepEqual(published.map((p) => p.user).sort(), ['U1', 'U1', 'U2']);
    const u1 = published.filter((p) => p.user === 'U1').map((p) => JSON.stringify(p.view).match(/rread\d+/)![0]);
    assert.deepEqual(u1, [...u1].sort(), 'in the order asked, each reading the state anew');
    assert.equal(u1.length, 2);
    assert.match(JSON.stringify(published.find((p) => p.user === 'U1' && JSON.stringify(p.view).includes('done'))?.view), /"done"/);
    fail = true;
    await home.publish('U1'); // resolves: logged, not thrown
  });

  it('changes made while a Home tab is being published share one more publish, which shows the latest state', async () => {
    const published: string[] = [];
    let state = 0;
    let release = () => {};
    const first = new Promise<void>((r) => (release = r));
    const client = {
      views: {
        publish: async (a: { view: any }) => {
          if (published.length === 0) await first; // the first publish is slow
          published.push(JSON.stringify(a.view).match(/rstate\d+/)![0]);
        },
      },
    };
    const home = new HomeTab({ client: client as never, logger: pino({ level: 'silent' }), home: async () => contents({ pending: [request({ id: `rstate${state}` })] }) });
    const inFlight = home.publish('U1');
    await new Promise((r) => setImmediate(r)); // it has read the state and waits on Slack
    const later: Promise<void>[] = [];
    for (let i = 1; i <= 50; i++) {
      state = i; // a change, then its publish is asked for
      later.push(home.changed(['U1']));
    }
    const withNotice = home.publish('U1', 'your click');
    release();
    await Promise.all([inFlight, ...later, withNotice]);
    assert.deepEqual(published, ['rstate0', 'rstate50', 'rstate50'], 'the first, one shared publish of the last state, and the one with a notice (never dropped)');
  });

  it('logs a Home tab Slack refused with what to do: the app’s Home tab is off', async () => {
    const warned: { obj: any; msg: string }[] = [];
    const logger = { warn: (obj: any, msg: string) => void warned.push({ obj, msg }) };
    const refusal = Object.assign(new Error('An API error occurred: not_enabled'), { code: 'slack_webapi_platform_error', data: { ok: false, error: 'not_enabled' } });
    const client = { views: { publish: async () => Promise.reject(refusal) } };
    const home = new HomeTab({ client: client as never, logger: logger as never, home: async () => contents() });
    await home.publish('U0ENG');
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!.msg, 'could not publish the Home tab');
    assert.equal(warned[0]!.obj.user, 'U0ENG');
    assert.match(warned[0]!.obj.err.message, /^Slack views\.publish \(user_id U0ENG\) failed: not_enabled: the app has no Home tab: turn on App Home → Home Tab/);
  });

  it('the Slack notifier shows changes on the Home tabs once told where', async () => {
    const notifier = new SlackNotifier({ client: {} as never, auditChannel: 'C0AUDIT', logger: pino({ level: 'silent' }) });
    await notifier.homeChanged(['U1']); // nothing to show them on yet
    const told: string[][] = [];
    notifier.showHomesWith({ changed: async (ids) => void told.push([...ids]) });
    await notifier.homeChanged(['U1', 'U2']);
    assert.deepEqual(told, [['U1', 'U2']]);
  });
});
