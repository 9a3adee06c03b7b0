import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { findOnPath } from '../../src/store/embedded.ts';
import { captureLogger } from '../support/log.ts';
import { startTestSandbox } from '../support/sandbox.ts';
import { decodePng } from '../support/png.ts';

/**
 * The sandbox page in Debian's Chromium, driven by Playwright as a person would: the guided tour
 * end to end (a draft from a message, a refused self-approval, approval and publishing, a comment
 * from the network, a reply from the inbox thread that reaches the network, the digest with its
 * charts), a keyboard-only pass that must reach every button, and no console errors anywhere.
 * Screenshots of every step land in .cache/sandbox-tour/ (npm run docs:sandbox copies them to docs/).
 */
const shots = path.resolve('.cache/sandbox-tour');

describe('the sandbox page in a browser', () => {
  let sandbox: Sandbox;
  let stopSandbox: (() => Promise<void>) | undefined;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const captured = captureLogger('warn');

  const watch = (p: Page): void => {
    p.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console.${message.type()}: ${message.text()}`);
    });
    p.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    p.on('requestfailed', (request) => {
      // The live-update stream is cut when a test ends or the page reloads; nothing else may fail.
      if (!request.url().includes('/sandbox/api/events')) problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`);
    });
    p.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()} ${response.url()}`);
    });
  };
  let shot = 0;
  const screenshot = async (name: string): Promise<void> => {
    shot += 1;
    await page.screenshot({ path: path.join(shots, `${String(shot).padStart(2, '0')}-${name}.png`) });
  };
  const step = (n: number): Locator => page.locator('#tour').getByText(`Step ${n} of 6`);
  /** The tour moves on by itself once the step is done; a person may also press Next. */
  const reach = async (n: number, timeout = 20_000): Promise<void> => {
    await step(n).waitFor({ timeout });
  };
  const channel = (name: string): Locator => page.locator(`nav [data-channel="${name}"]`);
  const messages = (): Locator => page.locator('main article.msg');

  beforeAll(async () => {
    const executable = (await findOnPath('chromium')) ?? (await findOnPath('chromium-browser'));
    if (!executable) throw new Error('Debian’s chromium is not installed (apt-get install chromium; .ci/run does it)');
    await rm(shots, { recursive: true, force: true });
    await mkdir(shots, { recursive: true });
    ({ sandbox, stop: stopSandbox } = await startTestSandbox(captured.log));
    browser = await chromium.launch({
      executablePath: executable,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-GB', timezoneId: 'Europe/Bucharest' });
    page = await context.newPage();
    watch(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopSandbox?.();
  });

  it('runs the guided tour end to end, with a refused self-approval and a thread reply that reaches the network', async () => {
    await page.goto(`${sandbox.url}/`);
    await page.locator('#tour-offer').waitFor();
    await screenshot('welcome');
    await page.locator('#tour-accept').click();
    await reach(1);

    // 1. Wanda writes an idea in #drafts and turns it into a draft with the message shortcut.
    await expect.poll(() => page.locator('#user-switch').inputValue()).toBe('U_WRITER');
    await channel('drafts').click();
    const idea = 'Our spring collection is out: linen shirts, recycled denim, and a pop-up in Cluj on Sunday.';
    await page.locator('#composer').fill(idea);
    await page.locator('#composer').press('Enter');
    const ideaMessage = messages().filter({ hasText: idea });
    await ideaMessage.waitFor();
    await expect.poll(() => page.locator('#composer').inputValue()).toBe('');
    await ideaMessage.locator('[data-more-actions]').click();
    await page.getByRole('menuitem', { name: 'Draft a post from this' }).click();
    await screenshot('draft-from-message');
    await reach(2);

    // 2. Wanda tries to approve her own draft: Herald refuses, only to her.
    await channel('approvals').click();
    const pending = messages().filter({ has: page.locator('[data-action-id*=":approve:"]') });
    await pending.waitFor();
    const card = page.locator(`main article.msg[data-ts="${await pending.getAttribute('data-ts')}"]`);
    // The card's "from" link leads back to the message the draft came from, here in the page.
    await card.locator('a.permalink').click();
    await expect.poll(() => channel('drafts').getAttribute('aria-current')).toBe('page');
    await expect.poll(() => ideaMessage.evaluate((el) => el.classList.contains('linked'))).toBe(true);
    await channel('approvals').click();
    await card.locator('[data-action-id*=":approve:"]').click();
    const refusal = page.locator('.ephemeral').filter({ hasText: 'not let authors approve their own drafts' });
    await refusal.waitFor();
    await screenshot('self-approval-refused');
    await reach(3);

    // 3. Alex approves and schedules it a minute ahead (Herald's shortest notice); it publishes.
    await page.locator('#user-switch').selectOption('U_APPROVER');
    await expect.poll(() => refusal.count()).toBe(0); // Wanda's ephemeral is hers alone
    await card.locator('[data-action-id*=":approve:"]').click();
    await messages().filter({ hasText: 'Approved by alex' }).first().waitFor();
    await card.locator('[data-action-id*=":schedule:"]').click();
    const modal = page.locator('#modal');
    await modal.waitFor();
    // Chromium drops ':00' seconds from the value, which Playwright's fill then refuses: avoid them.
    const when = new Date(Date.now() + 75_000);
    if (when.getSeconds() === 0) when.setSeconds(1);
    const local = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Bucharest', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(when).replace(' ', 'T');
    await modal.locator('input[type="datetime-local"]').fill(local);
    await screenshot('schedule-form');
    await page.locator('#modal-submit').click();
    await modal.waitFor({ state: 'hidden' });
    const ours = page.locator('#network article.post').filter({ hasText: 'linen shirts' });
    await ours.waitFor({ timeout: 150_000 });
    await expect.poll(() => card.first().textContent(), { timeout: 10_000 }).toContain('published');
    await screenshot('published');
    await reach(4);

    // 4. An outside person comments on the brand's post; the inbox card arrives.
    await page.locator('#net-person').selectOption({ label: 'Ioana Pop' }).catch(async () => page.locator('#net-person').selectOption('p-ioana'));
    await ours.getByRole('button', { name: 'Comment' }).click();
    await ours.locator('textarea').fill('Is the Cluj pop-up open on Sunday morning?');
    await ours.getByRole('button', { name: 'Send comment' }).click();
    await channel('inbox').click();
    const inboxCard = messages().filter({ hasText: 'Is the Cluj pop-up open on Sunday morning?' });
    await inboxCard.waitFor({ timeout: 20_000 });
    await screenshot('inbox-card');
    await reach(5);

    // 5. Rémi answers in the card's thread; the reply goes to the network under the comment.
    await page.locator('#user-switch').selectOption('U_RESPONDER');
    await inboxCard.getByRole('button', { name: /reply in thread/i }).click();
    const thread = page.locator('#thread');
    await thread.waitFor();
    await page.locator('#thread-composer').fill('Yes, from 10:00. See you there!');
    await page.locator('#thread-send').click();
    await page.locator('#network article.post').filter({ hasText: 'Yes, from 10:00. See you there!' }).waitFor({ timeout: 20_000 });
    await thread.getByText('Sent on Sandbox network').waitFor({ timeout: 20_000 });
    await screenshot('reply-reached-network');
    await reach(6);
    const reply = sandbox.network.view().posts.find((p) => p.text === 'Yes, from 10:00. See you there!');
    const comment = sandbox.network.view().posts.find((p) => p.text === 'Is the Cluj pop-up open on Sunday morning?');
    expect(reply?.ours).toBe(true);
    expect(reply?.inReplyTo).toBe(comment?.id);

    // 6. The weekly digest, now, with its charts.
    await page.locator('#digest-now').click();
    await channel('digest').click();
    const chart = page.locator('main article.msg img[alt*="ngagement"]').first();
    await chart.waitFor({ timeout: 30_000 });
    await expect.poll(() => page.evaluate<number>(`document.querySelector('main article.msg img[alt*="ngagement"]')?.naturalWidth ?? 0`)).toBe(1280);
    const png = decodePng(Buffer.from(await (await fetch(new URL((await chart.getAttribute('src'))!, sandbox.url))).arrayBuffer()));
    expect([png.width, png.height]).toEqual([1280, 600]);
    await screenshot('digest');
    // The last step done, the tour ends by itself and is not offered again.
    await expect.poll(() => page.evaluate(`localStorage.getItem('herald-sandbox-tour')`)).toBe('done');
    await page.locator('#tour').waitFor({ state: 'hidden', timeout: 10_000 });
    expect(problems).toEqual([]);
  }, 240_000);

  it('the composer runs slash commands, a card’s select answers, the network panel mentions and likes, and the header names the assistant', async () => {
    await expect.poll(() => page.locator('#assistant-mode').textContent()).toContain('built-in fallbacks');
    await page.locator('#user-switch').selectOption('U_WRITER');
    await channel('drafts').click();
    await page.locator('#composer').fill('/herald ping');
    await page.locator('#send').click();
    await page.locator('main .ephemeral').filter({ hasText: 'Pong! Herald is running on slack' }).waitFor();
    await page.locator('#composer').fill('/draft new text:"Autumn hours: we open at nine from Monday."');
    await page.locator('#composer').press('Enter');
    await channel('approvals').click();
    const card = messages().filter({ hasText: 'Autumn hours' }).filter({ has: page.locator('select[data-action-id]') });
    await card.waitFor({ timeout: 15_000 });
    await card.locator('select[data-action-id]').selectOption('history');
    await page.locator('main .ephemeral').filter({ hasText: 'History of draft' }).waitFor({ timeout: 10_000 });

    const brandPost = page.locator('#network article.post[data-ours="true"]').filter({ hasText: 'linen shirts' });
    await page.locator('#net-person').selectOption('p-maya');
    await brandPost.getByRole('button', { name: 'Like' }).click();
    await expect.poll(() => brandPost.textContent()).toContain('1 like');
    await page.locator('#net-mention-text').fill('Where can I buy the recycled denim in Iași?');
    await page.locator('#net-mention').click();
    await channel('inbox').click();
    await messages().filter({ hasText: 'Where can I buy the recycled denim in Iași?' }).waitFor({ timeout: 20_000 });
    expect(problems).toEqual([]);
  }, 60_000);

  it('a keyboard-only pass reaches every button, select and field on the page', async () => {
    await page.locator('#user-switch').selectOption('U_APPROVER');
    await channel('approvals').click();
    await page.locator('body').click({ position: { x: 1, y: 1 } });
    const reached = new Set<string>();
    // Every focusable control gets a stable key; Tab until focus comes back to where it began.
    // (Browser-side code as strings: the tests compile without the DOM's types.)
    await page.evaluate(`{
      let n = 0;
      for (const el of document.querySelectorAll('button, select, textarea, input, a[href]')) el.setAttribute('data-kbd', String((n += 1)));
    }`);
    for (let i = 0; i < 800; i += 1) {
      await page.keyboard.press('Tab');
      const key = await page.evaluate<string>(`document.activeElement?.getAttribute('data-kbd') ?? ''`);
      if (key) reached.add(key);
    }
    const expected = await page.evaluate<{ key: string; name: string }[]>(`[...document.querySelectorAll('[data-kbd]')]
      .filter((el) => el.offsetParent !== null && getComputedStyle(el).visibility !== 'hidden' && !el.disabled && el.tabIndex >= 0)
      .map((el) => ({ key: el.getAttribute('data-kbd'), name: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40) }))`);
    const missed = expected.filter((e) => !reached.has(e.key));
    expect(expected.length).toBeGreaterThan(20);
    expect(missed).toEqual([]);
    // A button works from the keyboard as by mouse: the channel list answers Enter.
    await channel('digest').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#composer').getAttribute('aria-label')).toContain('digest');
    expect(problems).toEqual([]);
  }, 120_000);

  it('Reset sandbox, once confirmed, brings back an empty workspace that works', async () => {
    expect(sandbox.network.view().posts.length).toBeGreaterThan(0);
    await page.locator('#reset').click();
    await page.locator('#confirm-deny').click(); // changing one's mind keeps everything
    expect(sandbox.network.view().posts.length).toBeGreaterThan(0);
    await page.locator('#reset').click();
    await page.locator('#confirm-ok').click();
    await page.locator('#network').getByText('No posts yet.').waitFor({ timeout: 60_000 });
    await channel('digest').click();
    await expect.poll(() => messages().count()).toBe(0);
    await channel('drafts').click();
    await page.locator('#composer').fill('First idea after the reset');
    await page.locator('#composer').press('Enter');
    await messages().filter({ hasText: 'First idea after the reset' }).waitFor();
    expect(problems).toEqual([]);
  }, 90_000);
});
