// Drives Postino's web console in headless Chromium (playwright-core) the way an admin would, and
// prints one JSON line with what it saw: ConsoleIntegrationTest checks it. Every wait is bounded.
// Environment: CONSOLE_URL, OPERATOR_TOKEN, ORGANISATION_TOKEN, RECIPIENT (a mail already
// delivered), SMTP_PORT, SCREENSHOTS (directory), CHROMIUM (executable), DISABLED_USERS ("true"
// when the server has the /disabledUsers routes: the disable/enable step runs only then).
'use strict';
const net = require('net');
const { chromium } = require('playwright-core');
const { WAIT, env, shot, login, awaitStatus, report } = require('./browser-steps.cjs');

const result = { steps: {}, consoleErrors: [] };

/** One mail over SMTP, as an application on a trusted network sends it. */
function sendMail(port, from, to) {
  return new Promise((resolve, reject) => {
    const commands = ['EHLO browser.test', 'MAIL FROM:<' + from + '>', 'RCPT TO:<' + to + '>', 'DATA',
      'From: ' + from + '\r\nTo: ' + to + '\r\nSubject: held by the console\r\n\r\nhello\r\n.', 'QUIT'];
    const socket = net.connect(port, '127.0.0.1');
    const replies = [];
    let buffer = '';
    socket.setTimeout(WAIT, () => socket.destroy(new Error('SMTP timeout; replies so far: ' + replies.join(' | '))));
    socket.on('data', (data) => {
      buffer += data.toString('utf8');
      let end;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.substring(0, end);
        buffer = buffer.substring(end + 2);
        if (/^\d{3} /.test(line)) {
          replies.push(line);
          if (!/^[23]/.test(line)) {
            socket.destroy();
            reject(new Error('SMTP refused: ' + line));
            return;
          }
          const next = commands.shift();
          if (next === undefined) {
            socket.end();
            resolve(replies);
          } else {
            socket.write(next + '\r\n');
          }
        }
      }
    });
    socket.on('error', reject);
  });
}

