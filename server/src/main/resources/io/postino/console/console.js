// Postino's web console: plain DOM and fetch, no framework. Every value from the server is put in
// the page as text (textContent), never as HTML: tracking data holds what strangers sent.
'use strict';

const TOKEN_KEY = 'postino.token';
const state = { token: sessionStorage.getItem(TOKEN_KEY), scope: null, organisation: null };

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === 'onclick' || name === 'onsubmit') {
      node.addEventListener(name.substring(2), value);
    } else if (value !== undefined && value !== null && value !== false) {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function table(headers, rows, id) {
  return el('table', { id }, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c))))));
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls the REST API of this same server with the token; throws ApiError with the server's own message. */
async function api(method, path, body, acceptStatuses) {
  const headers = { Authorization: 'Bearer ' + state.token };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit', cache: 'no-store' });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!response.ok && !(acceptStatuses || []).includes(response.status)) {
    const message = json && json.message ? json.message : text || response.statusText;
    throw new ApiError(response.status, method + ' ' + path + ': ' + response.status + ' ' + message);
  }
  return json;
}

function show(id, text) {
  const node = document.getElementById(id);
  node.textContent = text || '';
  node.hidden = !text;
}

function notice(text) {
  show('error', '');
  show('notice', text);
}

function failure(error) {
  show('notice', '');
  show('error', error instanceof ApiError && error.status === 403 ? 'Refused (403): ' + error.message : String(error.message || error));
  if (error instanceof ApiError && error.status === 401) {
    logout();
  }
}

function pageOf(title, ...content) {
  const page = document.getElementById('page');
  page.replaceChildren(el('h2', {}, title), ...content);
  document.title = title + ' - Postino console';
}

function enc(value) {
  return encodeURIComponent(value);
}

async function action(label, run, id) {
  return el('button', { type: 'button', id, onclick: async () => {
    try {
      await run();
    } catch (error) {
      failure(error);
    }
  } }, label);
}

// --- pages -------------------------------------------------------------------------------------

async function organisationsPage() {
  const overview = await api('GET', '/organisations');
  pageOf('Organisations',
    el('p', {}, 'Loaded from ', el('code', {}, overview.file || '(embedded)'), overview.lastReload
      ? ' - last reload ' + overview.lastReload.at + (overview.lastReload.applied ? ' (applied)' : ' (refused: ' + overview.lastReload.error + ')') : ''),
    table(['id', 'name', 'domains', 'users'], overview.organisations.map((o) => [
      el('a', { href: '#/organisations/' + enc(o.id) }, o.id), o.name, o.domains.join(', '), o.users]), 'organisations'));
}

