// The status page: polls the daemon's JSON API (same origin, read-only) and redraws. No build step.
const POLL_MS = 1000;
const RECIPES_MS = 10000;
/** Pods that left the list stay shown this long, marked with why (reclaimed, evicted, stopped, crashed). */
const GONE_MS = 60000;

const $ = (selector) => document.querySelector(selector);
const gone = new Map(); // podId -> { pod, why, at }
let known = new Map(); // podId -> last seen pod
let logRecipe = '';
let logAfter = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children)
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

const seconds = (value) =>
  value === null || value === undefined
    ? '–'
    : value < 90
      ? `${value.toFixed(0)} s`
      : `${(value / 60).toFixed(1)} min`;
const mb = (value) => (value === null || value === undefined ? '–' : `${value.toFixed(1)} MB`);

const WHY = {
  'pod.reclaimed': 'reclaimed',
  'pod.evicted': 'evicted',
  'pod.stopped': 'stopped',
  'pod.crashed': 'crashed',
};

function trackGone(pods, events) {
  const live = new Map(pods.map((pod) => [pod.id, pod]));
  for (const [id, pod] of known) {
    if (live.has(id) || gone.has(id)) continue;
    // A reclaim, eviction or crash is followed by the pod's stop: the first names the reason.
    const why = events.find((event) => event.podId === id && WHY[event.event])?.event;
    gone.set(id, { pod, why: why ? WHY[why] : 'stopped', at: Date.now() });
  }
  for (const [id, entry] of gone) if (Date.now() - entry.at > GONE_MS || live.has(id)) gone.delete(id);
  known = live;
}

function drawPods(pods) {
  const rows = pods.map((pod) =>
    el(
      'tr',
      { 'data-pod': pod.id, 'data-state': pod.state },
      el('td', {}, pod.id),
      el('td', {}, pod.recipe),
      el(
        'td',
        { class: `state state-${pod.state}` },
        pod.state === 'stopping' ? 'stopping (being reclaimed)' : pod.state,
      ),
      el('td', {}, mb(pod.rssMB)),
      el('td', {}, seconds(pod.idleSeconds)),
      el('td', {}, seconds(pod.reclaimInSeconds)),
      el('td', {}, pod.calls),
      el('td', {}, pod.restarts),
      el('td', {}, pod.spawnToReadyMs === null ? '–' : `${pod.spawnToReadyMs} ms`),
      el('td', {}, pod.replica),
    ),
  );
  for (const [id, { pod, why, at }] of gone) {
    rows.push(
      el(
        'tr',
        { 'data-pod': id, 'data-state': why, class: 'gone' },
        el('td', {}, id),
        el('td', {}, pod.recipe),
        el('td', { class: `state state-${why}` }, `${why} ${seconds((Date.now() - at) / 1000)} ago`),
        el('td', {}, '–'),
        el('td', {}, '–'),
        el('td', {}, '–'),
        el('td', {}, pod.calls),
        el('td', {}, pod.restarts),
        el('td', {}, pod.spawnToReadyMs === null ? '–' : `${pod.spawnToReadyMs} ms`),
        el('td', {}, pod.replica ?? '–'),
      ),
    );
  }
  $('#pods tbody').replaceChildren(...rows);
  $('#no-pods').hidden = rows.length > 0;
}

function drawFatal(fatal) {
  $('#fatal').replaceChildren(
    ...fatal.map((entry) =>
      el(
        'p',
        { class: 'fatal' },
        `${entry.recipe}: fatal after ${entry.crashes} crashes; retried in ${seconds(entry.retryInMs / 1000)}. ${entry.stderrTail.at(-1) ?? ''}`,
      ),
    ),
  );
}

