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

/** The page being drawn: a new one aborts the reads of the one before, whose late answer never draws over it. */
let drawing = new AbortController();

function superseded(error) {
  return error && error.name === 'AbortError';
}

/**
 * Calls the REST API of this same server with the token; throws ApiError with the server's own
 * message. A read (GET) belongs to the page being drawn and is aborted when another is asked for;
 * a change (PUT, POST, DELETE) is never aborted.
 */
async function api(method, path, body, acceptStatuses) {
  const headers = { Authorization: 'Bearer ' + state.token };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const signal = method === 'GET' ? drawing.signal : undefined;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit', cache: 'no-store', signal });
  const text = await response.text();
  if (signal && signal.aborted) {
    throw new DOMException('another page was asked for', 'AbortError');
  }
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
      if (!superseded(error)) {
        failure(error);
      }
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
  for (const user of users) {
    // GET /organisations/{id}/users: logins, or {login, disabled} once the server keeps disabled users.
    const login = typeof user === 'string' ? user : user.login;
    const disabled = typeof user === 'object' && user.disabled === true;
    userRows.push([login, el('span', { class: disabled ? 'held' : '' }, disabled ? 'disabled' : 'active'),
      await action('Reset password', async () => {
        const password = window.prompt('New password for ' + login);
        if (password) {
          await api('PUT', '/users/' + enc(login) + '?force', { password });
          notice('Password of ' + login + ' changed');
        }
      }),
      typeof user !== 'object' ? '' : await action(disabled ? 'Enable' : 'Disable', async () => {
        await api(disabled ? 'DELETE' : 'PUT', '/disabledUsers/' + enc(login));
        notice(login + (disabled ? ' enabled: it can send again' : ' disabled: it can no longer log in to send'));
        await rerender();
      }, (disabled ? 'enable-' : 'disable-') + login),
      await action('Limits', async () => {
        const usage = await api('GET', '/ratelimits/users/' + enc(login));
        document.getElementById('user-usage').replaceChildren(el('h4', {}, 'Rate limits of ' + login), usageTable(usage, 'user-usage-table'));
      }, 'usage-' + login),
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
  const usage = await api('GET', '/ratelimits/organisations/' + enc(id)).catch((error) => error);
  const webhooks = await api('GET', '/organisations/' + enc(id) + '/webhooks').catch((error) => error);

  pageOf('Organisation ' + details.name + ' (' + details.id + ')',
    table(['domains', 'trusted networks', 'identity policy', 'postmaster', 'abuse'],
      [[details.domains.join(', '), details.trustedNetworks.join(', ') || 'none', details.identity.policy,
        details.postmaster || '-', details.abuse || '-']], 'organisation'),
    el('h3', {}, 'Users'), addUser, table(['login', 'state', '', '', '', ''], userRows, 'users'), el('div', { id: 'user-usage' }),
    el('h3', {}, 'Rate-limit usage'), usage instanceof Error ? el('p', { id: 'usage' }, usage.message) : usageTable(usage, 'usage'),
    el('h3', {}, 'Suppression list'), addSuppression,
    table(['address', 'reason', 'detail', 'since', 'expires', ''], suppressionRows, 'suppressions'),
    el('h3', {}, 'DKIM keys and the DNS records to publish'), ...dkim,
    el('h3', {}, 'Webhooks'), webhooks instanceof Error ? el('p', { id: 'webhooks' }, webhooks.message) : webhooksTable(webhooks),
    el('h3', {}, 'Messages'), el('p', {}, el('a', { href: '#/tracking?organisation=' + enc(id) }, 'Search this organisation\'s messages')));
}

function usageTable(usage, id) {
  if (!usage.limits || usage.limits.length === 0) {
    return el('p', { id }, 'No rate limit applies (organisations.xml <limits>).');
  }
  return table(['limit', 'used', 'available', 'next in'], usage.limits.map((l) => [
    l.limit + ' ' + l.unit + ' per ' + l.period + ' (' + l.scope + ')',
    el('span', { class: l.available === 0 ? 'status-rejected' : '' }, l.used), l.available,
    l.available === 0 ? l.nextAvailableInSeconds + ' s' : '-']), id);
}

function webhooksTable(sinks) {
  if (sinks.length === 0) {
    return el('p', { id: 'webhooks' }, 'No event sink receives this organisation\'s events (conf/eventsinks.xml).');
  }
  return table(['name', 'kind', 'URL', 'events', 'last success', 'last failure', 'waiting', 'dead'], sinks.map((s) => {
    const d = s.delivery || {};
    return [s.name, s.kind + (s.allOrganisations ? ' (every organisation)' : ''), el('code', {}, s.url || '-'),
      s.types.length ? s.types.join(', ') : 'all', d.lastSuccess || '-',
      d.lastFailure ? el('span', { class: 'status-bounced' }, d.lastFailure + ' ' + (d.lastError || '')) : '-',
      s.delivery ? d.pending : '-', s.delivery ? d.dead : '-'];
  }), 'webhooks');
}

const DNS_STATES = { published: 'published', different: 'another record is there', missing: 'not published',
  unknown: 'DNS did not answer' };

async function dkimSection(domain, rerender) {
  const keys = await api('GET', '/dkim/domains/' + enc(domain));
  const rows = [];
  for (const key of keys) {
    rows.push([key.selector, key.algorithm, key.active ? 'active' : 'not active', key.createdAt,
      el('code', {}, key.zoneLine),
      el('span', { class: 'dns-' + key.dns, title: key.dnsFound || '' }, DNS_STATES[key.dns] || key.dns || '?'),
      key.active ? '' : await action('Activate', async () => {
        await api('POST', '/dkim/domains/' + enc(domain) + '/keys/' + enc(key.selector) + '/activate');
        notice('Key ' + key.selector + ' of ' + domain + ' is active');
        await rerender();
      })]);
  }
  return el('div', { class: 'dkim' }, el('h4', {}, domain), rows.length
    ? table(['selector', 'algorithm', 'state', 'created', 'DNS record (zone file line)', 'in DNS now', ''], rows)
    : el('p', {}, 'No DKIM key: mail of ' + domain + ' is not signed.'),
  await action('Generate a key', async () => {
    await api('POST', '/dkim/domains/' + enc(domain) + '/keys');
    notice('New key for ' + domain + ': publish its record, then activate it');
    await rerender();
  }));
}

function age(seconds) {
  if (seconds === undefined || seconds === null) {
    return '-';
  }
  return seconds < 120 ? seconds + ' s' : seconds < 7200 ? Math.round(seconds / 60) + ' min' : Math.round(seconds / 3600) + ' h';
}

/** Every queue of the server, grouped by organisation (null: the shared ones), from GET /mailQueueSummary. */
async function queuesPage() {
  // An organisation's admin sees its own queues (spool.<id>, outgoing.<id>); destination holds are the operator's.
  const own = state.organisation;
  const summary = await api('GET', '/mailQueueSummary' + (own ? '?organisation=' + enc(own) : ''));
  const holds = own ? {} : await api('GET', '/mailQueueHolds');
  const heldDomains = new Set(holds.heldDomains || []);
  const heldRoutes = new Set(holds.heldRoutes || []);
  const groups = new Map();
  for (const queue of summary.queues) {
    const key = queue.organisation || '';
    groups.set(key, (groups.get(key) || []).concat([queue]));
  }
  const content = [el('p', {}, 'Per-organisation queues are named ', el('code', {}, 'spool.<organisation>'), ' (being processed) and ',
    el('code', {}, 'outgoing.<organisation>'), ' (being delivered). A held queue keeps accepting mail and delivers none until released;',
    ' flushing makes delayed mail due now. A held destination domain or route keeps every organisation\'s mail to it waiting',
    ' (a whole mail waits when one of its recipients is held); deleting can also choose a destination domain or a route.'),
  ];
  if (!own) {
    content.push(bulkDeleteForm(), heldDestinations(heldDomains, heldRoutes));
  }
  for (const [organisation, queues] of [...groups.entries()].sort()) {
    content.push(el('h3', {}, organisation ? 'Organisation ' + organisation : 'Shared queues'));
    if (organisation) {
      content.push(await organisationQueueActions(organisation, queues));
    }
    const rows = [];
    for (const queue of queues) {
      rows.push([el('a', { href: '#/queues/' + enc(queue.name) }, queue.name), queue.size, queue.size ? age(queue.oldestAgeSeconds) : '-',
        el('span', { class: queue.held ? 'held' : '' }, queue.held ? 'on hold' : ''),
        destinationList(organisation, queue, heldDomains, heldRoutes), el('span', {}, await queueActions(queue))]);
    }
    content.push(table(['queue', 'mails', 'oldest', 'hold', 'destinations (recipient domain, route: mails)', ''], rows,
      organisation ? 'queues-' + organisation : 'queues-shared'));
  }
  content.push(el('p', { id: 'queues' }, summary.queues.length + ' queues.'));
  pageOf('Queues', ...content);
}

function destinationList(organisation, queue, heldDomains, heldRoutes) {
  if (queue.destinations.length === 0) {
    return '-';
  }
  const prefix = (organisation || '') + '-';
  return el('ul', { class: 'destinations' }, queue.destinations.map((d) => el('li', {},
    d.domain + (d.route ? ' via ' + d.route : '') + ': ' + d.mails + ' (oldest ' + age(d.oldestAgeSeconds) + ') ',
    heldDomains.has(d.domain) ? el('span', { class: 'held' }, 'domain on hold ') : '',
    d.route && heldRoutes.has(d.route) ? el('span', { class: 'held' }, 'route on hold ') : '',
    el('button', { type: 'button', class: 'small', id: 'delete-domain-' + prefix + d.domain, onclick: () =>
      bulkDelete({ organisation, domain: d.domain }, 'the mail of ' + (organisation || 'every organisation') + ' to ' + d.domain) },
    'Delete'), ' ',
    state.organisation ? '' : destinationHoldButton('domain', d.domain, heldDomains.has(d.domain), prefix),
    d.route && !state.organisation ? ' ' : '',
    d.route && !state.organisation ? destinationHoldButton('route', d.route, heldRoutes.has(d.route), prefix) : '')));
}

/** Hold or release a recipient domain or a route (PUT|DELETE /mailQueueHolds/domains|routes/NAME), for every organisation. */
function destinationHoldButton(kind, name, held, prefix) {
  return el('button', { type: 'button', class: 'small', id: (held ? 'release-' : 'hold-') + kind + '-' + prefix + name, onclick: async () => {
    try {
      await api(held ? 'DELETE' : 'PUT', '/mailQueueHolds/' + kind + 's/' + enc(name));
      notice(kind + ' ' + name + (held ? ' released: its waiting mail is due now' : ' held: mail to it waits until released'));
      await route();
    } catch (error) {
      failure(error);
    }
  } }, (held ? 'Release ' : 'Hold ') + kind);
}

/** The held domains and routes, each with its Release button, mail queued for them or not. */
function heldDestinations(heldDomains, heldRoutes) {
  const held = [...heldDomains].map((d) => ['domain', d]).concat([...heldRoutes].map((r) => ['route', r]));
  return el('p', { id: 'held-destinations' }, held.length === 0 ? 'No destination domain or route is on hold.'
    : ['On hold: '].concat(held.flatMap(([kind, name]) => [kind + ' ' + name + ' ', destinationHoldButton(kind, name, true, 'held-'), ' '])));
}

async function queueActions(queue) {
  const buttons = [];
  if (queue.holdable) {
    buttons.push(await action(queue.held ? 'Release' : 'Hold', async () => {
      await api(queue.held ? 'DELETE' : 'PUT', '/mailQueueHolds/' + enc(queue.name));
      notice(queue.name + (queue.held ? ' released' : ' held: its mail waits until released'));
      await route();
    }, (queue.held ? 'release-' : 'hold-') + queue.name));
  }
  buttons.push(await action('Flush', async () => {
    await flush(queue.name);
    notice('Delayed mail of ' + queue.name + ' is due now');
    await route();
  }, 'flush-' + queue.name));
  buttons.push(await action('Delete all', async () => {
    if (window.confirm('Delete every mail of ' + queue.name + '? They will not be delivered.')) {
      await api('DELETE', '/mailQueues/' + enc(queue.name) + '/mails');
      notice('Deleting the mail of ' + queue.name + ' (a WebAdmin task)');
      await route();
    }
  }, 'delete-' + queue.name));
  return buttons;
}

function flush(name) {
  return api('PATCH', '/mailQueues/' + enc(name) + '/mails?delayed=true', { delayed: false });
}

/** Hold, release, flush or delete every queue of one organisation at once. */
async function organisationQueueActions(organisation, queues) {
  const holdable = queues.filter((q) => q.holdable);
  const each = async (verb, run) => {
    for (const queue of holdable) {
      await run(queue);
    }
    notice(verb + ' ' + holdable.map((q) => q.name).join(', '));
    await route();
  };
  return el('p', { class: 'bulk' },
    await action('Hold all', () => each('Held', (q) => q.held ? null : api('PUT', '/mailQueueHolds/' + enc(q.name))), 'hold-org-' + organisation),
    await action('Release all', () => each('Released', (q) => q.held ? api('DELETE', '/mailQueueHolds/' + enc(q.name)) : null),
      'release-org-' + organisation),
    await action('Flush all', () => each('Flushed', (q) => flush(q.name)), 'flush-org-' + organisation),
    await action('Delete all', () => bulkDelete({ organisation }, 'every mail of ' + organisation), 'delete-org-' + organisation));
}

async function bulkDelete(filter, what) {
  try {
    if (!window.confirm('Delete ' + what + '? It will not be delivered.')) {
      return;
    }
    const parameters = new URLSearchParams();
    for (const [name, value] of Object.entries(filter)) {
      if (value !== undefined && value !== null) {
        parameters.set(name, value);
      }
    }
    const result = await api('DELETE', '/mailQueueSummary/mails?' + parameters.toString());
    await route();
    notice(result.removed + ' mails deleted (' + what + ')');
  } catch (error) {
    failure(error);
  }
}

function bulkDeleteForm() {
  return el('form', { class: 'inline', id: 'bulk-delete', onsubmit: (event) => {
    event.preventDefault();
    const filter = {};
    for (const field of ['organisation', 'domain', 'route']) {
      const value = event.target[field].value.trim();
      if (value) {
        filter[field] = value;
      }
    }
    bulkDelete(filter, 'the queued mail of ' + JSON.stringify(filter));
  } }, el('input', { name: 'organisation', placeholder: 'organisation' }), el('input', { name: 'domain', placeholder: 'recipient domain' }),
  el('input', { name: 'route', placeholder: 'route' }), el('button', { type: 'submit' }, 'Delete matching mail'));
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

// --- activity chart ----------------------------------------------------------------------------

const SAMPLE_EVERY = 3000;
const SAMPLES_KEPT = 200; // 10 minutes
const samples = [];
let sampler = null;

/** Totals of the Prometheus text format: messages received and delivered (per recipient), mails in the queues. */
function parseMetrics(text) {
  const totals = { at: Date.now(), received: 0, delivered: 0, depth: 0 };
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith('#')) {
      continue;
    }
    const value = Number(m[3]);
    const labels = m[2] || '';
    if (m[1] === 'postino_messages_total' && labels.includes('event="received"')) {
      totals.received += value;
    } else if (m[1] === 'postino_messages_total' && labels.includes('event="delivered"')) {
      totals.delivered += value;
    } else if (m[1] === 'postino_queue_depth') {
      totals.depth += value;
    }
  }
  return totals;
}

async function sample() {
  try {
    const response = await fetch('/metrics', { headers: { Authorization: 'Bearer ' + state.token }, credentials: 'omit', cache: 'no-store' });
    if (!response.ok) {
      return;
    }
    samples.push(parseMetrics(await response.text()));
    samples.splice(0, Math.max(0, samples.length - SAMPLES_KEPT));
    if (document.body.dataset.page === 'activity') {
      drawActivity();
    }
  } catch (error) {
    // A missed sample leaves a gap in the chart; the next one tries again.
  }
}

function startSampling() {
  if (!sampler) {
    sample();
    sampler = setInterval(sample, SAMPLE_EVERY);
  }
}

function stopSampling() {
  clearInterval(sampler);
  sampler = null;
  samples.length = 0;
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, String(value));
  }
  children.forEach((child) => node.append(child));
  return node;
}