async function organisationPage(id) {
  const details = await api('GET', '/organisations/' + enc(id));
  const users = await api('GET', '/organisations/' + enc(id) + '/users');
  const suppressions = await api('GET', '/organisations/' + enc(id) + '/suppressions');
  const rerender = () => route();

  const addUser = el('form', { class: 'inline', id: 'add-user', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const login = event.target.login.value.trim();
      await api('PUT', '/users/' + enc(login), { password: event.target.password.value });
      notice('User ' + login + ' added');
      await rerender();
    } catch (error) {
      failure(error);
    }
  } }, el('input', { name: 'login', placeholder: 'alice@' + (details.domains[0] || 'example.test'), required: true }),
  el('input', { name: 'password', type: 'password', placeholder: 'password', required: true, autocomplete: 'new-password' }),
  el('button', { type: 'submit' }, 'Add user'));

  const userRows = [];
  for (const login of users) {
    userRows.push([login,
      await action('Reset password', async () => {
        const password = window.prompt('New password for ' + login);
        if (password) {
          await api('PUT', '/users/' + enc(login) + '?force', { password });
          notice('Password of ' + login + ' changed');
        }
      }),
      await action('Delete', async () => {
        if (window.confirm('Delete ' + login + '? It can no longer send.')) {
          await api('DELETE', '/users/' + enc(login));
          notice(login + ' deleted');
          await rerender();
        }
      })]);
  }

  const addSuppression = el('form', { class: 'inline', id: 'add-suppression', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const address = event.target.address.value.trim();
      const body = { reason: 'manual', detail: event.target.detail.value };
      if (event.target.expiresIn.value.trim()) {
        body.expiresIn = event.target.expiresIn.value.trim();
      }
      await api('PUT', '/organisations/' + enc(id) + '/suppressions/' + enc(address), body);
      notice(address + ' suppressed');
      await rerender();
    } catch (error) {
      failure(error);
    }
  } }, el('input', { name: 'address', placeholder: 'someone@example.net', required: true }),
  el('input', { name: 'detail', placeholder: 'why (optional)' }),
  el('input', { name: 'expiresIn', placeholder: 'expires in, e.g. 30d (optional)' }),
  el('button', { type: 'submit' }, 'Suppress'));

  const suppressionRows = [];
  for (const s of suppressions) {
    suppressionRows.push([s.address, s.reason, s.detail, s.createdAt, s.expiresAt || 'never',
      await action('Remove', async () => {
        await api('DELETE', '/organisations/' + enc(id) + '/suppressions/' + enc(s.address));
        notice(s.address + ' removed from the suppression list');
        await rerender();
      })]);
  }

  const dkim = [];
  for (const domain of details.domains) {
    dkim.push(await dkimSection(domain, rerender));
  }

  pageOf('Organisation ' + details.name + ' (' + details.id + ')',
    table(['domains', 'trusted networks', 'identity policy', 'postmaster', 'abuse'],
      [[details.domains.join(', '), details.trustedNetworks.join(', ') || 'none', details.identity.policy,
        details.postmaster || '-', details.abuse || '-']], 'organisation'),
    el('h3', {}, 'Users'), addUser, table(['login', '', ''], userRows, 'users'),
    el('h3', {}, 'Suppression list'), addSuppression,
    table(['address', 'reason', 'detail', 'since', 'expires', ''], suppressionRows, 'suppressions'),
    el('h3', {}, 'DKIM keys and the DNS records to publish'), ...dkim,
    el('h3', {}, 'Messages'), el('p', {}, el('a', { href: '#/tracking?organisation=' + enc(id) }, 'Search this organisation\'s messages')));
}

async function dkimSection(domain, rerender) {
  const keys = await api('GET', '/dkim/domains/' + enc(domain));
  const rows = [];
  for (const key of keys) {
    rows.push([key.selector, key.algorithm, key.active ? 'active' : 'not active', key.createdAt,
      el('code', {}, key.zoneLine),
      key.active ? '' : await action('Activate', async () => {
        await api('POST', '/dkim/domains/' + enc(domain) + '/keys/' + enc(key.selector) + '/activate');
        notice('Key ' + key.selector + ' of ' + domain + ' is active');
        await rerender();
      })]);
  }
  return el('div', { class: 'dkim' }, el('h4', {}, domain), rows.length
    ? table(['selector', 'algorithm', 'state', 'created', 'DNS record (zone file line)', ''], rows)
    : el('p', {}, 'No DKIM key: mail of ' + domain + ' is not signed.'),
  await action('Generate a key', async () => {
    await api('POST', '/dkim/domains/' + enc(domain) + '/keys');
    notice('New key for ' + domain + ': publish its record, then activate it');
    await rerender();
  }));
}

