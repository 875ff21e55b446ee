// The admin's live dashboard: a broadcast as it happens, updated over the live channel,
// with the moderator's controls. The state code is the pages' own (state.js).

import { Engagement } from './engage.js';
import { LiveSocket } from './live.js';
import { applyEvent, fromSnapshot } from './state.js';
import { bound, makeButton, personRow, renderConnection, sendCommand } from './ui.js';

const root = document.getElementById('dashboard');
const STATE_LABELS = { draft: 'Draft', scheduled: 'Scheduled', live: 'Live', paused: 'Paused', ended: 'Ended' };
let state = null;

function say(text) {
  bound(root, 'note').textContent = text;
}

function command(type, fields = {}) {
  return sendCommand(socket, bound(root, 'error'), type, fields);
}

function person(attendee, actions = []) {
  const buttons = actions.map(([label, type, confirmText]) => {
    const button = makeButton(label, { label: `${label}: ${attendee.name}`, className: 'button' });
    button.addEventListener('click', async () => {
      if (confirmText && !window.confirm(confirmText)) return;
      if (await command(type, { attendee: attendee.id })) say(`${label}: ${attendee.name}. Done.`);
    });
    return button;
  });
  // Someone on stage with no page open (a host who lost the network): say so.
  const away = [];
  if (attendee.away) {
    const note = document.createElement('span');
    note.className = 'dash-away';
    note.textContent = 'away: reconnecting…';
    away.push(note);
  }
  return personRow(attendee, { size: 24, extra: [...away, ...buttons] });
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return `${h ? `${h} h ` : ''}${m} min ${String(s).padStart(2, '0')} s`;
}

function renderClock() {
  if (!state) return;
  const { went_live_at: start, ended_at: end, state: current } = state.broadcast;
  const clock = bound(root, 'time-live');
  if (!start || current === 'draft' || current === 'scheduled') {
    clock.textContent = '';
    return;
  }
  const seconds = ((end ? new Date(end) : new Date()) - new Date(start)) / 1000;
  clock.textContent = `${current === 'ended' ? 'was live for' : 'live for'} ${duration(Math.max(0, seconds))}`;
}

function render() {
  const current = state.broadcast.state;
  root.dataset.state = current;
  root.setAttribute('aria-busy', 'false');
  bound(root, 'state').textContent = STATE_LABELS[current];
  for (const button of root.querySelectorAll('[data-dash]')) {
    button.hidden = !state.broadcast.actions.includes(button.dataset.dash);
  }
  state.peak = Math.max(state.peak || 0, state.audience.count);
  bound(root, 'viewers-now').textContent = String(state.audience.count);
  bound(root, 'viewers-peak').textContent = String(state.peak);
  bound(root, 'leads').textContent = String(state.leads ?? 0);
  bound(root, 'questions-total').textContent = String(state.questions.length);
  const speakers = state.stage.filter((a) => a.role === 'speaker');
  bound(root, 'dash-stage').replaceChildren(
    ...state.stage.map((a) => person(a, a.role === 'speaker' ? [['Remove from stage', 'stage.remove']] : [])),
  );
  bound(root, 'dash-stage').dataset.speakers = speakers.length;
  bound(root, 'dash-hands').replaceChildren(
    ...state.hands.map((a) => person(a, [['Approve', 'hand.approve'], ['Decline', 'hand.decline']])),
  );
  bound(root, 'dash-hands-empty').hidden = state.hands.length > 0;
  const onStage = new Set(state.stage.map((a) => a.id));
  const watching = state.audience.sample.filter((a) => !onStage.has(a.id) && a.role !== 'host');
  bound(root, 'dash-audience').replaceChildren(
    ...watching.map((a) =>
      person(a, [['Remove', 'attendee.remove', `Remove ${a.name} from the broadcast? They cannot come back to it.`]]),
    ),
  );
  engagement.render(state);
  renderClock();
}

for (const button of root.querySelectorAll('[data-dash]')) {
  button.addEventListener('click', async () => {
    if (button.dataset.dash === 'broadcast.end' && !window.confirm('End the broadcast for everyone?')) return;
    await command(button.dataset.dash);
  });
}

const socket = new LiveSocket(root.dataset.livePath, {
  onSnapshot(snapshot) {
    state = fromSnapshot(snapshot);
    state.peak = snapshot.peak_viewers;
    render();
  },
  onEvent(event) {
    if (state && applyEvent(state, event)) render();
  },
  onStatus(status) {
    renderConnection(root, status);
  },
});
const engagement = new Engagement(root, { socket, host: true, canVote: false, source: 'dashboard' });

setInterval(renderClock, 1000);
socket.connect();
