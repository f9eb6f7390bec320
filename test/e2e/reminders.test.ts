// Reminders of an undecided request, end to end with short policy times: the owners get DMs at the configured
// cadence (2 s, then 6 s: doubling), the escalation goes to escalateTo at 5 s, each once, and a decision stops them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINEER, OUTSIDER, OWNER, OWNER2, startWorld, type World } from '../support/world.ts';
import { click, metadata, posts, requestAccess, until } from '../support/flow.ts';

describe('reminders to owners', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ reconcileInterval: '1s', remindAfter: '2s', escalateAfter: '5s', escalateTo: [OUTSIDER], approvalTimeout: '1h' });
    assert.match((await world.sender.command(ENGINEER, `key add ${world.engineerKey.publicKey}`)).json.text, /Key registered/);
  });
  after(async () => {
    await world?.stop();
  });

  const reminders = (id: string, user: string) => posts(world, `D${user}`).filter((c) => metadata(c)?.event_type === 'jit_request_reminder' && metadata(c)?.event_payload.request_id === id);

  it('reminds the owners at 2 s and 6 s, escalates to escalateTo at 5 s, and stops once decided', async () => {
    const id = await requestAccess(world, ENGINEER, 'request internal-1 10m "waiting for a decision"');
    const waitedOf = (c: { args: { text?: unknown } }) => Number(/has waited (\d+)s/.exec(String(c.args.text))?.[1]);
    // The owners hear of it at 2 s, at the 5 s escalation (it goes to them too) and at 6 s: wait for the 6 s one
    // (a reconcile may send the second reminder and the escalation as one escalated message).
    await until('the reminder at the doubled interval, to each owner', () => [OWNER, OWNER2].every((u) => reminders(id, u).some((c) => waitedOf(c) >= 6)), 60_000);
    const texts = reminders(id, OWNER).map((c) => String(c.args.text));
    assert.match(texts[0]!, /^:bell: Reminder: <@U0ENGINEER>'s request `r[a-z0-9]+` for \*internal-1\* \(10m\) has waited \d+s for a decision\./);
    // The broker says how long each had waited: the first at 2 s; then nothing before the escalation (5 s) or the
    // doubled interval (6 s): a second reminder never comes at once.
    const waited = reminders(id, OWNER).map(waitedOf);
    assert.ok(waited[0]! >= 2 && waited.slice(1).every((w) => w >= 5), texts.join('\n'));
    const escalation = await until('escalation to escalateTo', () => reminders(id, OUTSIDER)[0], 60_000);
    assert.match(String(escalation.args.text), /^:rotating_light: Escalated: /);
    assert.equal(reminders(id, ENGINEER).length, 0, 'the requester is not reminded of their own request');

    await click(world, id, OWNER);
    // A decision is the event a further reminder would have to come after: wait for the decided update, then
    // for two more reconcile runs, and count.
    const seen = reminders(id, OWNER).length;
    await until('the approval message updated', () => posts(world).some((c) => metadata(c)?.event_type === 'jit_grant_active' && metadata(c)?.event_payload.request_id === id), 30_000);
    await world.broker.reconciler.run();
    await world.broker.reconciler.run();
    assert.equal(reminders(id, OWNER).length, seen, 'no reminder once decided');
    assert.equal(reminders(id, OUTSIDER).length, 1, 'escalated once');
  });
});
