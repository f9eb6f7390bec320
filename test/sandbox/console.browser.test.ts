// The sandbox as a newcomer uses it: `npm run sandbox`, the console in a real (headless) Chromium, the
// printed ssh command in a shell. Request as the engineer, approve as an owner, hop through the real jump
// sshd to an internal sshd, see the grant expire and the same command fail.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { classifySsh } from '../support/ssh-client.ts';
import { until } from '../support/flow.ts';
import { runSandbox, sandboxStarted, stopSandbox, type SandboxInfo, type SandboxRun } from '../support/sandbox-process.ts';

const ARTIFACTS = 'test-artifacts';
/**
 * The test is about expiry as a newcomer sees it, so the real clock ends this grant. A minute: the browser steps
 * and the ssh hop between approval and the check take several seconds each on a loaded machine, and must all fit.
 */
const GRANT = '60s';

/** The printed command's result, with the ssh helper's verdict: a refusal must be a refusal, not a dead server. */
function shell(command: string): Promise<{ code: number; stdout: string; stderr: string; outcome: ReturnType<typeof classifySsh> }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, 60_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      const r = { code: code ?? 255, stdout, stderr };
      resolve({ ...r, outcome: classifySsh({ ...r, timedOut }) });
    });
  });
}

describe('the sandbox console in headless Chromium', () => {
  let run: SandboxRun | undefined;
  let info: SandboxInfo;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  const actAs = async (user: string) => {
    await page.selectOption('#who', user);
    await until(`the console to show ${user}`, async () => (await page.inputValue('#who')) === user);
  };
  const openConversation = (name: string) => page.locator('#channels .channel', { hasText: name }).click();
  const message = (text: string | RegExp) => page.locator('#messages .msg', { hasText: text });

  before(async () => {
    run = runSandbox({ SANDBOX_MIN_DURATION: '2s' });
    info = await sandboxStarted(run);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(info.url);
    await message('Key registered').waitFor();
  });
  after(async () => {
    await browser?.close();
    await stopSandbox(run);
  });

  it('request as the engineer, approve as an owner, connect with the printed ssh command, and lose access at expiry', async () => {
    await page.fill('#text', `/jump request internal-1 ${GRANT} browser test`);
    await page.press('#text', 'Enter');
    const reply = message('sent to its owners');
    await reply.waitFor();
    const id = /Request (r[a-z0-9]+) for internal-1/.exec(await reply.innerText())?.[1];
    assert.ok(id, await reply.innerText());
    const before = await shell(`ssh -F ${info.sshConfig} internal-1 true`);
    assert.equal(before.outcome, 'refused-auth', `no access before approval: ${before.stderr}`);

    await actAs('U0OWNER1');
    const approval = message(id);
    const approve = approval.locator('button', { hasText: 'Approve' });
    await approve.waitFor();
    assert.equal(await approval.locator('button', { hasText: 'Deny' }).count(), 1);
    const element = await approval.elementHandle();
    const messagesBefore = await page.locator('#messages .msg').count();
    const clickedAt = performance.now();
    await approve.click();
    await until('the approval message to show the outcome', async () => /Approved by @Olivia\. Active until/.test(await element!.innerText()));
    console.log(`console: Approve click → outcome shown in the message: ${(performance.now() - clickedAt).toFixed(0)} ms`);
    assert.equal(await element!.evaluate((el) => el.isConnected), true, 'the same message element was updated in place');
    assert.equal(await approval.locator('button').count(), 0, 'the buttons gave way to the outcome');
    assert.equal(await page.locator('#messages .msg').count(), messagesBefore, 'no new message: the old one changed');
    // The step is a reply in the approval message's thread, shown under it, not as a message of its own.
    await until('the thread under the approval message', async () => /1 reply\n[\s\S]*Approved by @Olivia: access is active until/.test(await element!.innerText()));
    assert.equal(await page.locator('#messages .msg').count(), messagesBefore, 'the reply is in the thread');
    mkdirSync(ARTIFACTS, { recursive: true });
    await element!.screenshot({ path: `${ARTIFACTS}/approval-message.png`, animations: 'disabled' });

    await actAs('U0ENGINEER');
    const connect = message('Connect with');
    await connect.waitFor();
    assert.match(await connect.innerText(), /ssh -J \S+@127\.0\.0\.1:\d+ -p \d+ \S+@127\.0\.0\.1/, 'the product’s own connect instructions');
    const command = await connect.locator('.sandbox-connect pre.connect').innerText();
    assert.equal(command, `ssh -F ${info.sshConfig} internal-1 'echo "hello from $(hostname) through the jump server"'`);
    await until('the terminal to print the same command', () => run!.output().includes(`connect with:\n  ${command}`));

    const hop = await shell(command);
    assert.equal(hop.outcome, 'ok', hop.stderr);
    assert.match(hop.stdout, /^hello from \S+ through the jump server$/m);

    await message(`(${id}) has expired`).waitFor({ timeout: 180_000 });
    await connect.locator('.sandbox-connect.ended').waitFor();
    await until('the terminal to say so', () => /has expired\. .*The same ssh command now fails\./.test(run!.output()));
    const refused = await shell(command);
    assert.equal(refused.outcome, 'refused-auth', refused.stderr);
    assert.match(refused.stderr, /Permission denied/);
    assert.deepEqual(pageErrors, []);
  });

  it('an outsider cannot approve; an owner denies with a reason in a modal, and the requester is told', async () => {
    await actAs('U0ENGINEER');
    await page.fill('#text', '/jump request internal-2 1m browser deny');
    await page.press('#text', 'Enter');
    const reply = message(/Request r[a-z0-9]+ for internal-2 for 1m sent/);
    await reply.waitFor();
    const id = /Request (r[a-z0-9]+) for internal-2/.exec(await reply.innerText())?.[1];
    assert.ok(id);

    await actAs('U0OUTSIDER');
    await openConversation('access-approvals');
    await message(id).locator('button', { hasText: 'Approve' }).click();
    await message('Only the owners of internal-2 can approve').waitFor();

    await actAs('U0OWNER1');
    await openConversation('jit-jump');
    const approval = message(id);
    await approval.locator('button', { hasText: 'Deny' }).click();
    const modal = page.locator('.modal');
    await modal.waitFor();
    assert.match(await modal.locator('h2').innerText(), /Deny access/);
    await modal.locator('button.primary').click();
    await modal.locator('.error', { hasText: 'Say why' }).waitFor();
    await modal.locator('textarea').fill('use the read replica instead');
    await modal.locator('button.primary').click();
    await modal.waitFor({ state: 'detached' });
    await until('the approval message to show the denial', async () => /Denied by @Olivia: use the read replica instead/.test(await approval.innerText()));
    assert.equal(await approval.locator('button').count(), 0);

    await actAs('U0ENGINEER');
    await message(`Your request ${id} for internal-2 was denied by @Olivia: use the read replica instead`).waitFor();
    assert.deepEqual(pageErrors, []);
  });

  it('an owner approves for less than asked with the menu next to Approve: the message and the requester say 15m', async () => {
    await actAs('U0ENGINEER');
    await page.fill('#text', '/jump request internal-2 30m browser shorter');
    await page.press('#text', 'Enter');
    const reply = message(/Request r[a-z0-9]+ for internal-2 for 30m sent/);
    await reply.waitFor();
    const id = /Request (r[a-z0-9]+) for internal-2/.exec(await reply.innerText())?.[1];
    assert.ok(id);

    await actAs('U0OWNER1');
    await openConversation('jit-jump');
    const approval = message(id);
    const menu = approval.locator('select');
    await menu.waitFor();
    assert.equal(await menu.inputValue(), '30m', 'the time asked is selected');
    await menu.selectOption('15m');
    await approval.locator('button', { hasText: 'Approve' }).click();
    await until('the approval message to show the shorter grant', async () => /Approved by @Olivia for 15m of the 30m asked \(shortened by @Olivia\)\. Active until/.test(await approval.innerText()));

    await actAs('U0ENGINEER');
    await message(new RegExp(`\\(request ${id}\\), approved by @Olivia for 15m of the 30m asked`)).waitFor();
    assert.deepEqual(pageErrors, []);
  });

  it('/jump request alone opens the request form: pick a host and a duration, say why, and the owners are asked', async () => {
    await actAs('U0ENGINEER');
    await page.fill('#text', '/jump request');
    await page.press('#text', 'Enter');
    const modal = page.locator('.modal');
    await modal.waitFor();
    assert.match(await modal.locator('h2').innerText(), /Request access/);
    await modal.locator('select[data-block="host"]').selectOption('internal-2');
    await modal.locator('select[data-block="duration"]').selectOption('30m');
    await modal.locator('button.primary').click();
    await modal.locator('.error', { hasText: 'A reason is required for internal-2' }).waitFor();
    await modal.locator('textarea').fill('browser form');
    await modal.locator('button.primary').click();
    await modal.waitFor({ state: 'detached' });
    await actAs('U0OWNER1');
    await openConversation('jit-jump');
    await message(/requests SSH access to internal-2[\s\S]*browser form/).waitFor();
    assert.deepEqual(pageErrors, []);
  });
});
