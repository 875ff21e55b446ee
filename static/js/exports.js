// Ops' exports page: each export's state, rows and progress, live, over /ws/exports/.

const root = document.getElementById('exports');
const body = root.querySelector('[data-bind="exports"]');
const connection = root.querySelector('[data-bind="connection"]');
let attempt = 0;

function text(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = value;
  if (className) element.className = className;
  return element;
}

function row(exportData) {
  const item = document.createElement('tr');
  item.dataset.export = exportData.id;
  const when = new Date(exportData.created_at);
  const first = document.createElement('td');
  first.append(`#${exportData.id}`, document.createElement('br'), text('span', when.toLocaleString(), 'muted small'));
  const scope = document.createElement('td');
  scope.append(exportData.scope);
  if (exportData.post_session) scope.append(document.createElement('br'), text('span', 'after the broadcast', 'muted small'));
  const state = document.createElement('td');
  state.dataset.cell = 'state';
  const rows = document.createElement('td');
  rows.dataset.cell = 'rows';
  const by = text('td', exportData.requested_by);
  const file = document.createElement('td');
  file.dataset.cell = 'file';
  item.append(first, scope, state, rows, by, file);
  return item;
}

function update(exportData) {
  let item = body.querySelector(`[data-export="${exportData.id}"]`);
  if (!item) {
    body.querySelector('[data-empty]')?.remove();
    item = row(exportData);
    body.prepend(item);
  }
  const state = item.querySelector('[data-cell="state"]');
  state.replaceChildren(text('span', exportData.state_label, `state-${exportData.state}`));
  if (exportData.state === 'running') {
    const bar = document.createElement('progress');
    bar.max = 100;
    if (exportData.progress !== null) bar.value = exportData.progress;
    bar.setAttribute('aria-label', `Progress of export #${exportData.id}`);
    state.append(' ', bar);
  }
  if (exportData.error) state.append(document.createElement('br'), text('span', exportData.error, 'error small'));
  const total = exportData.rows_total !== null && exportData.state !== 'done' ? ` of ${exportData.rows_total}` : '';
  item.querySelector('[data-cell="rows"]').textContent = `${exportData.rows_written}${total}`;
  const file = item.querySelector('[data-cell="file"]');
  if (exportData.download_url) {
    const link = text('a', 'Download CSV');
    link.href = exportData.download_url;
    link.setAttribute('download', '');
    link.append(text('span', ` of export #${exportData.id}`, 'visually-hidden'));
    file.replaceChildren(link);
  } else {
    file.textContent = '—';
  }
}

// On (re)connecting, catch up on anything that changed while the socket was away.
async function refresh() {
  try {
    const response = await fetch('/api/exports/', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!response.ok) return;
    const { results } = await response.json();
    for (const exportData of results.reverse()) {
      const known = body.querySelector(`[data-export="${exportData.id}"]`);
      if (known) update({ ...exportData, ...labels(exportData) });
    }
  } catch {
    // The socket's own updates carry on.
  }
}

const STATE_LABELS = { queued: 'Queued', running: 'Running', done: 'Done', failed: 'Failed' };

function labels(exportData) {
  const downloadPath = exportData.download_url ? new URL(exportData.download_url).pathname : null;
  return {
    state_label: STATE_LABELS[exportData.state],
    download_url: downloadPath && `/leads/exports/${exportData.id}/download/`,
  };
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.socket}`);
  socket.onopen = () => {
    attempt = 0;
    connection.textContent = '';
    refresh();
  };
  socket.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === 'export') update(frame.export);
  };
  socket.onclose = (event) => {
    if (event.code === 4403) {
      connection.textContent = 'Live progress needs the export permission.';
      return;
    }
    connection.textContent = 'Live progress paused. Reconnecting…';
    attempt += 1;
    setTimeout(connect, Math.min(20000, 500 * 2 ** attempt) * (0.5 + Math.random()));
  };
}

for (const time of root.querySelectorAll('time[datetime]')) {
  time.textContent = new Date(time.getAttribute('datetime')).toLocaleString();
}
connect();
