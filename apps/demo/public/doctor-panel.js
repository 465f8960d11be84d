// The doctor panel: runs `keyless doctor` for the app's running configuration on the server
// (POST /api/doctor) and shows its report — status per resource, then each failure's cause and
// fix. The report holds ids, claims and timings only; never a token or a secret.

const $ = (selector, root = document) => root.querySelector(selector);

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
}

function failureBlock(title, failure) {
  const block = document.createElement('div');
  block.className = 'doctor-failure';
  block.dataset.code = failure.code;
  const heading = document.createElement('strong');
  heading.textContent = `${title}: ${failure.code}`;
  const lines = document.createElement('pre');
  lines.textContent = [
    `cause: ${failure.cause}`,
    ...failure.fix.map((fix) => `fix:   ${fix}`),
    ...failure.notes.map((note) => `note:  ${note}`),
  ].join('\n');
  block.append(heading, lines);
  return block;
}

function renderReport(report) {
  const fragment = document.createDocumentFragment();
  const summary = document.createElement('p');
  summary.className = report.ok ? 'doctor-ok' : 'doctor-bad';
  summary.dataset.testid = 'doctor-verdict';
  summary.textContent = `${report.ok ? 'everything needed works' : 'something needs fixing'} · host ${report.host.kind} (${report.host.status}) · ${report.identity.backend} · ${report.identity.selector}${report.identity.objectId ? ` · object id ${report.identity.objectId}` : ''}`;
  fragment.append(summary);

  const table = document.createElement('table');
  table.className = 'doctor-table';
  const head = document.createElement('tr');
  for (const title of ['resource', 'target', 'token', 'probe', 'status']) {
    const th = document.createElement('th');
    th.textContent = title;
    head.append(th);
  }
  table.append(head);
  for (const resource of report.resources) {
    const row = document.createElement('tr');
    row.dataset.resource = resource.resource;
    cell(row, resource.mode ? `${resource.resource} (${resource.mode})` : resource.resource);
    cell(row, resource.target);
    cell(
      row,
      `${resource.token.status}${resource.token.latencyMs !== undefined ? ` ${Math.round(resource.token.latencyMs)} ms` : ''}`,
    );
    cell(row, `${resource.probe.operation}: ${resource.probe.status}`);
    cell(row, resource.status, `doctor-status ${resource.status}`);
    table.append(row);
  }
  for (const clock of report.clock) {
    const row = document.createElement('tr');
    row.dataset.clock = clock.source;
    cell(row, `clock vs ${clock.source}`);
    cell(row, clock.url);
    cell(row, '');
    cell(row, clock.skewSeconds === undefined ? '—' : `${clock.skewSeconds.toFixed(1)} s`);
    cell(row, clock.status, `doctor-status ${clock.status}`);
    table.append(row);
  }
  fragment.append(table);

  const failures = [
    ...(report.host.failure ? [['host', report.host.failure]] : []),
    ...report.configuration.map((failure) => ['configuration', failure]),
    ...report.clock.filter((clock) => clock.failure).map((clock) => [`clock ${clock.source}`, clock.failure]),
    ...report.resources.flatMap((resource) => [
      ...(resource.token.failure ? [[`${resource.resource} token`, resource.token.failure]] : []),
      ...(resource.probe.failure && resource.probe.failure.code !== 'skipped'
        ? [[`${resource.resource} probe`, resource.probe.failure]]
        : []),
    ]),
  ];
  for (const [title, failure] of failures) fragment.append(failureBlock(title, failure));
  return fragment;
}

export function renderDoctor(state) {
  const panel = $('#doctor');
  panel.dataset.state = state.status;
  const line = $('#doctor-status');
  const output = $('#doctor-report');
  if (state.status === 'idle') {
    line.textContent =
      'not run yet — the doctor checks the host, the identity, a token and a read-only probe per resource';
    output.replaceChildren();
    return;
  }
  if (state.status === 'running') {
    line.textContent = `running since ${new Date(state.startedAt).toLocaleTimeString()}…`;
    return;
  }
  const when = new Date(state.finishedAt).toLocaleTimeString();
  const took = ((state.finishedAt - state.startedAt) / 1000).toFixed(1);
  if (state.status === 'failed') {
    line.textContent = `the run failed at ${when}: [${state.error.code}] ${state.error.message}${state.error.hint ? ` — ${state.error.hint}` : ''}`;
    output.replaceChildren();
    return;
  }
  line.textContent = `checked at ${when} in ${took} s with the ${state.backend} backend`;
  output.replaceChildren(renderReport(state.report));
}
