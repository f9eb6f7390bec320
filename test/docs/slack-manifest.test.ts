// The Slack app manifests (HTTP and Socket Mode) against the code: the bot scopes are exactly those the Web API
// methods the broker calls need, the command and the events are the ones Bolt listens for, and the two files
// differ only in socket mode and request URLs. A new Web API call fails here until its scope is in the table.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseCommand } from '../../src/domain/command.ts';

/**
 * Bot scopes each Web API method needs (docs.slack.dev/reference/methods/<method>, "Required scopes").
 * conversations.history needs the history scope of the kind of conversation read: the broker reads the
 * audit channel (public or private: channels:history, groups:history) and a person's DM (im:history).
 */
const SCOPES_OF_METHOD: Record<string, string[]> = {
  'auth.test': [],
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'conversations.open': ['im:write'],
  'conversations.history': ['channels:history', 'groups:history', 'im:history'],
  'usergroups.users.list': ['usergroups:read'],
  'users.info': ['users:read'],
  'views.open': [],
  'views.publish': [],
  'views.update': [],
};
/** What a Bolt listener needs of the app besides Web API scopes. */
const SCOPE_OF_SLASH_COMMANDS = 'commands';

const SRC = 'src';
// The sandbox plays Slack itself (its fake Web API and sender): not calls the broker makes to Slack.
const NOT_THE_BROKER = join(SRC, 'sandbox');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (path === NOT_THE_BROKER) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Web API methods called as `…client.<family>.<method>(` (a WebClient is always named so here) or `apiCall('<method>'`. */
export function webApiCalls(source: string): string[] {
  const calls: string[] = [];
  for (const m of source.matchAll(/[cC]lient\.((?:auth|chat|conversations|usergroups|users|views|reactions|pins|team|files|bots|apps|dnd)(?:\.[a-zA-Z]+)+)\(/g)) calls.push(m[1]!);
  for (const m of source.matchAll(/apiCall\(\s*['"`]([a-zA-Z.]+)['"`]/g)) calls.push(m[1]!);
  return calls;
}

const code = sourceFiles(SRC).map((f) => ({ file: f, text: readFileSync(f, 'utf8') }));
const called = new Set(code.flatMap(({ text }) => webApiCalls(text)));
const slashCommands = new Set(code.flatMap(({ text }) => [...text.matchAll(/\bapp\.command\(\s*'([^']+)'/g)].map((m) => m[1]!)));
const events = new Set(code.flatMap(({ text }) => [...text.matchAll(/\bapp\.event\(\s*'([^']+)'/g)].map((m) => m[1]!)));
const usesInteractivity = code.some(({ text }) => /\bapp\.(action|view|shortcut)\(/.test(text));

interface Manifest {
  features: {
    app_home: { home_tab_enabled: boolean; messages_tab_enabled: boolean };
    slash_commands: { command: string; url?: string; should_escape: boolean }[];
  };
  oauth_config: { scopes: { bot: string[]; user?: string[] } };
  settings: {
    event_subscriptions: { request_url?: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url?: string };
    socket_mode_enabled: boolean;
  };
}

const manifests = {
  http: parse(readFileSync('slack-app-manifest.yml', 'utf8')) as Manifest,
  socket: parse(readFileSync('slack-app-manifest.socket-mode.yml', 'utf8')) as Manifest,
};
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe('Slack app manifests', () => {
  it('the code calls Web API methods the scope table knows (a new call needs its scope here and in the manifests)', () => {
    // The scan itself must see the calls this file was written against, or it proves nothing.
    for (const m of ['chat.postMessage', 'conversations.open', 'usergroups.users.list', 'views.publish']) assert.ok(called.has(m), `no call of ${m} found in src/`);
    const unknown = [...called].filter((m) => !(m in SCOPES_OF_METHOD));
    assert.deepEqual(unknown, [], `Web API methods with no row in SCOPES_OF_METHOD: ${unknown.join(', ')}`);
  });

  for (const [mode, manifest] of Object.entries(manifests)) {
    it(`${mode}: the bot scopes are exactly those of the methods the code calls, plus commands; no user scopes`, () => {
      const needed = [...[...called].flatMap((m) => SCOPES_OF_METHOD[m]!), ...(slashCommands.size ? [SCOPE_OF_SLASH_COMMANDS] : [])];
      assert.deepEqual(sorted(manifest.oauth_config.scopes.bot), sorted(needed));
      assert.equal(manifest.oauth_config.scopes.bot.length, new Set(manifest.oauth_config.scopes.bot).size, 'a scope is listed twice');
      assert.equal(manifest.oauth_config.scopes.user, undefined);
    });

    it(`${mode}: the slash command (escaping users, as /jump audit @person needs), the bot events and interactivity are what Bolt listens for; the Home tab is on`, () => {
      assert.deepEqual(sorted(manifest.features.slash_commands.map((c) => c.command)), sorted(slashCommands));
      assert.deepEqual(sorted(manifest.settings.event_subscriptions.bot_events), sorted(events));
      assert.ok(events.has('app_home_opened'), 'the code no longer draws the Home tab on app_home_opened');
      assert.equal(manifest.settings.interactivity.is_enabled, usesInteractivity);
      assert.equal(manifest.features.app_home.home_tab_enabled, true);
      // `/jump audit @person` is read from the mention Slack sends only when the command escapes users.
      assert.deepEqual(parseCommand('audit <@U0ALICE|alice>'), { kind: 'audit', person: 'U0ALICE', since: (parseCommand('audit') as { since: unknown }).since });
      assert.equal(manifest.features.slash_commands[0]!.should_escape, true);
      // The connect instructions and expiry notices arrive as DMs from the app: its Messages tab shows them.
      assert.equal(manifest.features.app_home.messages_tab_enabled, true);
    });
  }

  it('HTTP mode sends everything to the one endpoint the broker serves, POST /slack/events', () => {
    const { http } = manifests;
    assert.equal(http.settings.socket_mode_enabled, false);
    const boltApp = readFileSync('src/slack/bolt-app.ts', 'utf8');
    assert.match(boltApp, /endpoints: '\/slack\/events'/, 'the receiver path changed: change the manifest URLs too');
    const urls = [...http.features.slash_commands.map((c) => c.url), http.settings.event_subscriptions.request_url, http.settings.interactivity.request_url];
    for (const url of urls) assert.equal(url, 'https://YOUR-HOST/slack/events');
  });

  it('Socket Mode: socket mode on and no request URL anywhere', () => {
    const { socket } = manifests;
    assert.equal(socket.settings.socket_mode_enabled, true);
    assert.doesNotMatch(readFileSync('slack-app-manifest.socket-mode.yml', 'utf8'), /https?:\/\//);
  });

  it('the two manifests differ only in socket mode and the request URLs', () => {
    const withoutTransport = (m: Manifest) => {
      const copy = structuredClone(m);
      for (const c of copy.features.slash_commands) delete c.url;
      delete copy.settings.event_subscriptions.request_url;
      delete copy.settings.interactivity.request_url;
      delete (copy.settings as Partial<Manifest['settings']>).socket_mode_enabled;
      return copy;
    };
    assert.deepEqual(withoutTransport(manifests.socket), withoutTransport(manifests.http));
  });
});
