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
  /** Sends `/jump request` as the engineer and reads the request id from the answer. */
  const requestAs = async (host: string, duration: string, reason: string) => {
    await actAs('U0ENGINEER');
    await page.fill('#text', `/jump request ${host} ${duration} ${reason}`);
    await page.press('#text', 'Enter');
    const reply = message(new RegExp(`Request r[a-z0-9]+ for ${host} for ${duration} sent`));
    await reply.waitFor();
    const id = /Request (r[a-z0-9]+) for/.exec(await reply.innerText())?.[1];
    assert.ok(id, await reply.innerText());
    return id;
  };

  before(async () => {
    run = runSandbox({ SANDBOX_MIN_DURATION: '2s', SANDBOX_DURATION: GRANT });
    info = await sandboxStarted(run);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(info.url);
    // A newcomer's first step: the first suggestion is the sandbox key's exact /jump key add.
    const first = page.locator('#chips button').first();
    assert.equal(await first.getAttribute('data-chip'), info.keyAdd);
    await first.click();
    assert.equal(await page.inputValue('#text'), info.keyAdd);
    await page.press('#text', 'Enter');
    await message('Key registered').waitFor();
  });
  after(async () => {
    await browser?.close();
    await stopSandbox(run);
  });

  it('request as the engineer, approve as an owner, connect with the printed ssh command, and lose access at expiry', async () => {
    // Once the key is registered, the request for SANDBOX_DURATION is the first suggestion.
    const suggested = page.locator('#chips button').first();
    await until('the request to be suggested', async () => (await suggested.getAttribute('data-chip')) === `/jump request internal-1 ${GRANT} checking the sandbox`);
    await suggested.click();
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
    await until('the terminal to say so', () => run!.output().includes(`access to internal-1 (${id}) has expired. The same ssh command now fails.`));
    const refused = await shell(command);
    assert.equal(refused.outcome, 'refused-auth', refused.stderr);
    assert.match(refused.stderr, /Permission denied/);
    assert.deepEqual(pageErrors, []);
  });

  it('a grant the engineer revokes themselves: its box is marked ended, as on expiry, and the terminal says so', async () => {
    const id = await requestAs('internal-2', '10m', 'browser revoke');
    await actAs('U0OWNER1');
    await openConversation('jit-jump');
    await message(id).locator('button', { hasText: 'Approve' }).click();

    await actAs('U0ENGINEER');
    const connect = message(new RegExp(`Access to internal-2 is active until[\\s\\S]*${id}`));
    const box = connect.locator('.sandbox-connect');
    await box.waitFor();
    assert.equal(await box.evaluate((el) => el.classList.contains('ended')), false);
    assert.match(await box.innerText(), /paste this/);
    await page.fill('#text', `/jump revoke ${id}`);
    await page.press('#text', 'Enter');
    // No DM tells the requester what they did themselves: the audit line and the approval message say it.
    await connect.locator('.sandbox-connect.ended').waitFor();
    assert.match(await box.innerText(), /this grant has ended/);
    assert.doesNotMatch(await box.innerText(), /paste this/);
    await until('the terminal to say so', () => run!.output().includes(`access to internal-2 (${id}) was revoked. The same ssh command now fails.`));
    assert.deepEqual(pageErrors, []);
  });

  it('long code (ssh commands, the public key) wraps in a narrow window: nothing sticks out of the messages', async () => {
    await actAs('U0ENGINEER');
    await openConversation('jit-jump');
    await page.setViewportSize({ width: 700, height: 800 });
    try {
      await message('Key registered').scrollIntoViewIfNeeded();
      // Page code as text: this project's TypeScript has no DOM types.
      const overflow = await page.evaluate(`(() => {
        const box = document.getElementById('messages');
        const right = box.getBoundingClientRect().right;
        const out = [...box.querySelectorAll('pre, code, .ran')]
          .filter((el) => el.getBoundingClientRect().right > right + 1)
          .map((el) => el.textContent.slice(0, 40));
        const chips = document.getElementById('chips');
        return { out, scroll: box.scrollWidth - box.clientWidth, chips: chips.scrollWidth - chips.clientWidth, page: document.documentElement.scrollWidth - window.innerWidth };
      })()`);
      assert.deepEqual(overflow, { out: [], scroll: 0, chips: 0, page: 0 });
      assert.ok(await page.locator('#messages pre.connect').count() >= 2, 'the ssh commands are on the page');
    } finally {
      await page.setViewportSize({ width: 1200, height: 800 });
    }
  });

  it('an outsider cannot approve; an owner denies with a reason in a modal, and the requester is told', async () => {
    const id = await requestAs('internal-2', '1m', 'browser deny');

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
    const id = await requestAs('internal-2', '30m', 'browser shorter');

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