/** A line chart of the series (arrays of {at, value}), the same scale for all, time on the x axis. */
function lineChart(id, series, unit) {
  const width = 640;
  const height = 160;
  const left = 44;
  const all = series.flatMap((s) => s.points);
  const max = Math.max(1, ...all.map((p) => p.value));
  const first = all.length ? Math.min(...all.map((p) => p.at)) : Date.now();
  const last = all.length ? Math.max(...all.map((p) => p.at)) : first + 1;
  const x = (at) => left + (width - left - 8) * (last === first ? 1 : (at - first) / (last - first));
  const y = (value) => height - 18 - (height - 30) * (value / max);
  const chart = svg('svg', { id, width, height, viewBox: '0 0 ' + width + ' ' + height, class: 'chart', role: 'img' },
    svg('line', { x1: left, y1: y(0), x2: width - 8, y2: y(0), stroke: '#999' }),
    svg('line', { x1: left, y1: y(0), x2: left, y2: y(max), stroke: '#999' }),
    svg('text', { x: 2, y: y(max) + 4, 'font-size': 11 }, document.createTextNode(formatNumber(max))),
    svg('text', { x: 2, y: y(0) + 4, 'font-size': 11 }, document.createTextNode('0')),
    svg('text', { x: left, y: height - 3, 'font-size': 11 },
      document.createTextNode(all.length ? Math.round((last - first) / 1000) + ' s shown, ' + unit : 'waiting for samples')));
  series.forEach((s, index) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, i) => (i ? 'L' : 'M') + x(p.at).toFixed(1) + ' ' + y(p.value).toFixed(1)).join(' ');
      chart.append(svg('path', { d, fill: 'none', stroke: s.colour, 'stroke-width': 2, 'data-series': s.name, 'data-points': s.points.length }));
    }
    chart.append(svg('text', { x: width - 180, y: 14 + 14 * index, 'font-size': 12, fill: s.colour },
      document.createTextNode(s.name + ': ' + (s.points.length ? formatNumber(s.points[s.points.length - 1].value) : '-'))));
  });
  return chart;
}

