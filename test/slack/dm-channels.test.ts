// Each person's DM channel opened once and kept (conversations.open is rate limited): concurrent opens share one
// call, a failed open is not kept, a forgotten channel is opened again, and the least recently used go first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebClient } from '@slack/web-api';
import { DmChannels } from '../../src/slack/dm-channels.ts';

function slack() {
  const s = { opened: [] as string[], failing: false };
  const client = {
    conversations: {
      open: async ({ users }: { users: string }) => {
        s.opened.push(users);
        if (s.failing) throw new Error('ratelimited');
        return { ok: true, channel: { id: `D${users}` } };
      },
    },
  } as unknown as WebClient;
  return { s, client };
}

describe('DM channels', () => {
  it('opens a person’s DM once: later and concurrent DMs use the same channel', async () => {
    const { s, client } = slack();
    const dms = new DmChannels(client);
    assert.deepEqual(await Promise.all([dms.open('U1'), dms.open('U1'), dms.open('U2')]), ['DU1', 'DU1', 'DU2']);
    assert.equal(await dms.open('U1'), 'DU1');
    assert.deepEqual(s.opened, ['U1', 'U2']);
  });

  it('does not keep a failed open, and opens a forgotten channel again', async () => {
    const { s, client } = slack();
    const dms = new DmChannels(client);
    s.failing = true;
    await assert.rejects(dms.open('U1'), /ratelimited/);
    s.failing = false;
    assert.equal(await dms.open('U1'), 'DU1');
    dms.forget('U1');
    assert.equal(await dms.open('U1'), 'DU1');
    assert.deepEqual(s.opened, ['U1', 'U1', 'U1']);
  });

  it('forgets only the channel it was given: one opened again since stays', async () => {
    const { s, client } = slack();
    const dms = new DmChannels(client);
    const first = dms.open('U1');
    await first;
    dms.forget('U1');
    await dms.open('U1');
    dms.forget('U1', first); // a late failure of a post in the first channel
    await dms.open('U1');
    assert.deepEqual(s.opened, ['U1', 'U1']);
  });

  it('keeps at most max people, forgetting the least recently used', async () => {
    const { s, client } = slack();
    const dms = new DmChannels(client, 2);
    await dms.open('U1');
    await dms.open('U2');
    await dms.open('U1'); // U1 used again: U2 is now the oldest
    await dms.open('U3');
    await dms.open('U1');
    await dms.open('U2');
    assert.deepEqual(s.opened, ['U1', 'U2', 'U3', 'U2']);
  });
});
