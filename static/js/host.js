import { LiveSocket } from './live.js';
import { applyEvent, fromSnapshot } from './state.js';
import { bound, renderCommon, renderConnection } from './ui.js';

const root = document.getElementById('broadcast');
const buttons = [...root.querySelectorAll('button[data-action]')];
const errorBox = bound(root, 'error');
let state = null;

// Which buttons each state offers (the server's transition table has the last word).
const OFFERS = {
  draft: ['broadcast.start'],
  scheduled: ['broadcast.start'],
  live: ['broadcast.pause', 'broadcast.end'],
  paused: ['broadcast.resume', 'broadcast.end'],
  ended: [],
};

const HELP = {
  draft: 'Not announced yet. Going live opens it to the audience now.',
  scheduled: 'Viewers in the waiting room see the broadcast as soon as you go live.',
  live: 'You are live.',
  paused: 'Viewers see the paused screen until you resume.',
  ended: 'This broadcast has ended.',
};

function render() {
  renderCommon(root, state);
  const current = state.broadcast.state;
  const offered = OFFERS[current];
  const focused = document.activeElement;
  for (const button of buttons) {
    button.hidden = !offered.includes(button.dataset.action);
    button.disabled = false;
  }
  // Keep keyboard focus on the controls when the button that had it disappears.
  if (focused && focused.hidden) {
    const next = buttons.find((button) => !button.hidden);
    if (next) next.focus();
  }
  bound(root, 'state-help').textContent = HELP[current];
}

for (const button of buttons) {
  button.addEventListener('click', async () => {
    errorBox.textContent = '';
    for (const each of buttons) each.disabled = true;
    try {
      await socket.send(button.dataset.action);
    } catch (error) {
      errorBox.textContent = error.message;
      for (const each of buttons) each.disabled = false;
    }
  });
}

const socket = new LiveSocket(root.dataset.livePath, {
  onSnapshot(snapshot) {
    state = fromSnapshot(snapshot);
    render();
  },
  onEvent(event) {
    if (state && applyEvent(state, event)) render();
  },
  onStatus(status) {
    renderConnection(root, status);
  },
});

socket.connect();
