// The console steps of the README's first hour, in headless Chromium (playwright-core), as a new
// admin does them: paste the operator's token, find the mail by its recipient, hold (or release)
// the organisation's queue. Prints one JSON line of what it saw; FirstHourIntegrationTest checks
// it. Every wait is bounded.
// Environment: CONSOLE_URL, TOKEN, STEP (hold: find RECIPIENT delivered, then hold QUEUE;
// release: find RECIPIENT queued, then release QUEUE), RECIPIENT, QUEUE, SCREENSHOTS, CHROMIUM.
'use strict';
const { chromium } = require('playwright-core');
const { WAIT, env, shot, awaitStatus, report } = require('../console/browser-steps.cjs');

const result = { step: process.env.STEP, consoleErrors: [] };

async function main() {
  const browser = await chromium.launch({ executablePath: env('CHROMIUM'), headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.on('pageerror', (error) => result.consoleErrors.push(String(error)));
    // A confirmation the console asks for is what the admin answers OK to.
    page.on('dialog', (dialog) => dialog.accept());
    await page.goto(env('CONSOLE_URL'));
    await page.fill('#token', env('TOKEN'));
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#who:not([hidden])', { timeout: WAIT });
    result.who = await page.textContent('#who');

    const queue = env('QUEUE');
    if (env('STEP') === 'hold') {
      result.found = await awaitStatus(page, env('RECIPIENT'), 'delivered');
      await shot(page, 'first-hour-1-found');
      await page.goto(env('CONSOLE_URL') + '#/queues');
      await page.click('[id="hold-' + queue + '"]', { timeout: WAIT });
      await page.waitForSelector('[id="release-' + queue + '"]', { timeout: WAIT });
      result.notice = await page.textContent('#notice');
      await shot(page, 'first-hour-2-held');
    } else {
      result.found = await awaitStatus(page, env('RECIPIENT'), 'queued');
      await page.goto(env('CONSOLE_URL') + '#/queues');
      result.releasedAt = Date.now();
      await page.click('[id="release-' + queue + '"]', { timeout: WAIT });
      await page.waitForSelector('[id="hold-' + queue + '"]', { timeout: WAIT });
      result.notice = await page.textContent('#notice');
      await shot(page, 'first-hour-3-released');
    }
  } finally {
    await browser.close();
  }
}

report(main, result);