async function queuesPage() {
  const names = await api('GET', '/mailQueues');
  const holds = await api('GET', '/mailQueueHolds');
  const rows = [];
  for (const name of names.slice().sort()) {
    const queue = await api('GET', '/mailQueues/' + enc(name));
    const held = holds.held.includes(name);
    const buttons = [];
    if (holds.holdable.includes(name)) {
      buttons.push(await action(held ? 'Release' : 'Hold', async () => {
        await api(held ? 'DELETE' : 'PUT', '/mailQueueHolds/' + enc(name));
        notice(name + (held ? ' released' : ' held: its mail waits until released'));
        await route();
      }, (held ? 'release-' : 'hold-') + name));
    }
    buttons.push(await action('Flush', async () => {
      await api('PATCH', '/mailQueues/' + enc(name) + '/mails?delayed=true', { delayed: false });
      notice('Delayed mail of ' + name + ' is due now');
      await route();
    }, 'flush-' + name));
    buttons.push(await action('Delete all', async () => {
      if (window.confirm('Delete every mail of ' + name + '? They will not be delivered.')) {
        await api('DELETE', '/mailQueues/' + enc(name) + '/mails');
        notice('Deleting the mail of ' + name + ' (a WebAdmin task)');
        await route();
      }
    }, 'delete-' + name));
    rows.push([el('a', { href: '#/queues/' + enc(name) }, name), queue.size, el('span', { class: held ? 'held' : '' }, held ? 'on hold' : ''),
      el('span', {}, buttons)]);
  }
  pageOf('Queues', el('p', {}, 'Per-organisation queues are named ', el('code', {}, 'outgoing.<organisation>'), ' and ',
    el('code', {}, 'spool.<organisation>'), '. A held queue keeps accepting mail and delivers none until released.'),
  table(['queue', 'mails', 'hold', ''], rows, 'queues'));
}

async function queuePage(name) {
  const mails = await api('GET', '/mailQueues/' + enc(name) + '/mails?limit=100');
  const rows = [];
  for (const mail of mails) {
    const recipients = mail.recipients || [];
    rows.push([el('span', { class: 'mono' }, mail.name), mail.sender || '<>', recipients.join(', '), mail.nextDelivery || 'now',
      await action('Delete', async () => {
        await api('DELETE', '/mailQueues/' + enc(name) + '/mails?name=' + enc(mail.name));
        notice('Deleting ' + mail.name);
        await route();
      })]);
  }
  pageOf('Queue ' + name, el('p', {}, el('a', { href: '#/queues' }, 'All queues'), ' - the first 100 mails'),
    table(['mail', 'sender', 'recipients', 'next attempt', ''], rows, 'queue-mails'));
}

async function trackingPage(query) {
  const form = el('form', { class: 'inline', id: 'tracking-form', onsubmit: (event) => {
    event.preventDefault();
    const parameters = new URLSearchParams();
    for (const field of ['recipient', 'sender', 'organisation', 'status']) {
      const value = event.target[field].value.trim();
      if (value) {
        parameters.set(field, value);
      }
    }
    location.hash = '#/tracking?' + parameters.toString();
  } },
  el('input', { name: 'recipient', placeholder: 'recipient', value: query.get('recipient') || '' }),
  el('input', { name: 'sender', placeholder: 'sender', value: query.get('sender') || '' }),
  el('input', { name: 'organisation', placeholder: 'organisation', value: query.get('organisation') || state.organisation || '',
    readonly: state.organisation ? true : null }),
  el('input', { name: 'status', placeholder: 'status (delivered, deferred, ...)', value: query.get('status') || '' }),
  el('button', { type: 'submit' }, 'Search'));
  const content = [form];
  if ([...query.keys()].length > 0) {
    const parameters = new URLSearchParams(query);
    if (state.organisation) {
      parameters.set('organisation', state.organisation);
    }
    const result = await api('GET', '/tracking?' + parameters.toString());
    content.push(table(['message', 'organisation', 'sender', 'status', 'timeline'], result.messages.map((m) => [
      el('span', { class: 'mono' }, m.messageId || m.mailId), m.organisation || '-', m.sender || '<>',
      el('span', { class: 'status-' + m.status }, m.status),
      el('ol', { class: 'timeline' }, m.events.map((e) => el('li', {}, e.at + ' ' + e.type
        + (e.recipient ? ' ' + e.recipient : '') + (e.remoteHost ? ' via ' + e.remoteHost : '') + (e.reply ? ': ' + e.reply : ''))))]),
    'tracking'));
    if (result.messages.length === 0) {
      content.push(el('p', {}, 'No message found.'));
    }
  }
  pageOf('Message tracking', ...content);
}