function drawMemory(samples, now) {
  const svg = $('#memory-chart');
  const ns = 'http://www.w3.org/2000/svg';
  const width = 600;
  const height = 160;
  svg.replaceChildren();
  if (samples.length === 0) return;
  const peak = Math.max(...samples.map((s) => s.usedMB), 1);
  const budget = Math.max(...samples.map((s) => s.maxMB));
  // The budget line only when it is on the same scale as the use; else the use would be a flat line.
  const showBudget = budget <= peak * 4;
  const top = showBudget ? budget * 1.1 : peak * 1.3;
  const t0 = samples[0].time;
  const span = Math.max(samples.at(-1).time - t0, 1);
  const x = (time) => ((time - t0) / span) * width;
  const y = (value) => height - 2 - (Math.min(value, top) / top) * (height - 4);
  const path = (key) =>
    samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.time).toFixed(1)},${y(s[key]).toFixed(1)}`).join(' ');
  const line = (d, attrs) => {
    const node = document.createElementNS(ns, 'path');
    for (const [key, value] of Object.entries({
      d,
      fill: 'none',
      'stroke-width': '2',
      'vector-effect': 'non-scaling-stroke',
      ...attrs,
    }))
      node.setAttribute(key, value);
    svg.append(node);
  };
  line(`${path('usedMB')} L${width},${height} L0,${height} Z`, {
    fill: 'rgba(47,111,223,0.12)',
    stroke: 'none',
    class: 'area',
  });
  line(path('usedMB'), { stroke: '#2f6fdf', class: 'used' });
  if (showBudget) line(path('maxMB'), { stroke: '#c2410c', 'stroke-dasharray': '6 4', class: 'budget' });
  $('#memory-now').textContent =
    `${mb(now.usedMB)} used of ${mb(now.maxMB)} budget · peak ${mb(peak)} over the last ${seconds(span / 1000)}` +
    (showBudget ? ' · dashed: budget' : ' · budget off the scale');
}

function drawEvents(events) {
  $('#events').replaceChildren(
    ...events
      .slice()
      .reverse()
      .map((event) => {
        const extra = Object.entries(event.detail)
          .filter(([, value]) => typeof value !== 'object')
          .map(([key, value]) => `${key}=${value}`)
          .join(' ');
        const when = new Date(event.time).toLocaleTimeString();
        return el(
          'li',
          { 'data-event': event.event },
          `${when} ${event.event} ${event.podId ?? event.recipe ?? ''} ${extra}`,
        );
      }),
  );
}

function drawLogChoices(recipes) {
  const select = $('#log-recipe');
  const names = recipes.map((recipe) => recipe.name);
  if (select.options.length === names.length + 1) return;
  select.replaceChildren(
    el('option', { value: '' }, 'all recipes'),
    ...names.map((name) => el('option', { value: name }, name)),
  );
  select.value = logRecipe;
}

async function pollLogs() {
  const query = new URLSearchParams({ lines: '200', after: String(logAfter) });
  if (logRecipe) query.set('recipe', logRecipe);
  const { lines } = await getJson(`/api/logs?${query}`);
  if (lines.length === 0) return;
  logAfter = lines.at(-1).time;
  const pre = $('#logs');
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent += lines
    .map(
      (line) => `${new Date(line.time).toLocaleTimeString()} ${line.podId} ${line.level} ${line.message}\n`,
    )
    .join('');
  if (pre.textContent.length > 200000) pre.textContent = pre.textContent.slice(-100000);
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

async function pollRecipes() {
  const { installed, installable, indexError } = await getJson('/api/recipes');
  drawLogChoices(installed);
  const rows = installed.map((recipe) =>
    el(
      'tr',
      { 'data-recipe': recipe.name },
      el('td', {}, recipe.name),
      el('td', {}, recipe.version),
      el('td', {}, recipe.capability),
      el('td', {}, recipe.builtin ? 'built-in' : 'installed'),
      el('td', { class: 'description' }, recipe.description ?? ''),
    ),
  );
  for (const entry of installable ?? []) {
    if (entry.installed) continue;
    rows.push(
      el(
        'tr',
        { 'data-recipe': entry.name },
        el('td', {}, entry.name),
        el('td', {}, entry.version),
        el('td', {}, entry.capability),
        el('td', {}, `installable: podkeeper install ${entry.name}`),
        el('td', { class: 'description' }, entry.description ?? ''),
      ),
    );
  }
  if (indexError) rows.push(el('tr', {}, el('td', { colspan: '5', class: 'muted' }, indexError)));
  $('#recipes tbody').replaceChildren(...rows);
}

async function poll() {
  try {
    const data = await getJson('/api/overview');
    const { daemon } = data;
    $('#daemon').textContent =
      `v${daemon.version} · pid ${daemon.pid} · up ${seconds(daemon.uptimeSeconds)} · ${daemon.python}`;
    trackGone(data.pods, data.events);
    drawPods(data.pods);
    drawFatal(data.fatal);
    drawMemory(data.memoryHistory, data.memory);
    drawEvents(data.events);
    await pollLogs();
    $('#live').className = 'badge';
    $('#live').textContent = 'live';
  } catch (error) {
    $('#live').className = 'badge off';
    $('#live').textContent = `disconnected: ${error.message}`;
  }
}

$('#log-recipe').addEventListener('change', (event) => {
  logRecipe = event.target.value;
  logAfter = 0;
  $('#logs').textContent = '';
});
void pollRecipes().catch(() => undefined);
void poll();
setInterval(poll, POLL_MS);
setInterval(() => void pollRecipes().catch(() => undefined), RECIPES_MS);
