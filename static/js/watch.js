import { LiveSocket } from './live.js';
import { applyEvent, fromSnapshot } from './state.js';
import { localizeTimes, renderCommon, renderConnection } from './ui.js';

const root = document.getElementById('broadcast');
const waiting = document.getElementById('waiting-overlay');
const paused = document.getElementById('paused-overlay');
const endScreen = document.getElementById('end-screen');
let state = null;

function render() {
  renderCommon(root, state);
  const current = state.broadcast.state;
  waiting.hidden = !(current === 'draft' || current === 'scheduled');
  paused.hidden = current !== 'paused';
  const ended = current === 'ended';
  if (ended && endScreen.hidden) {
    endScreen.hidden = false;
    endScreen.focus();
  }
  endScreen.hidden = !ended;
  document.body.dataset.state = current;
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

localizeTimes();
socket.connect();
