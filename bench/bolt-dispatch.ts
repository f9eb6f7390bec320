// `npx tsx bench/bolt-dispatch.ts [events]`: Bolt's own cost per Slack request in the broker's app
// (createBoltApp), without HTTP, Redis or the use cases: an Approve click handed to App.processEvent with an
// access service that answers at once, and the CPU time per click (process.cpuUsage), after a warm-up. What is
// left is Bolt's middleware and listener dispatch, the broker's global middleware (log fields, workspace guard)
// and the listener's own few lines. The local fake stands in for Slack (auth.test at start).
import pino from 'pino';
import { createBoltApp } from '../src/slack/bolt-app.ts';
import { ACTION_APPROVE } from '../src/slack/messages.ts';
import type { AccessService } from '../src/service/access-service.ts';
import { startLocalSlackApi } from '../src/sandbox/local-slack-api.ts';
import { BOT_TOKEN, OWNER, SIGNING_SECRET, TEAM_ID } from '../src/sandbox/environment.ts';

const events = Number(process.argv[2] ?? 20_000);
const slack = await startLocalSlackApi({ botToken: BOT_TOKEN, teamId: TEAM_ID });
let approvals = 0;
const service = { approve: async () => (approvals++, {}) } as unknown as AccessService;
const app = createBoltApp({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl, teamId: TEAM_ID, service, logger: pino({ level: 'warn' }) });

const body = (i: number) => ({
  type: 'block_actions',
  user: { id: OWNER, team_id: TEAM_ID },
  api_app_id: 'A0JITJUMP',
  container: { type: 'message', message_ts: '1.1', channel_id: `D${OWNER}`, is_ephemeral: false },
  trigger_id: `trigger-${i}`,
  team: { id: TEAM_ID, domain: 'test' },
  channel: { id: `D${OWNER}`, name: 'directmessage' },
  message: { type: 'message', ts: '1.1', text: '', blocks: [] },
  response_url: 'https://hooks.slack.com/actions/T0TEST/1/x',
  actions: [{ type: 'button', action_id: ACTION_APPROVE, block_id: 'b', value: 'r-0000000000000000', action_ts: '1.1' }],
});

async function run(n: number): Promise<{ cpuUs: number; wallUs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    let acked = false;
    await app.processEvent({ body: body(i), ack: async () => void (acked = true) });
    if (!acked) throw new Error('the click was not acked');
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs: ((performance.now() - t0) * 1000) / n };
}

await run(Math.min(2000, events)); // warm-up: JIT, auth.test kept
const r = await run(events);
if (approvals < events) throw new Error(`${approvals} approvals for ${events} clicks`);
console.log(`Bolt dispatch of one Approve click (no HTTP): ${r.cpuUs.toFixed(1)} µs CPU, ${r.wallUs.toFixed(1)} µs wall, over ${events} clicks`);
await slack.stop();
process.exit(0);
