// The owner directory against a scripted usergroups.users.list: cached for its ttl, a stale list used for at most
// the grace past it while Slack fails, then fail closed (owners-unavailable) until Slack answers again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebClient } from '@slack/web-api';
import pino from 'pino';
import { OWNER_CACHE_TTL_MS, OWNER_STALE_GRACE_MS, SlackOwnerDirectory } from '../../src/slack/owner-directory.ts';

function directory() {
  const slack = { members: ['U0CAROL'], failing: false, calls: 0 };
  const client = {
    usergroups: {
      users: {
        list: async ({ usergroup }: { usergroup: string }) => {
          slack.calls++;
          if (slack.failing) throw new Error(`ratelimited listing ${usergroup}`);
          return { ok: true, users: [...slack.members] };
        },
      },
    },
  } as unknown as WebClient;
  const clock = { t: 1_800_000_000_000 };
  const owners = new SlackOwnerDirectory({ client, logger: pino({ level: 'silent' }), now: () => clock.t });
  const members = async () => {
    const r = await owners.expand(['U0ALICE', 'S0CACHE']);
    return r.ok ? [...r.value].sort() : r.code;
  };
  return { slack, clock, members };
}

describe('SlackOwnerDirectory', () => {
  it('caches a group for its ttl, then lists it again', async () => {
    const { slack, clock, members } = directory();
    assert.deepEqual(await members(), ['U0ALICE', 'U0CAROL']);
    slack.members = ['U0DAVE'];
    clock.t += OWNER_CACHE_TTL_MS - 1;
    assert.deepEqual(await members(), ['U0ALICE', 'U0CAROL']);
    assert.equal(slack.calls, 1);
    clock.t += 1;
    assert.deepEqual(await members(), ['U0ALICE', 'U0DAVE']);
  });

  it('uses a stale list for at most the grace past its ttl while Slack fails, then answers owners-unavailable', async () => {
    const { slack, clock, members } = directory();
    assert.deepEqual(await members(), ['U0ALICE', 'U0CAROL']);
    slack.failing = true;
    clock.t += OWNER_CACHE_TTL_MS + OWNER_STALE_GRACE_MS - 1;
    assert.deepEqual(await members(), ['U0ALICE', 'U0CAROL'], 'within the grace');
    clock.t += 1;
    assert.equal(await members(), 'owners-unavailable', 'past the grace: fail closed, not stale membership forever');
    clock.t += 24 * 3_600_000;
    assert.equal(await members(), 'owners-unavailable');
    slack.failing = false;
    slack.members = ['U0DAVE'];
    assert.deepEqual(await members(), ['U0ALICE', 'U0DAVE'], 'back as soon as Slack answers');
  });

  it('answers owners-unavailable for a group it never listed, and never asks Slack about plain user ids', async () => {
    const { slack, members } = directory();
    slack.failing = true;
    assert.equal(await members(), 'owners-unavailable');
    const calls = slack.calls;
    const client = { usergroups: { users: { list: async () => assert.fail('no call for users') } } } as unknown as WebClient;
    const users = await new SlackOwnerDirectory({ client, logger: pino({ level: 'silent' }) }).expand(['U0ALICE', 'W0BOB']);
    assert.deepEqual(users.ok && [...users.value], ['U0ALICE', 'W0BOB']);
    assert.equal(slack.calls, calls);
  });
});