function formatNumber(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function drawActivity() {
  const rates = { received: [], delivered: [] };
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].at - samples[i - 1].at) / 1000;
    for (const name of ['received', 'delivered']) {
      // A restart of the server resets its counters: no negative rate.
      rates[name].push({ at: samples[i].at, value: Math.max(0, samples[i][name] - samples[i - 1][name]) / seconds });
    }
  }
  const holder = document.getElementById('activity');
  if (holder) {
    holder.replaceChildren(
      el('h3', {}, 'Messages per second (per recipient)'),
      lineChart('chart-rates', [{ name: 'received', colour: '#23395d', points: rates.received },
        { name: 'delivered', colour: '#171', points: rates.delivered }], 'sampled every ' + SAMPLE_EVERY / 1000 + ' s'),
      el('h3', {}, 'Mails in the queues'),
      lineChart('chart-depth', [{ name: 'queued', colour: '#a60', points: samples.map((p) => ({ at: p.at, value: p.depth })) }],
        'sampled every ' + SAMPLE_EVERY / 1000 + ' s'));
  }
}

async function activityPage() {
  pageOf('Activity', el('p', {}, 'From this server\'s ', el('code', {}, '/metrics'), ', sampled every ', SAMPLE_EVERY / 1000,
    ' s while the console is open (the last ', SAMPLES_KEPT * SAMPLE_EVERY / 60000, ' minutes).'), el('div', { id: 'activity' }));
  startSampling();
  drawActivity();
}

