// What both browser scripts (console/console-browser-test.cjs, firsthour/console-steps.cjs) do the
// same way: read their environment, take screenshots, log in with a token, and search the
// tracking page until a message shows a status. Every wait is bounded.
'use strict';
const path = require('path');

const WAIT = 20000;

const env = (name) => {
  if (!process.env[name]) {
    throw new Error('missing environment variable ' + name);
  }
  return process.env[name];
};

async function shot(page, name) {
  await page.screenshot({ path: path.join(env('SCREENSHOTS'), name + '.png'), fullPage: true });
}

async function login(page, token) {
  await page.goto(env('CONSOLE_URL'));
  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#who:not([hidden])', { timeout: WAIT });
}

/** The console has drawn the page it was last asked for (it marks the body data-loading until then). */
const DRAWN = 'body:not([data-loading])';

/**
 * Searches the console's tracking page until the recipient's message has the status. Each round
 * fills the form and waits for the page its search asked for (the console drops a late answer of
 * the round before). When the deadline passes, the error says what the page and the tracking API
 * showed last, and a screenshot is taken.
 */
async function awaitStatus(page, recipient, status) {
  const deadline = Date.now() + 60000;
  let last = null;
  let text = null;
  while (Date.now() < deadline) {
    try {
      await page.goto(env('CONSOLE_URL') + '#/tracking');
      await page.fill(DRAWN + '[data-page=tracking] #tracking-form input[name=recipient]', recipient, { timeout: 5000 });
      await page.click('#tracking-form button[type=submit]', { timeout: 5000 });
      await page.waitForSelector(DRAWN + '[data-page=tracking] #tracking, ' + DRAWN + '[data-page=tracking] #page p', { timeout: WAIT });
      text = await page.textContent('#page');
      if (text.includes(recipient) && text.includes(status)) {
        return text;
      }
    } catch (error) {
      last = error;
    }
    await page.waitForTimeout(500);
  }
  await shot(page, 'failed-await-' + status).catch(() => null);
  const answer = await page.evaluate(async (query) => {
    const response = await fetch('/tracking?recipient=' + encodeURIComponent(query),
      { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('postino.token') }, cache: 'no-store' });
    return response.status + ' ' + (await response.text());
  }, recipient).catch((error) => String(error));
  throw new Error('the console never showed ' + recipient + ' as ' + status + (last ? ' (last error: ' + last + ')' : '')
    + '; the page showed last: ' + JSON.stringify(text) + '; GET /tracking answers: ' + answer.substring(0, 2000));
}

/** Runs the script's steps and prints one JSON line of what it saw, with ok and, on failure, the error. */
function report(steps, result) {
  steps().then(() => {
    result.ok = true;
    console.log(JSON.stringify(result));
  }, (error) => {
    result.ok = false;
    result.error = String(error && error.stack || error);
    console.log(JSON.stringify(result));
    process.exitCode = 1;
  });
}

module.exports = { WAIT, env, shot, login, awaitStatus, report };
