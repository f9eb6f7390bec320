// `/jump <text>` routing against in-memory ports: help, bad input, and the person's own list.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALICE, BOB, ENG, inMemoryService } from '../support/in-memory/service.ts';

describe('command router', () => {
  it('answers help, and refuses unknown or overlong commands with the parser’s message', async () => {
    const h = inMemoryService();
    assert.deepEqual((await h.service.command(ENG, '')).reply, { kind: 'help' });
    const unknown = await h.service.command(ENG, 'frobnicate');
    assert.equal(unknown.reply?.kind === 'refused' && unknown.reply.code, 'bad-input');
    const long = await h.service.command(ENG, `request web-1 ${'x'.repeat(5000)}`);
    assert.equal(long.reply?.kind === 'refused' && long.reply.code, 'bad-input');
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
    assert.deepEqual((await none.service.command(ENG, 'list')).reply, { kind: 'list', open: [] });
  });
});