async function blocksPage() {
  const blocks = await api('GET', '/authentication/blocks');
  const rows = [];
  for (const block of blocks) {
    rows.push([block.client, block.login || '(every login)', block.failures, block.until, block.reason,
      await action('Clear', async () => {
        await api('DELETE', '/authentication/blocks?client=' + enc(block.client) + (block.login ? '&login=' + enc(block.login) : ''));
        notice('Cleared ' + block.client);
        await route();
      })]);
  }
  pageOf('Lockouts', el('p', {}, 'SMTP clients and logins slowed down or blocked after failed AUTH attempts.'),
    rows.length ? table(['client', 'login', 'failures', 'until', 'reason', ''], rows, 'blocks') : el('p', { id: 'blocks' }, 'No lockout.'));
}

async function healthPage() {
  const health = await api('GET', '/healthcheck', undefined, [503]);
  pageOf('Health', el('p', { id: 'health-status' }, 'Overall: ', el('span', { class: 'status-' + health.status }, health.status)),
    table(['component', 'status', 'cause'], health.checks.map((c) => [c.componentName,
      el('span', { class: 'status-' + c.status }, c.status), c.cause || ''])));
}

// --- navigation --------------------------------------------------------------------------------

function navigation() {
  const links = state.organisation
    ? [['#/organisations/' + enc(state.organisation), 'My organisation'], ['#/tracking', 'Messages']]
    : [['#/organisations', 'Organisations'], ['#/queues', 'Queues'], ['#/tracking', 'Messages'], ['#/blocks', 'Lockouts'],
      ['#/health', 'Health']];
  const nav = document.getElementById('nav');
  nav.replaceChildren(...links.map(([href, label]) => el('a', { href, class: location.hash.startsWith(href) ? 'current' : null }, label)));
  nav.hidden = false;
}

async function route() {
  const hash = location.hash || '';
  const [path, search] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter((p) => p).map(decodeURIComponent);
  navigation();
  try {
    if (parts[0] === 'organisations' && parts[1]) {
      await organisationPage(parts[1]);
    } else if (parts[0] === 'organisations' || (!parts[0] && !state.organisation)) {
      await organisationsPage();
    } else if (!parts[0]) {
      location.hash = '#/organisations/' + enc(state.organisation);
      return;
    } else if (parts[0] === 'queues' && parts[1]) {
      await queuePage(parts[1]);
    } else if (parts[0] === 'queues') {
      await queuesPage();
    } else if (parts[0] === 'tracking') {
      await trackingPage(new URLSearchParams(search || ''));
    } else if (parts[0] === 'blocks') {
      await blocksPage();
    } else if (parts[0] === 'health') {
      await healthPage();
    } else {
      pageOf('Not found', el('p', {}, 'No such page: ' + hash));
    }
    document.body.dataset.page = parts[0] || 'home';
  } catch (error) {
    pageOf('Cannot show this page');
    failure(error);
  }
}

/** @param fresh a login from the form: start from the home page of the token's view */
async function login(token, fresh) {
  state.token = token;
  try {
    const who = await api('GET', '/whoami');
    state.scope = who.scope;
    state.organisation = who.organisation || null;
  } catch (error) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    document.getElementById('login').hidden = false;
    failure(error.status === 401 ? new Error('This token is unknown or revoked') : error);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  document.getElementById('login').hidden = true;
  document.getElementById('logout').hidden = false;
  show('who', state.organisation ? 'Admin of organisation ' + state.organisation : 'Operator');
  show('error', '');
  if (fresh && location.hash) {
    history.replaceState(null, '', location.pathname + location.search);
  }
  await route();
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.organisation = null;
  document.getElementById('page').replaceChildren();
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  show('who', '');
  document.getElementById('login').hidden = false;
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    login(document.getElementById('token').value.trim(), true);
  });
  document.getElementById('logout').addEventListener('click', () => {
    logout();
    show('notice', '');
  });
  window.addEventListener('hashchange', () => {
    show('notice', '');
    show('error', '');
    if (state.token) {
      route();
    }
  });
  if (state.token) {
    login(state.token);
  } else {
    logout();
  }
});
