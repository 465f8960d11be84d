// The dashboard: polls the JSON API every 2 s and calls it for each action. No build step.
import { renderDoctor } from './doctor-panel.js';
import { renderPlots } from './plots.js';

const pollMs = 2_000;
let last;
let clockOffset = 0;

const $ = (selector, root = document) => root.querySelector(selector);

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response
    .json()
    .catch(() => ({ error: { code: 'bad-response', message: response.statusText } }));
  if (!response.ok)
    throw Object.assign(new Error(data.error?.message ?? response.statusText), data.error ?? {});
  return data;
}

function countdown(until) {
  if (!until) return '—';
  let seconds = Math.max(0, Math.round((until - (Date.now() + clockOffset)) / 1000));
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  return `${hours}h ${String(minutes).padStart(2, '0')}m ${String(seconds).padStart(2, '0')}s`;
}

function fact(list, term, value, className) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  if (className) dd.className = className;
  list.append(dt, dd);
}

function renderCard(card) {
  const element = $(`[data-card="${card.name}"]`);
  element.dataset.status = card.status;
  const facts = $('.facts', element);
  facts.replaceChildren();
  fact(facts, 'status', card.status, `status ${card.status}`);
  fact(facts, 'target', card.target);
  fact(facts, 'auth', card.auth);
  fact(facts, 'latency', card.lastLatencyMs === undefined ? '—' : `${card.lastLatencyMs} ms`);
  fact(facts, 'backend', card.backend ?? '—', 'backend');
  fact(facts, 'identity', card.identity ?? '—');
  fact(facts, 'token expires in', countdown(card.tokenExpiresAt), 'expiry');
  for (const [key, value] of Object.entries(card.notes)) fact(facts, key, String(value));
  if (card.lastError) {
    const when = new Date(card.lastError.at).toLocaleTimeString();
    fact(facts, 'last error', `${when} [${card.lastError.code}] ${card.lastError.message}`, 'error');
    if (card.lastError.hint) fact(facts, 'hint', card.lastError.hint, 'hint');
  }
}

function render(status) {
  last = status;
  clockOffset = status.now - Date.now();
  $('#summary').textContent =
    `${status.mode} mode · ${status.ready ? 'every connector answered' : 'waiting for first answers…'} · identity ${status.identity}`;
  $('#backend-label').textContent = status.backend;
  $('#backend').value = status.backend;
  const local = status.mode === 'local';
  $('#backend-switch').hidden = !local;
  $('#local-actions').hidden = !local;
  const outage = $('#outage');
  outage.hidden = !status.outageUntil;
  outage.textContent = status.outageUntil
    ? `identity endpoint down for ${countdown(status.outageUntil).replace(/^0h 00m /, '')} more — cards keep working from cached tokens`
    : '';
  for (const card of status.cards) renderCard(card);
}

async function poll() {
  try {
    const [status, metrics] = await Promise.all([api('GET', '/api/status'), api('GET', '/api/metrics')]);
    render(status);
    renderPlots(metrics);
  } catch (error) {
    $('#summary').textContent = `the demo server did not answer: ${error.message}`;
  }
}

async function runDoctor() {
  const button = $('#doctor-run');
  button.disabled = true;
  renderDoctor({ status: 'running', startedAt: Date.now() });
  try {
    renderDoctor(await api('POST', '/api/doctor'));
  } catch (error) {
    renderDoctor({
      status: 'failed',
      startedAt: Date.now(),
      finishedAt: Date.now(),
      error: { code: error.code ?? 'error', message: error.message, hint: error.hint },
    });
  } finally {
    button.disabled = false;
  }
}

$('#doctor-run').addEventListener('click', runDoctor);
// A run the server started (at start-up, or from another tab) shows when the page opens.
api('GET', '/api/doctor')
  .then(renderDoctor)
  .catch(() => {});

function show(target, data) {
  target.textContent = JSON.stringify(data, null, 2);
  target.classList.toggle('failed', Boolean(data?.error));
}

const actions = {
  'blob-upload': [
    'blob',
    () => api('POST', '/api/blob/upload', { name: 'from-the-page.txt', content: $('#blob-content').value }),
  ],
  'blob-download': [
    'blob',
    () =>
      api('GET', '/api/blob/download?name=from-the-page.txt').catch(() =>
        api('GET', '/api/blob/download?name=hello.txt'),
      ),
  ],
  'keyvault-secret': ['keyvault', () => api('GET', '/api/keyvault/secret')],
  'sql-whoami': ['sql', () => api('GET', '/api/sql/whoami')],
  'postgres-query': ['postgres', () => api('GET', '/api/postgres/query')],
  'redis-incr': ['redis', () => api('POST', '/api/redis/incr')],
  'rotate-postgres': ['local', () => api('POST', '/api/local/rotate-postgres')],
  'rotate-redis': ['local', () => api('POST', '/api/local/rotate-redis')],
  'identity-outage': ['local', () => api('POST', '/api/local/identity-outage', { durationMs: 60_000 })],
};

document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const [where, run] = actions[button.dataset.action];
  const target = where === 'local' ? $('#local-result') : $(`[data-testid="result-${where}"]`);
  button.disabled = true;
  target.textContent = '…';
  try {
    const data = await run();
    if (where === 'local') target.textContent = `${button.textContent}: done`;
    else show(target, data);
  } catch (error) {
    const data = { error: { code: error.code, message: error.message, hint: error.hint } };
    if (where === 'local') target.textContent = `${button.textContent}: failed — ${error.message}`;
    else show(target, data);
  } finally {
    button.disabled = false;
    poll();
  }
});

$('#backend').addEventListener('change', async (event) => {
  const select = event.target;
  select.disabled = true;
  try {
    await api('POST', '/api/backend', { backend: select.value });
  } catch (error) {
    $('#local-result').textContent = `switching the backend failed — ${error.message}`;
  } finally {
    select.disabled = false;
    poll();
  }
});

// The countdowns tick every second between polls.
setInterval(() => last && render(last), 1_000);
setInterval(poll, pollMs);
poll();
