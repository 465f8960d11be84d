// The dashboard's plots, drawn as inline SVG with a few lines of our own: no chart library, no CDN.
// Each card gets two: its activity per second (operations, identity-endpoint requests, Key Vault
// requests) and its token timeline (acquired, refreshed, failed refreshes, throttles), both with
// the identity outages started from the page shaded.

const svgNamespace = 'http://www.w3.org/2000/svg';
const width = 340;
const activityHeight = 90;
const timelineHeight = 34;
const pad = { left: 28, right: 6, top: 6, bottom: 14 };

export const activitySeries = [
  { key: 'operations', label: 'operations', className: 'series-operations' },
  { key: 'identityRequests', label: 'identity-endpoint requests', className: 'series-identity' },
  { key: 'keyVaultRequests', label: 'Key Vault requests', className: 'series-keyvault' },
];

const eventShapes = {
  acquired: 'acquired',
  refreshed: 'refreshed',
  'refresh-failed': 'refresh failed',
  throttled: 'throttled',
};

function element(name, attributes = {}, text) {
  const node = document.createElementNS(svgNamespace, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The shown span: the whole window once the app has run that long, and at least a minute before. */
function shownSpan(metrics) {
  const first = metrics.samples[0]?.at ?? metrics.now;
  return Math.min(metrics.windowMs, Math.max(60_000, metrics.now - first));
}

function timeScale(metrics) {
  const end = metrics.now;
  const start = end - shownSpan(metrics);
  const span = width - pad.left - pad.right;
  return (at) => pad.left + ((Math.min(Math.max(at, start), end) - start) / (end - start)) * span;
}

function spanLabel(metrics) {
  const seconds = Math.round(shownSpan(metrics) / 1000);
  return seconds >= 120 ? `−${Math.round(seconds / 60)} min` : `−${seconds} s`;
}

function outageBands(svg, metrics, x, top, height) {
  for (const outage of metrics.outages) {
    const from = x(outage.start);
    const to = x(Math.min(outage.end, metrics.now));
    svg.append(
      element('rect', {
        class: 'outage-band',
        'data-outage-start': outage.start,
        x: from,
        y: top,
        width: Math.max(2, to - from),
        height,
      }),
    );
  }
}

/** Operations vs identity-endpoint vs Key Vault requests per second over the window. */
export function activityPlot(card, metrics) {
  const svg = element('svg', {
    viewBox: `0 0 ${width} ${activityHeight}`,
    class: 'plot',
    'data-plot': 'activity',
    role: 'img',
    'aria-label': `${card}: operations, identity-endpoint and Key Vault requests per second`,
  });
  const x = timeScale(metrics);
  const bottom = activityHeight - pad.bottom;
  const samples = metrics.samples;
  let peak = 1;
  for (const sample of samples) {
    for (const series of activitySeries) peak = Math.max(peak, sample.cards[card][series.key] ?? 0);
  }
  const y = (value) => bottom - (value / peak) * (bottom - pad.top);
  outageBands(svg, metrics, x, pad.top, bottom - pad.top);
  svg.append(
    element('line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: bottom, y2: bottom }),
    element('text', { class: 'tick', x: pad.left - 3, y: pad.top + 7, 'text-anchor': 'end' }, String(peak)),
    element('text', { class: 'tick', x: pad.left - 3, y: bottom, 'text-anchor': 'end' }, '0'),
    element('text', { class: 'tick', x: pad.left, y: activityHeight - 2 }, spanLabel(metrics)),
    element(
      'text',
      { class: 'tick', x: width - pad.right, y: activityHeight - 2, 'text-anchor': 'end' },
      'now',
    ),
  );
  for (const series of activitySeries) {
    const points = samples.filter((sample) => sample.cards[card][series.key] !== null);
    if (points.length === 0) continue;
    const total = points.reduce((sum, sample) => sum + sample.cards[card][series.key], 0);
    svg.append(
      element('polyline', {
        class: `series ${series.className}`,
        'data-series': series.key,
        'data-points': points.length,
        'data-total': total,
        points: points
          .map((sample) => `${x(sample.at).toFixed(1)},${y(sample.cards[card][series.key]).toFixed(1)}`)
          .join(' '),
      }),
    );
  }
  return svg;
}

/** The card's token events on one lane: what the provider did, and when the identity endpoint was down. */
export function tokenTimeline(card, scope, metrics) {
  const svg = element('svg', {
    viewBox: `0 0 ${width} ${timelineHeight}`,
    class: 'plot timeline',
    'data-plot': 'token-timeline',
    role: 'img',
    'aria-label': `${card}: token acquisitions, refreshes and failures for ${scope}`,
  });
  const x = timeScale(metrics);
  const middle = timelineHeight / 2 - 3;
  outageBands(svg, metrics, x, 2, timelineHeight - pad.bottom);
  svg.append(
    element('line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: middle, y2: middle }),
    element('text', { class: 'tick', x: pad.left - 3, y: middle + 3, 'text-anchor': 'end' }, 'token'),
  );
  for (const event of metrics.tokenEvents) {
    if (event.scope !== scope) continue;
    const at = x(event.at);
    const attributes = {
      class: `token-event event-${event.type}`,
      'data-event': event.type,
      'data-at': event.at,
    };
    let mark;
    if (event.type === 'refresh-failed') {
      mark = element('path', {
        ...attributes,
        d: `M${at - 4},${middle - 4}L${at + 4},${middle + 4}M${at - 4},${middle + 4}L${at + 4},${middle - 4}`,
      });
    } else if (event.type === 'throttled') {
      mark = element('path', {
        ...attributes,
        d: `M${at},${middle - 5}L${at + 5},${middle + 4}L${at - 5},${middle + 4}Z`,
      });
    } else {
      mark = element('circle', { ...attributes, cx: at, cy: middle, r: event.type === 'acquired' ? 4 : 3 });
    }
    const detail = event.errorCode
      ? ` (${event.errorCode})`
      : event.latencyMs !== undefined
        ? ` in ${event.latencyMs} ms`
        : '';
    mark.append(
      element(
        'title',
        {},
        `${new Date(event.at).toLocaleTimeString()} ${eventShapes[event.type]}${detail} · ${event.backend}`,
      ),
    );
    svg.append(mark);
  }
  return svg;
}

/** The legend under the plots, once per card. */
export function legend(metrics) {
  const list = document.createElement('p');
  list.className = 'legend muted';
  const entries = [
    ['series-operations', 'operations/s', 'operations on this card, status checks included'],
    [
      'series-identity',
      'identity requests/s',
      `token requests for this card's scope, counted by ${metrics.sources.identity}`,
    ],
    ...(metrics.sources.keyVault
      ? [
          [
            'series-keyvault',
            'Key Vault requests/s',
            `requests to the vault, counted by ${metrics.sources.keyVault}`,
          ],
        ]
      : []),
    ['event-acquired', 'token', 'filled: acquired · hollow: refreshed in the background'],
    ['event-refresh-failed', 'refresh failed', 'a background refresh failed; the cached token still served'],
    ['outage-key', 'identity outage', 'the identity endpoint was down (the outage button)'],
  ];
  for (const [className, text, explanation] of entries) {
    const item = document.createElement('span');
    item.title = explanation;
    const swatch = document.createElement('i');
    swatch.className = `swatch ${className}`;
    item.append(swatch, text);
    list.append(item);
  }
  return list;
}

/** Redraws every card's plots from one `/api/metrics` answer. */
export function renderPlots(metrics) {
  for (const [card, scope] of Object.entries(metrics.scopes)) {
    const host = document.querySelector(`[data-card="${card}"] .plots`);
    if (!host) continue;
    host.replaceChildren(activityPlot(card, metrics), tokenTimeline(card, scope, metrics), legend(metrics));
  }
}