async function main() {
  const browser = await chromium.launch({ executablePath: env('CHROMIUM'), headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') {
        result.consoleErrors.push(message.text());
      }
    });
    page.on('pageerror', (error) => result.consoleErrors.push(String(error)));
    page.on('dialog', (dialog) => dialog.accept());

    await page.goto(env('CONSOLE_URL'));
    await page.waitForSelector('#login:not([hidden])', { timeout: WAIT });
    await shot(page, '01-login');

    await page.fill('#token', 'not-a-token');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#error:not([hidden])', { timeout: WAIT });
    result.steps.badToken = await page.textContent('#error');

    await login(page, env('OPERATOR_TOKEN'));
    result.steps.operatorWho = await page.textContent('#who');
    await page.waitForSelector('#organisations', { timeout: WAIT });
    result.steps.organisations = await page.textContent('#organisations');
    await shot(page, '02-organisations');

    const recipient = env('RECIPIENT');
    const found = await awaitStatus(page, recipient, 'delivered');
    result.steps.trackingFound = found.includes(recipient) && found.includes('received') && found.includes('queued');
    result.steps.tracking = await page.textContent('#tracking');
    await shot(page, '03-tracking');

    await page.goto(env('CONSOLE_URL') + '#/queues');
    await page.click('[id="hold-outgoing.acme"]', { timeout: WAIT });
    await page.waitForSelector('[id="release-outgoing.acme"]', { timeout: WAIT });
    result.steps.heldNotice = await page.textContent('#notice');
    await shot(page, '04-queues-held');
    const heldRecipient = 'held-' + Date.now() + '@example.net';
    await sendMail(Number(env('SMTP_PORT')), 'app@acme.test', heldRecipient);
    result.steps.heldRecipient = heldRecipient;
    await awaitStatus(page, heldRecipient, 'queued');
    await page.waitForTimeout(3000);
    const whileHeld = await awaitStatus(page, heldRecipient, 'queued');
    result.steps.deliveredWhileHeld = whileHeld.includes('delivered');
    result.steps.releasedAt = Date.now();
    await page.goto(env('CONSOLE_URL') + '#/queues');
    await page.click('[id="release-outgoing.acme"]', { timeout: WAIT });
    await page.waitForSelector('[id="hold-outgoing.acme"]', { timeout: WAIT });
    await awaitStatus(page, heldRecipient, 'delivered');
    result.steps.deliveredAfterRelease = true;

    // Every queue of one organisation at once, the queued mail by destination and route, and one destination's mail deleted.
    await page.goto(env('CONSOLE_URL') + '#/queues');
    await page.click('#hold-org-acme', { timeout: WAIT });
    await page.waitForSelector('[id="release-outgoing.acme"]', { timeout: WAIT });
    await page.waitForSelector('[id="release-spool.acme"]', { timeout: WAIT });
    result.steps.organisationQueuesHeld = true;
    const deletedRecipient = 'bulk-' + Date.now() + '@routed.test';
    const keptRecipient = 'kept-' + Date.now() + '@example.net';
    await sendMail(Number(env('SMTP_PORT')), 'app@acme.test', deletedRecipient);
    await sendMail(Number(env('SMTP_PORT')), 'app@acme.test', keptRecipient);
    result.steps.deletedRecipient = deletedRecipient;
    result.steps.keptRecipient = keptRecipient;
    const queuesDeadline = Date.now() + 30000;
    let queuesText = '';
    while (Date.now() < queuesDeadline) {
      await page.reload();
      await page.waitForSelector('#queues-acme', { timeout: WAIT });
      queuesText = await page.textContent('#queues-acme');
      if (queuesText.includes('routed.test via acme-out: 1') && queuesText.includes('example.net: 1')) {
        break;
      }
      await page.waitForTimeout(500);
    }
    result.steps.queuesByDestination = queuesText;
    await shot(page, '10-queues-by-destination');
    await page.click('[id="delete-domain-acme-routed.test"]', { timeout: WAIT });
    await page.waitForFunction(() => document.querySelector('#notice').textContent.includes('mails deleted'), null, { timeout: WAIT });
    result.steps.bulkDeleted = await page.textContent('#notice');
    await page.click('[id="hold-domain-acme-example.net"]', { timeout: WAIT });
    await page.waitForSelector('[id="release-domain-acme-example.net"]', { timeout: WAIT });
    result.steps.destinationHeld = await page.textContent('#held-destinations');
    await page.click('[id="release-domain-held-example.net"]', { timeout: WAIT });
    await page.waitForSelector('[id="hold-domain-acme-example.net"]', { timeout: WAIT });
    result.steps.destinationReleased = await page.textContent('#held-destinations');
    await page.click('#release-org-acme', { timeout: WAIT });
    await page.waitForSelector('[id="hold-outgoing.acme"]', { timeout: WAIT });
    await page.waitForSelector('[id="hold-spool.acme"]', { timeout: WAIT });
    result.steps.organisationQueuesReleased = true;
    await awaitStatus(page, keptRecipient, 'delivered');

    await page.goto(env('CONSOLE_URL') + '#/organisations/acme');
    await page.waitForSelector('#add-suppression', { timeout: WAIT });
    const suppressed = 'unsubscribed-' + Date.now() + '@example.net';
    await page.fill('#add-suppression input[name=address]', suppressed);
    await page.fill('#add-suppression input[name=detail]', 'asked by phone');
    await page.click('#add-suppression button[type=submit]');
    await page.waitForFunction((address) => document.querySelector('#suppressions')
      && document.querySelector('#suppressions').textContent.includes(address), suppressed, { timeout: WAIT });
    result.steps.suppressed = suppressed;
    await page.click('.dkim button:has-text("Generate a key")', { timeout: WAIT });
    await page.waitForSelector('.dkim .dns-missing', { timeout: 60000 });
    result.steps.dkimRecord = await page.textContent('.dkim code');
    result.steps.dkimPublished = (await page.$('.dkim tr:has-text("live._domainkey.acme.test") .dns-published')) !== null;
    result.steps.dkimMissing = (await page.$('.dkim tr:not(:has-text("live._domainkey")) .dns-missing')) !== null;
    result.steps.usage = await page.textContent('#usage');
    const webhooks = await page.textContent('#webhooks');
    result.steps.webhooks = webhooks;
    result.steps.webhookShown = webhooks.includes('acme-hook') && webhooks.includes('archive') && !webhooks.includes('beta-hook');
    result.steps.webhookMasked = webhooks.includes('token=***') && !webhooks.includes('sekrit');
    await shot(page, '05-organisation');

    await page.goto(env('CONSOLE_URL') + '#/blocks');
    await page.waitForSelector('#blocks', { timeout: WAIT });
    await shot(page, '06-lockouts');
    await page.goto(env('CONSOLE_URL') + '#/health');
    await page.waitForSelector('#health-status', { timeout: WAIT });
    result.steps.health = await page.textContent('#health-status');
    await shot(page, '07-health');

    await page.goto(env('CONSOLE_URL') + '#/activity');
    await page.waitForFunction(() => {
      const line = document.querySelector('#chart-rates path[data-series=received]');
      return line && Number(line.getAttribute('data-points')) >= 2 && document.querySelector('#chart-depth path');
    }, null, { timeout: WAIT });
    result.steps.chartPoints = Number(await page.getAttribute('#chart-rates path[data-series=received]', 'data-points'));
    result.steps.chartPath = await page.getAttribute('#chart-rates path[data-series=received]', 'd');
    await shot(page, '11-activity');

    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])', { timeout: WAIT });
    result.steps.tokenAfterLogout = await page.evaluate(() => sessionStorage.getItem('postino.token'));

    await login(page, env('ORGANISATION_TOKEN'));
    result.steps.organisationWho = await page.textContent('#who');
    await page.waitForSelector('#add-user', { timeout: WAIT });
    result.steps.organisationHome = await page.evaluate(() => location.hash);
    await page.fill('#add-user input[name=login]', 'bob@acme.test');
    await page.fill('#add-user input[name=password]', 'bob-secret-1');
    await page.click('#add-user button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#users')
      && document.querySelector('#users').textContent.includes('bob@acme.test'), null, { timeout: WAIT });
    result.steps.userAdded = 'bob@acme.test';
    result.steps.organisationAdminUsage = (await page.textContent('#usage')).includes('per hour');
    result.steps.organisationAdminWebhooks = (await page.textContent('#webhooks')).includes('acme-hook');
    if (process.env.DISABLED_USERS === 'true') {
      await page.click('[id="disable-bob@acme.test"]', { timeout: WAIT });
      await page.waitForSelector('[id="enable-bob@acme.test"]', { timeout: WAIT });
      result.steps.userDisabled = true;
      await page.click('[id="enable-bob@acme.test"]', { timeout: WAIT });
      await page.waitForSelector('[id="disable-bob@acme.test"]', { timeout: WAIT });
      result.steps.userEnabled = true;
    } else {
      result.steps.userDisableSkipped = true;
    }
    await shot(page, '08-organisation-admin');

    // Its own queues only, held and released from its own view.
    await page.goto(env('CONSOLE_URL') + '#/queues');
    await page.waitForSelector('[id="queues-acme"]', { timeout: WAIT });
    const ownQueues = await page.textContent('#page');
    result.steps.organisationAdminQueues = ownQueues.includes('outgoing.acme') && !ownQueues.includes('beta')
      && !ownQueues.includes('Shared queues');
    await page.click('[id="hold-outgoing.acme"]', { timeout: WAIT });
    await page.waitForSelector('[id="release-outgoing.acme"]', { timeout: WAIT });
    result.steps.organisationAdminHeld = true;
    await shot(page, '12-organisation-admin-queues');
    await page.click('[id="release-outgoing.acme"]', { timeout: WAIT });
    await page.waitForSelector('[id="hold-outgoing.acme"]', { timeout: WAIT });
    result.steps.organisationAdminReleased = true;

    await page.goto(env('CONSOLE_URL') + '#/organisations/beta');
    await page.waitForSelector('#error:not([hidden])', { timeout: WAIT });
    result.steps.otherOrganisation = await page.textContent('#error');
    result.steps.otherOrganisationShown = (await page.textContent('#page')).includes('beta.test');
    await shot(page, '09-other-organisation-refused');
  } finally {
    await browser.close();
  }
}

report(main, result);