// --- navigation --------------------------------------------------------------------------------

function navigation() {
  const links = state.organisation
    ? [['#/organisations/' + enc(state.organisation), 'My organisation'], ['#/queues', 'Queues'], ['#/tracking', 'Messages']]
    : [['#/organisations', 'Organisations'], ['#/queues', 'Queues'], ['#/activity', 'Activity'], ['#/tracking', 'Messages'],
      ['#/blocks', 'Lockouts'], ['#/health', 'Health']];
  const nav = document.getElementById('nav');
  nav.replaceChildren(...links.map(([href, label]) => el('a', { href, class: location.hash.startsWith(href) ? 'current' : null }, label)));
  nav.hidden = false;
}

async function route() {
  drawing.abort();
  drawing = new AbortController();
  const mine = drawing;
  // Until the page asked for is drawn, data-page names the one before; data-loading says so.
  document.body.dataset.loading = '';
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
    } else if (parts[0] === 'activity' && !state.organisation) {
      await activityPage();
    } else {
      pageOf('Not found', el('p', {}, 'No such page: ' + hash));
    }
    document.body.dataset.page = parts[0] || 'home';
  } catch (error) {
    if (mine !== drawing || superseded(error)) {
      return;
    }
    pageOf('Cannot show this page');
    failure(error);
  }
  if (mine === drawing) {
    delete document.body.dataset.loading;
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
  if (!state.organisation) {
    startSampling();
  }
  if (fresh && location.hash) {
    history.replaceState(null, '', location.pathname + location.search);
  }
  await route();
}

function logout() {
  stopSampling();
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
