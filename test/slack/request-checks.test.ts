// The checks the Slack adapter adds to Bolt's: both-way timestamp window, workspace, response_url.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequestTimestamp, isTrustedResponseUrl, MAX_CLOCK_SKEW_SECONDS, responseUrlsOf, teamOf } from '../../src/slack/request-checks.ts';

const NOW = Date.UTC(2026, 10, 24, 9, 0, 0);
const sec = Math.floor(NOW / 1000);

describe('checkRequestTimestamp', () => {
  it('accepts anything within five minutes either way, edges included', () => {
    for (const d of [0, 1, -1, 299, -299, MAX_CLOCK_SKEW_SECONDS, -MAX_CLOCK_SKEW_SECONDS]) assert.equal(checkRequestTimestamp(String(sec + d), NOW), undefined, String(d));
  });

  it('refuses stale and future timestamps, saying which', () => {
    assert.match(checkRequestTimestamp(String(sec - 301), NOW)!, /301s old/);
    assert.match(checkRequestTimestamp(String(sec + 301), NOW)!, /301s in the future/);
    assert.match(checkRequestTimestamp(String(sec + 86_400 * 365), NOW)!, /in the future/);
    assert.match(checkRequestTimestamp('0', NOW)!, /old/);
  });

  it('refuses malformed headers', () => {
    for (const h of [undefined, '', 'abc', '1e9', '-5', ' 1700000000', '1700000000.5', '99999999999999', ['1', '2']])
      assert.match(checkRequestTimestamp(h as never, NOW)!, /missing or malformed/, JSON.stringify(h));
  });
});

describe('teamOf', () => {
  it('finds the workspace in every payload shape', () => {
    assert.equal(teamOf({ team_id: 'T1' }), 'T1');
    assert.equal(teamOf({ team: { id: 'T2' } }), 'T2');
    assert.equal(teamOf({ user: { team_id: 'T3' } }), 'T3');
    assert.equal(teamOf({ view: { team_id: 'T4' } }), 'T4');
    assert.equal(teamOf({ team_id: 'T1', team: { id: 'T2' } }), 'T1', 'the slash command field wins');
  });

  it('has none for empty, non-string or missing values', () => {
    for (const b of [{}, { team_id: '' }, { team_id: 5 }, { team: { id: ['T1'] } }, null, undefined]) assert.equal(teamOf(b), undefined, JSON.stringify(b));
  });
});

describe('isTrustedResponseUrl', () => {
  const fake = 'http://127.0.0.1:4567/api/';
  it("accepts https on Slack's hooks host and the configured fake's origin", () => {
    assert.ok(isTrustedResponseUrl('https://hooks.slack.com/commands/T1/123/abc'));
    assert.ok(isTrustedResponseUrl('https://hooks.slack.com:443/actions/T1/1/x'));
    assert.ok(isTrustedResponseUrl('http://127.0.0.1:4567/response/1', fake));
  });

  it('refuses look-alikes, other schemes, credentials and other origins', () => {
    for (const u of [
      'http://hooks.slack.com/commands/T1/1/x',
      'https://hooks.slack.com.evil.example/x',
      'https://evil.example/?https://hooks.slack.com/',
      'https://hooks.slack.com@evil.example/x',
      'https://user:pw@hooks.slack.com/x',
      'https://hooks.slack.com:8443/x',
      'https://slack.com/api/chat.postMessage',
      'http://127.0.0.1:4568/response/1',
      'http://localhost:4567/response/1',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
      '',
    ])
      assert.equal(isTrustedResponseUrl(u, fake), false, u);
    for (const u of [undefined, null, 5, ['https://hooks.slack.com/x'], { href: 'https://hooks.slack.com/x' }]) assert.equal(isTrustedResponseUrl(u, fake), false);
    assert.equal(isTrustedResponseUrl('http://127.0.0.1:4567/response/1'), false, 'the fake only counts when configured');
  });

  it('collects every response_url of a payload', () => {
    assert.deepEqual(responseUrlsOf({ response_url: 'a' }), ['a']);
    assert.deepEqual(responseUrlsOf({ response_urls: [{ response_url: 'b' }, { response_url: 'c' }] }), ['b', 'c']);
    assert.deepEqual(responseUrlsOf({}), []);
  });
});
