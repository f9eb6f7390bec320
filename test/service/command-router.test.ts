// `/jump <text>` routing against in-memory ports: help, bad input, and the person's own list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALICE, BOB, ENG, inMemoryService, unitPolicy } from '../support/in-memory/service.ts';

describe('command router', () => {
  it('answers help, and refuses unknown or overlong commands with the parser’s code and data', async () => {
    const h = inMemoryService();
    assert.deepEqual((await h.service.command(ENG, '')).reply, { kind: 'help', hosts: ['db-1', 'web-1', 'cache-1'] }, 'help lists the hosts the person may request');
    assert.deepEqual((await h.service.command(ENG, 'frobnicate')).reply, { kind: 'refused', code: 'unknown-command', params: { text: 'frobnicate' } });
    const long = await h.service.command(ENG, `request web-1 ${'x'.repeat(5000)}`);
    assert.deepEqual(long.reply, { kind: 'refused', code: 'command-too-long', params: { max: 4000 } });
    assert.equal(h.requests.requests.size, 0);
  });

  it('lists only the person’s own pending requests and active grants', async () => {
    const h = inMemoryService();
    await h.registerKey(ENG);
    await h.registerKey(BOB);
    const active = await h.request(ENG, 'web-1 1h');
    await h.run(h.service.approve(active, ALICE));
    const pending = await h.request(ENG, 'web-1 30m');
    const cancelled = await h.request(ENG, 'web-1 30m');
    await h.service.command(ENG, `revoke ${cancelled}`);
    await h.request(BOB, 'web-1 30m');
    const out = await h.service.command(ENG, 'list');
    assert.deepEqual(out.reply?.kind === 'list' && out.reply.open.map((r) => [r.id, r.state]).sort(), [
      [active, 'active'],
      [pending, 'pending'],
    ].sort());
    const none = inMemoryService();
    assert.deepEqual((await none.service.command(ENG, 'list')).reply, { kind: 'list', open: [], ownsHosts: false });
  });

  it('help lists only the hosts the person may request (requesters)', async () => {
    const h = inMemoryService({ policy: unitPolicy({ defaults: { requesters: [ALICE] } }) });
    assert.deepEqual((await h.service.command(ENG, 'help')).reply, { kind: 'help', hosts: [] });
    // Alice owns hosts: help lists `/jump audit` for her too.
    assert.deepEqual((await h.service.command(ALICE, 'help')).reply, { kind: 'help', hosts: ['db-1', 'web-1', 'cache-1'], audit: true });
  });
});
