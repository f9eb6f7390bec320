// The small domain parts the larger tests only pass through: the result constructors, the system clock,
// and how user text is quoted back. Found missing by mutation testing (npm run mutate, docs/mutation.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorize } from '../../src/domain/authorization.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { REQUEST_ID_PATTERN } from '../../src/domain/ids.ts';
import { ok, ok0, refuse } from '../../src/domain/result.ts';
import { echo, escapeMrkdwn } from '../../src/domain/user-text.ts';

describe('result constructors', () => {
  it('ok carries the value, ok0 carries none, refuse carries the code and the sentence', () => {
    assert.deepEqual(ok(42), { ok: true, value: 42 });
    assert.deepEqual(ok0(), { ok: true, value: undefined });
    assert.ok(Object.hasOwn(ok0(), 'value'), 'ok0 has the same shape as ok');
    assert.deepEqual(refuse('not-found', 'No request r123.'), { ok: false, code: 'not-found', message: 'No request r123.' });
  });
});

describe('systemClock', () => {
  it('reads the time of day in epoch milliseconds', () => {
    const before = Date.now();
    const t = systemClock.now();
    const after = Date.now();
    assert.ok(Number.isInteger(t) && before <= t && t <= after, `${before} <= ${t} <= ${after}`);
  });
});

describe('user text', () => {
  it('escapes every &, < and > so Slack renders them literally, & first', () => {
    assert.equal(escapeMrkdwn('<!channel> & <@U0X|x> && <<>>'), '&lt;!channel&gt; &amp; &lt;@U0X|x&gt; &amp;&amp; &lt;&lt;&gt;&gt;');
    assert.equal(escapeMrkdwn('&lt;'), '&amp;lt;', 'an entity typed by the user stays visible as typed');
    assert.equal(escapeMrkdwn('plain text'), 'plain text');
  });

  it('echo clips to the limit before escaping, so an escape is never cut in half', () => {
    assert.equal(echo('abcdef', 3), 'abc');
    assert.equal(echo('abc', 3), 'abc');
    assert.equal(echo('<<<<', 2), '&lt;&lt;');
    assert.equal(echo('', 5), '');
  });

  it('echo clips by code points: an emoji at the cut stays whole or goes, never half a surrogate pair', () => {
    assert.equal(echo('ab🔑cd', 3), 'ab🔑');
    assert.equal(echo('ab🔑cd', 2), 'ab');
    assert.equal(echo('🔑'.repeat(50), 40), '🔑'.repeat(40));
    assert.equal(echo('a\ud83d', 5), 'a\ufffd', 'a lone half typed in becomes U+FFFD');
  });

  it('echo puts the quote on one line: C0 and C1 controls, DEL, line separators and bidi controls become spaces', () => {
    for (const c of ['\u0000', '\t', '\n', '\r', '\u001f', '\u007f', '\u0080', '\u009f', '\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069', '\u200f'])
      assert.equal(echo(`a${c}b${c}c`, 10), 'a b c', JSON.stringify(c));
    // printable neighbours of those ranges stay as they are (U+200D joins emoji sequences)
    for (const c of [' ', '~', '\u00a0', 'é', '\u2027', '\u200d', '\u2065']) assert.equal(echo(`a${c}b`, 10), `a${c}b`, JSON.stringify(c));
  });
});

describe('REQUEST_ID_PATTERN', () => {
  it('matches a whole id only, not an id at the end of other text', () => {
    assert.match('rabcd', REQUEST_ID_PATTERN);
    for (const bad of ['xrabcd', 'U0Xrabcd', '<@U0X>rabcd', 'rabcd\nrabcd']) assert.doesNotMatch(bad, REQUEST_ID_PATTERN, bad);
  });
});

describe('authorization refusals without a host name', () => {
  it('leave the host out of the data (the reply says "this host") and say "the host" in the log detail', () => {
    const r = authorize('deny', { actor: 'U0X', requester: 'U0Y', owners: new Set(['U0Z']) });
    assert.deepEqual(r, { ok: false, code: 'not-owner', message: 'not an owner of the host', params: { action: 'deny', host: undefined } });
  });
});
